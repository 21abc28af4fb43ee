import { join } from 'node:path';
import { ModifyDBClusterCommand, type RDSClient, RDSServiceException } from '@aws-sdk/client-rds';
import { afterEach, describe, expect, it } from 'vitest';
import { createServerlessAdapter } from '../../shared/adapters/aurora-serverless.ts';
import { aws, rdsClient } from '../../shared/aws/clients.ts';
import { loadConfigFile } from '../../shared/config/load.ts';
import type { Config } from '../../shared/config/schema.ts';
import type { Adapter } from '../../shared/core/contracts.ts';
import type { Decision } from '../../shared/core/model.ts';
import { MINUTE_MS, type SimAccount } from '../../shared/sim/index.ts';
import { getScenario } from '../../shared/sim/scenarios/index.ts';
import { serverlessBounds } from '../../shared/sim/services/aurora-serverless.ts';
import { MemoryStateStore } from '../../shared/state/index.ts';
import { runServerless } from '../../shared/tuners/serverless.ts';
import { CHANGED_INDEX, changedClusters } from '../../shared/tuners/serverless-handback.ts';
import { mainState } from '../../shared/tuners/serverless-inputs.ts';

/**
 * A cluster whose capacity range db-autopilot changed and that then leaves the config (dropped from
 * `tuners.serverless.resources`) gets the person's own range back on the next run, found through
 * the state table's index (`#changed-clusters`); a range a person changed since is left alone with
 * a recorded notice; a deleted cluster leaves the index with a note.
 */
const ACCOUNTS = 'securecart-customer-accounts';
const DEV = 'securecart-accounts-dev';
const PERSON = { min: 8, max: 32 };

describe('serverless tuner when a cluster leaves the config', () => {
  let uninstall: (() => void) | undefined;
  afterEach(() => uninstall?.());

  async function raised() {
    const config = loadConfigFile(join(import.meta.dirname, '../../db-autopilot.yml'));
    config.defaults.mode = 'apply';
    if (config.tuners.serverless) config.tuners.serverless.mode = 'apply';
    const sim: SimAccount = (await getScenario('securecart')).build({});
    uninstall = sim.install();
    const store = new MemoryStateStore();
    const run = async (at: number, cfg: Config = config, adapter?: Adapter) => {
      sim.advanceTo(at);
      return runServerless(
        { trigger: 'schedule', dryRun: false, override: false, idempotencyKey: `s-${at}` },
        { config: cfg, store, now: sim.clock.now(), ...(adapter ? { adapter } : {}) },
      );
    };
    const start = sim.nowMs();
    let up: Decision | undefined;
    let t = start;
    for (; t < start + 12 * 60 * MINUTE_MS && !up; t += 5 * MINUTE_MS) {
      up = (await run(t)).decisions.find(
        (d) =>
          d.resource === ACCOUNTS &&
          d.action === 'set-serverless-bounds' &&
          d.outcome === 'applied' &&
          (d.to as { min: number }).min > PERSON.min,
      );
    }
    // 07:40, ahead of the 08:00 login storm: the minimum raised above the person's 8 ACU.
    expect(up).toBeDefined();
    expect(await changedClusters(store, sim.clock.now())).toContain(ACCOUNTS);
    // The config without the accounts cluster (the dev cluster stays).
    const dropped = structuredClone(config);
    if (dropped.tuners.serverless) dropped.tuners.serverless.resources.identifiers = [DEV];
    return { sim, store, run, t, dropped, up: up as Decision };
  }

  it('hands the person’s 8-32 ACU back once the cluster is dropped from the config, then leaves it alone', async () => {
    const { sim, store, run, t, dropped } = await raised();
    const next = await run(t + 5 * MINUTE_MS, dropped);
    const back = next.decisions.filter((d) => d.resource === ACCOUNTS);
    expect(back.map((d) => [d.action, d.outcome])).toEqual([['set-serverless-bounds', 'applied']]);
    expect(back[0]?.to).toEqual(PERSON);
    expect(back[0]?.reason).toContain('cluster no longer managed');
    expect(serverlessBounds(sim, ACCOUNTS)).toMatchObject(PERSON);
    expect(await changedClusters(store, sim.clock.now())).not.toContain(ACCOUNTS);
    // Nothing more is done to it through the login storm.
    for (let u = t + 10 * MINUTE_MS; u < t + 60 * MINUTE_MS; u += 10 * MINUTE_MS)
      expect((await run(u, dropped)).decisions.filter((d) => d.resource === ACCOUNTS)).toEqual([]);
    expect(serverlessBounds(sim, ACCOUNTS)).toMatchObject(PERSON);
  });

  it('leaves a range a person set since db-autopilot’s change, and records a notice saying so', async () => {
    const { sim, store, run, t, dropped } = await raised();
    await aws().rds.send(
      new ModifyDBClusterCommand({
        DBClusterIdentifier: ACCOUNTS,
        ServerlessV2ScalingConfiguration: { MinCapacity: 12, MaxCapacity: 48 },
        ApplyImmediately: true,
      }),
    );
    const next = await run(t + 10 * MINUTE_MS, dropped);
    const told = next.decisions.filter((d) => d.resource === ACCOUNTS);
    expect(told.map((d) => [d.action, d.outcome])).toEqual([['recommend', 'applied']]);
    expect(told[0]?.reason).toMatch(/changed by a person since db-autopilot set .*left as it is/);
    expect(serverlessBounds(sim, ACCOUNTS)).toMatchObject({ min: 12, max: 48 });
    expect(await changedClusters(store, sim.clock.now())).not.toContain(ACCOUNTS);
    // Told once.
    expect((await run(t + 20 * MINUTE_MS, dropped)).decisions.filter((d) => d.resource === ACCOUNTS)).toEqual(
      [],
    );
  });

  it.each([
    [
      'a bound of the wrong type',
      { min: '8', max: 32 },
      'min: Invalid input: expected number',
      'MaxCapacity 32',
    ],
    ['a missing bound', { min: 8 }, 'max: Invalid input: expected number', 'MinCapacity 8'],
    ['an out-of-range bound', { min: 8, max: 512 }, 'max: ', 'MinCapacity 8'],
  ])(
    'never hands back a malformed stored person’s range (%s): changes nothing, says why, once',
    async (_, bad, why, says) => {
      const { sim, store, run, t, dropped, up } = await raised();
      const stored = await store.getHistory('serverless', ACCOUNTS, sim.clock.now());
      await store.putTunerState('serverless', ACCOUNTS, { ...mainState(stored), personBounds: bad });
      const ours = serverlessBounds(sim, ACCOUNTS);
      expect(ours).toMatchObject(up.to as object);
      const next = await run(t + 5 * MINUTE_MS, dropped);
      const told = next.decisions.filter((d) => d.resource === ACCOUNTS);
      expect(told.map((d) => [d.action, d.outcome])).toEqual([['recommend', 'applied']]);
      expect(told[0]?.reason).toContain("the person's range kept in the state table is not valid (");
      expect(told[0]?.reason).toContain(why);
      expect(told[0]?.reason).toContain(says);
      expect(serverlessBounds(sim, ACCOUNTS)).toEqual(ours);
      expect(await changedClusters(store, sim.clock.now())).not.toContain(ACCOUNTS);
      // Told once; still nothing set.
      expect(
        (await run(t + 10 * MINUTE_MS, dropped)).decisions.filter((d) => d.resource === ACCOUNTS),
      ).toEqual([]);
      expect(serverlessBounds(sim, ACCOUNTS)).toEqual(ours);
    },
  );

  it('drops a deleted cluster from the index with a note, failing nothing', async () => {
    const { sim, store, run, t, dropped } = await raised();
    sim.rds.clusters.delete(ACCOUNTS);
    const next = await run(t + 5 * MINUTE_MS, dropped);
    expect(next.decisions.filter((d) => d.resource === ACCOUNTS)).toEqual([]);
    expect(next.notes.join('\n')).toContain(`${ACCOUNTS}: no longer exists`);
    expect(await changedClusters(store, sim.clock.now())).not.toContain(ACCOUNTS);
    expect(next.decisions.filter((d) => d.outcome === 'failed')).toEqual([]);
    // The dev cluster db-autopilot also changed stays indexed.
    expect((await store.getHistory('serverless', CHANGED_INDEX, sim.clock.now())).tunerState).toEqual({
      clusters: [DEV],
    });
  });

  it('tells the person the range to set when db-autopilot may no longer modify the cluster (AccessDenied), once', async () => {
    const { sim, store, run, t, dropped } = await raised();
    // The redeploy without the cluster took ModifyDBCluster on it away from the role (IAM follows
    // the config's identifiers): AWS answers AccessDenied.
    const client = {
      send: (command: unknown) => {
        if (command instanceof ModifyDBClusterCommand && command.input.DBClusterIdentifier === ACCOUNTS)
          return Promise.reject(
            new RDSServiceException({
              name: 'AccessDenied',
              $fault: 'client',
              $metadata: { httpStatusCode: 403 },
              message: `User is not authorized to perform: rds:ModifyDBCluster on resource ${ACCOUNTS}`,
            }),
          );
        return rdsClient().send(command as never);
      },
    } as unknown as RDSClient;
    const adapter = createServerlessAdapter({ rds: () => client, now: () => sim.clock.now() });
    const next = await run(t + 5 * MINUTE_MS, dropped, adapter);
    const mine = next.decisions.filter((d) => d.resource === ACCOUNTS);
    expect(mine.map((d) => [d.action, d.outcome])).toEqual([
      ['set-serverless-bounds', 'failed'],
      ['recommend', 'applied'],
    ]);
    expect(mine[1]?.reason).toContain(
      'may no longer modify it (AccessDenied): set MinCapacity 8 and MaxCapacity 32 ACU',
    );
    expect(await changedClusters(store, sim.clock.now())).not.toContain(ACCOUNTS);
    expect(
      (await run(t + 10 * MINUTE_MS, dropped, adapter)).decisions.filter((d) => d.resource === ACCOUNTS),
    ).toEqual([]);
  });
});
