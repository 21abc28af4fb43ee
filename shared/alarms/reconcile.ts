import type { SSMClient } from '@aws-sdk/client-ssm';
// The checks of AWS's state for the alarm and dashboard changes (registered on import), for the
// executor to settle a run's left-over intents (shared/tuners/common.ts imports them for the tuners).
import '../adapters/intent-checks.ts';
import type { Config } from '../config/schema.ts';
import type {
  Adapter,
  AlarmSpec,
  StateStore,
  Target,
  TunerRunRequest,
  TunerRunSummary,
  TunerSettings,
} from '../core/contracts.ts';
import { executePlan } from '../core/executor.ts';
import type { Action, Plan, TunerName } from '../core/model.ts';
import { finishRun, startRun } from '../core/run.ts';
import { resolveSettings } from '../core/settings.ts';
import type { TunerLoader } from '../tuners/registry.ts';
import { deleteAlarms, getDashboardBody, listAlarms, putAlarm, putDashboard } from './cloudwatch.ts';
import { dashboardBody, dashboardName } from './dashboard.ts';
import { anyAlarmTunerActs, collectDesired, type Discover, discoverForConfig } from './desired.ts';
import { type AlarmDiff, diffAlarms } from './diff.ts';
import { alarmPrefix, parseAlarmName } from './names.ts';

/**
 * The alarm reconciler: keeps the CloudWatch alarms under the prefix exactly in step with what
 * the tuners want for their managed fleet, and keeps the fleet dashboard. Each change is one
 * Action run through the shared executor (guards, lock, one recorded Decision per change).
 *
 * Observe mode is read-only: alarms are wanted only for tuners in apply mode, and when no tuner
 * that declares alarms acts, the reconciler creates, changes and deletes nothing, dashboard
 * included (its role holds no such permission then, shared/deploy/iam.ts); it only says which
 * alarms an earlier apply-mode deploy left. A manual dry run only plans. Its per-run cap is high: a first run over a large
 * fleet creates several alarms per resource.
 */
export const ALARMS_MAX_CHANGES_PER_RUN = 10_000;

export interface ReconcileInput {
  request: TunerRunRequest;
  config: Config;
  store: StateStore;
  tuners: Partial<Record<TunerName, TunerLoader>>;
  prefix?: string;
  dashboard?: string;
  discover?: Discover;
  now?: Date;
  ssm?: SSMClient;
  runId?: string;
}

export interface ReconcileSummary extends TunerRunSummary {
  alarms: { created: number; updated: number; deleted: number; unchanged: number; failed: number };
  dashboard: string;
}

const ACCOUNT_TARGET: Target = {
  ref: { kind: 'account', id: 'alarms' },
  tags: {},
  managed: true,
  created: true,
  optedOut: false,
};

function alarmAction(
  kind: 'put-alarm' | 'delete-alarm',
  name: string,
  reason: string,
  params: Record<string, unknown>,
  from: unknown,
  to: unknown,
): Action {
  return {
    tuner: 'alarms',
    resource: { kind: 'cloudwatch-alarm', id: name },
    kind,
    from,
    to,
    reason,
    evidence: [],
    // CloudWatch standard-resolution alarm, us-east-1 list price: $0.10 per alarm metric per month.
    monthlyCostDelta: kind === 'put-alarm' ? (from === null ? 0.1 : 0) : -0.1,
    undo:
      kind === 'put-alarm' && from === null
        ? { kind: 'delete-alarm', params: { name } }
        : kind === 'delete-alarm'
          ? {
              kind: 'put-alarm',
              params: { name },
              impossibleBecause: 'the next reconcile recreates it if a tuner still wants it',
            }
          : null,
    mutating: true,
    params,
  };
}

export function actionsFor(diff: AlarmDiff): Action[] {
  const actions: Action[] = [];
  for (const c of diff.create) {
    actions.push(
      alarmAction(
        'put-alarm',
        c.name,
        `create: ${c.spec.tuner} wants ${c.spec.metricName} ${c.spec.comparison} ${c.spec.threshold} on ${c.spec.resourceId}`,
        { name: c.name, spec: c.spec },
        null,
        c.spec.threshold,
      ),
    );
  }
  for (const u of diff.update) {
    actions.push(
      alarmAction(
        'put-alarm',
        u.name,
        `update: ${u.changes.join(', ')}`,
        { name: u.name, spec: u.spec },
        u.changes,
        u.spec.threshold,
      ),
    );
  }
  for (const name of diff.delete) {
    actions.push(
      alarmAction(
        'delete-alarm',
        name,
        'delete: no tuner wants it for a managed resource any more',
        { name },
        name,
        null,
      ),
    );
  }
  return actions;
}

export function alarmsAdapter(prefix: string, dashboard: string): Adapter {
  return async (action) => {
    const p = action.params ?? {};
    switch (action.kind) {
      case 'put-alarm':
        await putAlarm(String(p.name), p.spec as AlarmSpec, prefix);
        return { status: 'applied' };
      case 'delete-alarm':
        await deleteAlarms([String(p.name)], prefix);
        return { status: 'applied' };
      case 'put-dashboard': {
        const messages = await putDashboard(dashboard, String(p.body));
        return { status: 'applied', detail: messages.length > 0 ? messages.join('; ') : undefined };
      }
      default:
        return { status: 'skipped', reason: `the alarms adapter does not do ${action.kind}` };
    }
  };
}

/** Every tuner observes: nothing is created or changed; left-over alarms are named, not deleted. */
async function observeOnly(
  started: Awaited<ReturnType<typeof startRun>>,
  prefix: string,
  dashboard: string,
  counts: ReconcileSummary['alarms'],
): Promise<ReconcileSummary> {
  const leftOver = (await listAlarms(prefix)).flatMap((a) => (a.AlarmName ? [a.AlarmName] : []));
  const notes = [
    `every tuner that declares alarms is in observe mode: no alarms and no ${dashboard} dashboard are kept (observe mode is read-only)`,
    ...(leftOver.length > 0
      ? [
          `${leftOver.length} alarm(s) under ${prefix} are left from an apply-mode deploy and are not deleted in observe mode: ${leftOver.slice(0, 10).join(', ')}${leftOver.length > 10 ? ', ...' : ''}`,
        ]
      : []),
  ];
  return { ...finishRun(started, [], notes), alarms: { ...counts, unchanged: leftOver.length }, dashboard };
}

/**
 * The dashboard change a run makes: keep it in step with the managed fleet, or, when the config
 * disables it, none (a dashboard left from before is named in `notes` for the operator to delete).
 */
async function dashboardActions(
  config: Config,
  targets: Target[],
  dashboard: string,
  notes: string[],
): Promise<Action[]> {
  const body = config.dashboard.enabled ? dashboardBody({ targets, region: config.region }) : undefined;
  const current = await getDashboardBody(dashboard);
  if (body === undefined && current !== undefined)
    notes.push(
      `the ${dashboard} dashboard is disabled in the config (dashboard.enabled: false) but exists: delete it to stop its monthly charge (aws cloudwatch delete-dashboards --dashboard-names ${dashboard})`,
    );
  if (body === undefined || current === body) return [];
  return [
    {
      tuner: 'alarms',
      resource: { kind: 'account', id: `dashboard:${dashboard}` },
      kind: 'put-dashboard',
      from: current === undefined ? null : 'previous body',
      to: `${targets.length} managed resources`,
      reason: `keep the ${dashboard} dashboard in step with the managed fleet`,
      evidence: [],
      monthlyCostDelta: 0,
      undo: null,
      mutating: true,
      params: { body },
    },
  ];
}

export async function reconcileAlarms(input: ReconcileInput): Promise<ReconcileSummary> {
  const prefix = input.prefix ?? alarmPrefix();
  const dashboard = input.dashboard ?? dashboardName();
  const started = await startRun({
    tuner: 'alarms',
    request: input.request,
    store: input.store,
    now: input.now,
    ssm: input.ssm,
    runId: input.runId,
  });
  const counts = { created: 0, updated: 0, deleted: 0, unchanged: 0, failed: 0 };
  if (started.run.paused || started.duplicate)
    return { ...finishRun(started, []), alarms: counts, dashboard };
  const { run } = started;
  if (!anyAlarmTunerActs(input.config)) return observeOnly(started, prefix, dashboard, counts);

  const desired = await collectDesired({
    config: input.config,
    tuners: input.tuners,
    discover: input.discover ?? discoverForConfig(input.config),
  });
  const existing = await listAlarms(prefix);
  const diff = diffAlarms(desired.specs, existing, {
    prefix,
    frozenTuners: desired.frozen,
    tunerOf: (a) => (a.AlarmName ? parseAlarmName(a.AlarmName, prefix)?.tuner : undefined),
  });
  const actions = actionsFor(diff);

  const notes: string[] = [];
  actions.push(...(await dashboardActions(input.config, desired.targets, dashboard, notes)));

  const base = resolveSettings(input.config, 'alarms');
  const settings: TunerSettings = {
    ...base,
    mode: 'apply',
    cooldownMinutes: 0,
    maxChangesPerRun: Math.max(base.maxChangesPerRun, ALARMS_MAX_CHANGES_PER_RUN),
  };
  const plan: Plan = {
    tuner: 'alarms',
    resource: ACCOUNT_TARGET.ref,
    observedAt: run.now.toISOString(),
    actions,
    noopReason: `${diff.unchanged.length} alarms under ${prefix} already match what the tuners want`,
  };
  const decisions = await executePlan({
    plan,
    target: ACCOUNT_TARGET,
    settings,
    adapter: alarmsAdapter(prefix, dashboard),
    run,
    store: input.store,
  });
  const creates = new Set(diff.create.map((c) => c.name));
  for (const d of decisions) {
    if (d.action === 'put-alarm' || d.action === 'delete-alarm') {
      if (d.outcome === 'failed') counts.failed++;
      else if (d.outcome === 'applied') {
        if (d.action === 'delete-alarm') counts.deleted++;
        else if (creates.has(d.resource)) counts.created++;
        else counts.updated++;
      }
    }
  }
  counts.unchanged = diff.unchanged.length;
  // A tuner that declares an alarm the reconciler cannot create has a defect: fail loudly, never
  // report "already match" while its fast path silently does not exist.
  counts.failed += desired.invalid.length;
  return {
    ...finishRun(started, decisions, [
      ...notes,
      ...desired.invalid,
      ...desired.notes,
      ...diff.rejected,
      ...diff.foreign.map((n) => `${n}: under ${prefix} but not named like a db-autopilot alarm: left alone`),
    ]),
    alarms: counts,
    dashboard,
  };
}
