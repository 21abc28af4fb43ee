import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { reconcileAlarms } from '../../shared/alarms/reconcile.ts';
import { loadConfigFile } from '../../shared/config/load.ts';
import type { Config } from '../../shared/config/schema.ts';
import { runControl } from '../../shared/control/commands.ts';
import { getScenario } from '../../shared/sim/scenarios/index.ts';
import { MemoryStateStore } from '../../shared/state/index.ts';
import { tuners } from '../../shared/tuners/registry.ts';
import type { AuthRequest } from '../support/iam/evaluate.ts';
import { denials, functionRoles, recording } from '../support/iam/replay.ts';

/**
 * The alarm reconciler's and the control function's calls on the SecureCart account, replayed
 * against their roles: the reconciler creates every declared alarm (tagged) and the dashboard,
 * then deletes the alarms of a tuner put back in observe mode; control pauses and resumes
 * (test/support/iam/ says what the evaluator models).
 */
let uninstall: (() => void) | undefined;
afterEach(() => {
  uninstall?.();
  uninstall = undefined;
});

describe('IAM replay: the alarm reconciler', () => {
  it('allows creating, tagging and deleting its alarms and keeping its dashboard', async () => {
    const shipped = loadConfigFile(join(import.meta.dirname, '../../db-autopilot.yml'));
    const config: Config = { ...shipped, defaults: { ...shipped.defaults, mode: 'apply' } };
    const sim = (await getScenario('securecart')).build({});
    uninstall = sim.install();
    const store = new MemoryStateStore();
    const requests: AuthRequest[] = [];
    const reconcile = async (c: Config, key: string) => {
      const { result, requests: made } = await recording(sim, () =>
        reconcileAlarms({
          request: { trigger: 'schedule', dryRun: false, override: false, idempotencyKey: key },
          config: c,
          store,
          tuners,
          now: sim.clock.now(),
        }),
      );
      requests.push(...made);
      return result;
    };
    const first = await reconcile(config, 'iam-reconcile-1');
    expect(first.alarms.created).toBeGreaterThan(0);
    // The IOPS tuner goes back to observe mode: its alarms are deleted.
    const observeIops: Config = structuredClone(config);
    if (observeIops.tuners.iops) observeIops.tuners.iops.mode = 'observe';
    sim.advanceTo(sim.nowMs() + 15 * 60_000);
    const second = await reconcile(observeIops, 'iam-reconcile-2');
    expect(second.alarms.deleted).toBeGreaterThan(0);
    const actions = new Set(requests.map((r) => r.action));
    for (const a of ['cloudwatch:PutMetricAlarm', 'cloudwatch:DeleteAlarms', 'cloudwatch:PutDashboard'])
      expect(actions, a).toContain(a);
    // The role deployed for either configuration (the deletion runs with the second one's).
    const roles = [
      ...functionRoles(['alarm-reconciler'], config),
      ...functionRoles(['alarm-reconciler'], observeIops),
    ];
    expect(denials(requests, roles)).toEqual([]);
  });
});

describe('IAM replay: the control function', () => {
  it('allows pausing and resuming (the global switch and a member account’s) and reading the status', async () => {
    const shipped = loadConfigFile(join(import.meta.dirname, '../../db-autopilot.yml'));
    const sim = (await getScenario('securecart')).build({});
    uninstall = sim.install();
    const store = new MemoryStateStore();
    const requests: AuthRequest[] = [];
    const deps = (requestId: string) => ({
      ssm: sim.clients().ssm,
      tagging: sim.clients().tagging,
      store,
      config: () => shipped,
      loadTuner: async () => undefined as never,
      pauseParameter: '/db-autopilot/paused',
      now: new Date(sim.nowMs()),
      requestId,
    });
    const commands = [
      { command: 'pause', reason: 'sale day' },
      { command: 'status' },
      { command: 'resume', reason: 'sale over' },
      { command: 'pause', reason: 'member maintenance', account: '111111111111' },
    ] as const;
    for (const [i, command] of commands.entries()) {
      const { result, requests: made } = await recording(sim, () =>
        runControl(command, deps(`iam-control-${i}`)),
      );
      expect(result.ok, JSON.stringify(result)).toBe(true);
      requests.push(...made);
    }
    expect(requests.filter((r) => r.action === 'ssm:PutParameter').map((r) => r.resource)).toEqual([
      'arn:aws:ssm:us-east-1:123456789012:parameter/db-autopilot/paused',
      'arn:aws:ssm:us-east-1:123456789012:parameter/db-autopilot/paused',
      'arn:aws:ssm:us-east-1:123456789012:parameter/db-autopilot/paused/111111111111',
    ]);
    expect(denials(requests, functionRoles(['control'], shipped))).toEqual([]);
  });
});
