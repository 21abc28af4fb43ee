import { afterEach, describe, expect, it } from 'vitest';
import type { CadenceDecision } from '../../shared/policies/dynamodb-cadence.ts';
import { getScenario } from '../../shared/sim/scenarios/index.ts';
import { MemoryStateStore } from '../../shared/state/index.ts';
import { runDynamodb } from '../../shared/tuners/dynamodb.ts';
import { tableTunerState } from '../../shared/tuners/dynamodb-state.ts';
import { exampleConfig, sectionOf } from '../support/config.ts';

describe('DynamoDB observation cadence on the securecart scenario (cadence enabled)', () => {
  let uninstall: (() => void) | undefined;
  afterEach(() => uninstall?.());

  it('records when each table is observed again; a scheduled run skips a table not yet due (no metrics read for it), an alarm run observes it', async () => {
    const config = exampleConfig();
    const section = sectionOf(config, 'dynamodb');
    section.cadence = { enabled: true, slowMinutes: 10, nearFraction: 0.8 };
    config.defaults.mode = 'apply';
    section.mode = 'apply';
    const sim = (await getScenario('securecart')).build({});
    uninstall = sim.install();
    const store = new MemoryStateStore();
    const now = sim.clock.now();
    const run = (trigger: 'schedule' | 'alarm', key: string, at: Date, resourceIds?: string[]) =>
      runDynamodb(
        {
          trigger,
          dryRun: false,
          override: false,
          idempotencyKey: key,
          ...(resourceIds ? { resourceIds } : {}),
        },
        { config, store, now: at },
      );
    // As the tuner reads it (the stored layout keeps it in a part of its own).
    const cadence = async (id: string, at: Date) =>
      tableTunerState(await store.getHistory('dynamodb', id, at)).state.cadence;
    // The schedule every 2 minutes until a table settles far from every threshold.
    let at = now;
    let slow: readonly [string, CadenceDecision | undefined] | undefined;
    for (let i = 0; i < 60 && !slow; i++) {
      at = new Date(now.getTime() + i * 2 * 60_000);
      sim.advanceTo(at.getTime());
      await run('schedule', `eventbridge:c-${i}`, at);
      const recorded = await Promise.all(
        section.resources.identifiers.map(async (id) => [id, await cadence(id, at)] as const),
      );
      for (const [id, c] of recorded) expect(c?.nextAt, id).toBeDefined();
      slow = recorded.find(
        ([, c]) => c?.speed === 'slow' && Date.parse(c.nextAt) - at.getTime() > 2 * 60_000,
      );
    }
    expect(slow, 'a SecureCart table settles far from every threshold').toBeDefined();
    if (!slow) return;
    const [slowId] = slow;

    // Two minutes later the schedule fires: the slow table is not observed (no metric of it read).
    const twoMinutes = new Date(at.getTime() + 2 * 60_000);
    sim.advanceTo(twoMinutes.getTime());
    const queried: string[] = [];
    sim.clients().cloudwatch.middlewareStack.addRelativeTo(
      ((next: (a: unknown) => Promise<unknown>) => async (args: unknown) => {
        const input = (
          args as {
            input: {
              MetricDataQueries?: Array<{
                MetricStat?: { Metric?: { Dimensions?: Array<{ Value?: string }> } };
              }>;
            };
          }
        ).input;
        for (const q of input.MetricDataQueries ?? [])
          queried.push(q.MetricStat?.Metric?.Dimensions?.[0]?.Value ?? '');
        return next(args);
      }) as never,
      { relation: 'before', toMiddleware: 'dbAutopilotSimulatedAccount', name: 'testQueried' },
    );
    const scheduled = await run('schedule', 'eventbridge:c-next', twoMinutes);
    expect(queried).not.toContain(slowId);
    expect(scheduled.notes.some((n) => n.startsWith(`${slowId}: next observed at`))).toBe(true);

    // A throttling alarm on it runs the tuner for it at once.
    queried.length = 0;
    await run('alarm', 'alarm:c-3', twoMinutes, [slowId]);
    expect(queried).toContain(slowId);
  }, 120_000);
});
