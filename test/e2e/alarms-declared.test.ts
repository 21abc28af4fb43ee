import { join } from 'node:path';
import { DescribeAlarmsCommand } from '@aws-sdk/client-cloudwatch';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { discoverForConfig, TUNER_KINDS } from '../../shared/alarms/desired.ts';
import { alarmPrefix, parseAlarmName } from '../../shared/alarms/names.ts';
import { type ReconcileSummary, reconcileAlarms } from '../../shared/alarms/reconcile.ts';
import { aws } from '../../shared/aws/clients.ts';
import { loadConfigFile } from '../../shared/config/load.ts';
import type { AlarmSpec } from '../../shared/core/contracts.ts';
import type { TunerName } from '../../shared/core/model.ts';
import type { SimAccount } from '../../shared/sim/engine.ts';
import { getScenario } from '../../shared/sim/scenarios/index.ts';
import { MemoryStateStore } from '../../shared/state/index.ts';
import { tuners } from '../../shared/tuners/registry.ts';

/**
 * Every alarm a tuner declares for the SecureCart fleet is created by the reconciler on the
 * simulated account, and recorded as an applied `alarms` decision named after the alarm. A
 * declaration the reconciler cannot use (a key with a dash could not be parsed back from the
 * name) fails loudly instead of being dropped as a note.
 */
describe('alarms the tuners declare', () => {
  let sim: SimAccount;
  let uninstall: () => void;
  const declared: Array<{ tuner: TunerName; spec: AlarmSpec; name: string }> = [];
  let summary: ReconcileSummary;
  let existing: string[] = [];
  // The SecureCart configuration with its tuners acting (observe mode keeps no alarms).
  const shipped = loadConfigFile(join(import.meta.dirname, '../../db-autopilot.yml'));
  const config = { ...shipped, defaults: { ...shipped.defaults, mode: 'apply' as const } };

  beforeAll(async () => {
    // Prepare: the scenario's fleet and every tuner's declaration for its managed targets.
    const scenario = await getScenario('securecart');
    sim = scenario.build({});
    uninstall = sim.install();
    const discover = discoverForConfig(config);
    const prefix = alarmPrefix();
    for (const [name, loader] of Object.entries(tuners) as Array<
      [TunerName, NonNullable<(typeof tuners)[TunerName]>]
    >) {
      const registration = await loader();
      const kinds = TUNER_KINDS[name];
      if (!registration.alarms || !kinds || !config.tuners[name as keyof typeof config.tuners]) continue;
      const found = await discover(kinds, name);
      const targets = found.targets.filter((t) => t.managed && !t.optedOut);
      for (const spec of await registration.alarms(targets)) {
        declared.push({ tuner: name, spec, name: `${prefix}${spec.tuner}-${spec.resourceId}-${spec.key}` });
      }
    }
    // Act: one reconcile run.
    summary = await reconcileAlarms({
      request: { trigger: 'schedule', dryRun: false, override: false, idempotencyKey: 'reconcile-1' },
      config,
      store: new MemoryStateStore(),
      tuners,
      now: sim.clock.now(),
    });
    const out = await aws().cloudwatch.send(new DescribeAlarmsCommand({ AlarmNamePrefix: prefix }));
    existing = (out.MetricAlarms ?? []).map((a) => a.AlarmName ?? '');
  }, 120_000);

  afterAll(() => uninstall());

  it('declares fast-path alarms for the IOPS tuner and the replica scaler', () => {
    expect(declared.filter((d) => d.tuner === 'iops').length).toBeGreaterThan(0);
    expect(declared.filter((d) => d.tuner === 'replicas').length).toBeGreaterThan(0);
  });

  it('creates every declared alarm, under a name that parses back to its tuner, resource and key', () => {
    for (const d of declared) {
      expect(existing, d.name).toContain(d.name);
      expect(parseAlarmName(d.name, alarmPrefix())).toEqual({
        tuner: d.spec.tuner,
        resourceId: d.spec.resourceId,
        key: d.spec.key,
      });
    }
    expect(summary.alarms.failed).toBe(0);
    expect(summary.alarms.created).toBe(declared.length);
  });

  it('records each created alarm as an applied alarms decision whose resource is the alarm name', () => {
    const created = summary.decisions.filter((d) => d.tuner === 'alarms' && d.action === 'put-alarm');
    for (const d of declared) {
      const decision = created.find((c) => c.resource === d.name);
      expect(decision?.outcome, d.name).toBe('applied');
    }
  });
});
