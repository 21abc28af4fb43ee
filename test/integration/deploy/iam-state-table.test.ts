import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadConfigFile } from '../../../shared/config/load.ts';
import type { Config } from '../../../shared/config/schema.ts';
import { sendPendingReports } from '../../../shared/report/notifier.ts';
import { MINUTE_MS } from '../../../shared/sim/index.ts';
import { getScenario } from '../../../shared/sim/scenarios/index.ts';
import { DynamoDbStateStore } from '../../../shared/state/index.ts';
import { runIops } from '../../../shared/tuners/iops.ts';
import { type Dynalite, startDynalite } from '../../support/dynalite.ts';
import { denials, functionRoles, recording } from '../../support/iam/replay.ts';
import { recordStateTable } from '../../support/iam/state-table.ts';
import { makeDecision } from '../../unit/core/fixtures.ts';

/**
 * The state table's calls (the DynamoDB store on dynalite, as a deployed table is used) replayed
 * against the roles of the functions that make them: each function may write only its owners'
 * partitions (dynamodb:LeadingKeys), and every DynamoDB action the store sends must be granted
 * (BatchWriteItem is an action of its own, not PutItem).
 */
let dynalite: Dynalite;
let tableArn = '';
let uninstall: (() => void) | undefined;

beforeAll(async () => {
  dynalite = await startDynalite();
  tableArn = `arn:aws:dynamodb:us-east-1:123456789012:table/${dynalite.tableName}`;
});
afterAll(async () => dynalite.teardown());
afterEach(() => {
  uninstall?.();
  uninstall = undefined;
});

function applyConfig(): Config {
  const config = loadConfigFile(join(import.meta.dirname, '../../../db-autopilot.yml'));
  config.defaults.mode = 'apply';
  if (config.tuners.iops) config.tuners.iops.mode = 'apply';
  return config;
}

describe('IAM replay of the state table', () => {
  it('allows the report function to mark what it posted (BatchWriteItem in its own partition)', async () => {
    const config = applyConfig();
    const sim = (await getScenario('securecart')).build({});
    uninstall = sim.install();
    const topicArn = sim.sns.createTopic('db-autopilot-reports');
    const store = new DynamoDbStateStore({ client: dynalite.client, tableName: dynalite.tableName });
    const now = new Date(sim.nowMs());
    for (const [i, outcome] of (['applied', 'failed', 'deferred'] as const).entries())
      await store.recordDecision(
        makeDecision({
          id: `seed:000${i + 1}`,
          at: new Date(now.getTime() - (i + 1) * 10 * MINUTE_MS).toISOString(),
          resource: `orders-${i}`,
          action: 'set-iops',
          outcome,
        }),
      );
    const table = recordStateTable(dynalite.client, tableArn);
    try {
      const { result, requests } = await recording(sim, () =>
        sendPendingReports({ store, config, channels: { topicArn, region: sim.region }, now }),
      );
      expect(result.reported).toBeGreaterThan(0);
      const all = [...table.requests, ...requests];
      expect(all.map((r) => r.action)).toEqual(
        expect.arrayContaining(['dynamodb:BatchWriteItem', 'sns:Publish']),
      );
      expect(
        denials(all, functionRoles(['report'], config), {
          templateArns: { StateTable: tableArn, ReportTopic: topicArn },
        }),
      ).toEqual([]);
    } finally {
      table.stop();
    }
  });

  it('allows the IOPS tuner its reads, locks, ledger and decisions, and only in its own partitions', async () => {
    const config = applyConfig();
    const scenario = await getScenario('securecart');
    const sim = scenario.build({});
    uninstall = sim.install();
    const store = new DynamoDbStateStore({ client: dynalite.client, tableName: dynalite.tableName });
    const start = sim.nowMs();
    await scenario.seedState?.(store, new Date(start));
    const table = recordStateTable(dynalite.client, tableArn);
    const applied: string[] = [];
    try {
      for (let t = start; t < start + 24 * 60 * MINUTE_MS; t += 30 * MINUTE_MS) {
        sim.advanceTo(t);
        const summary = await runIops(
          { trigger: 'schedule', dryRun: false, override: false, idempotencyKey: `iam-state-${t}` },
          { config, store, now: sim.clock.now() },
        );
        applied.push(...summary.decisions.filter((d) => d.outcome === 'applied').map((d) => d.action));
      }
      expect(applied).toContain('set-iops');
      const writes = table.requests.filter((r) =>
        /PutItem|UpdateItem|DeleteItem|BatchWriteItem/.test(r.action),
      );
      expect(writes.length).toBeGreaterThan(0);
      const roles = functionRoles(['iops-tuner', 'alarm-handler'], config);
      expect(denials(table.requests, roles, { templateArns: { StateTable: tableArn } })).toEqual([]);
      // The check can fail: the DynamoDB tuner's role may not write the IOPS tuner's partitions.
      expect(
        denials(writes, functionRoles(['dynamodb-tuner'], config), { templateArns: { StateTable: tableArn } })
          .length,
      ).toBeGreaterThan(0);
    } finally {
      table.stop();
    }
  });
});
