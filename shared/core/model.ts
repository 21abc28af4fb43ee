/**
 * The vocabulary of the observe -> decide -> guard -> act -> record -> report loop.
 *
 * Policies (shared/policies/*) are pure functions that turn an Observation into a Plan.
 * The executor (shared/core/executor.ts) runs the shared guards on every Action of a Plan,
 * calls the tuner's adapter for the ones that pass, and records one Decision per Action
 * (no-ops included) in the state table.
 */

/** Every tuner name: the one list the alarm names, the state keys and the report share. */
export const TUNER_NAMES = [
  'iops',
  'replicas',
  'dynamodb',
  'dynamodb-mode',
  'prewarm',
  'maintenance',
  'insights',
  'proxy',
  'rightsizing',
  'serverless',
  'alarms',
  'control',
] as const;

/**
 * The reporting functions and the fleet's steps are no tuners, but record their own failed runs
 * in the audit log under these names (shared/handler/wrap.ts), so the digest lists them.
 */
export const REPORTING_RECORDERS = ['report', 'digest', 'fleet'] as const;

export type TunerName = (typeof TUNER_NAMES)[number] | (typeof REPORTING_RECORDERS)[number];

/** observe = plan and report only (default on a first deploy); apply = act. */
export type Mode = 'observe' | 'apply';

/**
 * `intended`: written before the adapter calls AWS (write-ahead, with its undo); the same decision
 * (same id) is then resolved to applied / deferred / skipped / failed from the response or, if the
 * run died or the response was lost, from AWS's own state on a later run (shared/core/intent.ts).
 */
export type Outcome = 'planned' | 'intended' | 'applied' | 'deferred' | 'skipped' | 'failed';

export type ResourceKind =
  | 'rds-instance'
  | 'aurora-cluster'
  | 'dynamodb-table'
  | 'dynamodb-gsi'
  | 'postgres-database'
  | 'postgres-table'
  | 'rds-proxy'
  | 'postgres-index'
  | 'cloudwatch-alarm'
  | 'account';

export interface ResourceRef {
  kind: ResourceKind;
  /** Stable identifier: DBInstanceIdentifier, cluster id, table name, "table/index/gsi", "db:schema.table". */
  id: string;
  arn?: string;
}

/** One number behind a decision: which metric, over which window, what value. */
export interface Evidence {
  metric: string;
  statistic: string;
  /** null = unknown (no datapoints for a gauge). */
  value: number | null;
  unit?: string;
  window: { start: string; end: string; periodSeconds: number };
  /** CloudWatch coordinates, for console links and sparklines in reports. */
  namespace?: string;
  dimensions?: Record<string, string>;
  /** Optional compact series (oldest first) for sparklines. */
  series?: Array<number | null>;
  threshold?: number;
}

/** How to undo an action, recorded with it; `revert` replays it through the same guards. */
export interface UndoSpec {
  kind: string;
  params: Record<string, unknown>;
  /** When AWS does not allow an undo (e.g. storage never shrinks), say why. */
  impossibleBecause?: string;
}

/**
 * An AWS (or PostgreSQL) rule a policy declares for an action; the executor evaluates it
 * before the adapter runs. Pure: it receives what the observation already holds.
 */
export interface RuleCheck {
  rule: string;
  /** ok: go on; defer: not now, retry at `until`; skip: never for this plan. */
  verdict: 'ok' | 'defer' | 'skip';
  reason?: string;
  until?: string;
}

export type ActionKind =
  | 'set-iops'
  | 'set-storage-type'
  | 'add-replica'
  | 'remove-replica'
  | 'add-route'
  | 'remove-route'
  | 'set-capacity'
  | 'set-scaling-target'
  | 'set-capacity-mode'
  | 'prewarm'
  | 'set-pool'
  | 'set-serverless-bounds'
  | 'idle-instance'
  | 'oversized-instance'
  | 'vacuum'
  | 'analyze'
  | 'reindex'
  | 'create-index'
  | 'drop-index'
  | 'recommend'
  | 'finding'
  | 'put-alarm'
  | 'delete-alarm'
  | 'put-dashboard'
  | 'noop'
  | 'pause'
  | 'resume'
  | 'revert';

export interface Action {
  tuner: TunerName;
  resource: ResourceRef;
  kind: ActionKind;
  /** Current value and proposed value (numbers for capacity/IOPS/counts, objects otherwise). */
  from: unknown;
  to: unknown;
  reason: string;
  evidence: Evidence[];
  /** Expected change of the monthly bill in USD (negative = saving). */
  monthlyCostDelta: number;
  undo: UndoSpec | null;
  /**
   * true when the adapter changes AWS or the database. Non-mutating actions (recommend, finding,
   * noop) are recorded with outcome `planned` (observe) or `applied` (a recommendation was made)
   * and never reach an adapter that mutates.
   */
  mutating: boolean;
  /** Deleting requires "created" consent: only resources db-autopilot made. */
  deletes?: boolean;
  /**
   * The action only hands the person's own setting back (a lifted minimum, a policy db-autopilot
   * changed): it passes the opt-out and managed-consent guards (an opted-out or no longer managed
   * resource must not keep db-autopilot's change); every other guard still applies.
   */
  restores?: boolean;
  /** Numeric target checked against the tuner's configured bounds, when the action has one. */
  numericTarget?: number;
  /** Rules the policy evaluated (pure) that the executor enforces. */
  rules?: RuleCheck[];
  /** Extra adapter parameters (e.g. StorageThroughput, the GSI name, instance class). */
  params?: Record<string, unknown>;
  severity?: 'info' | 'warning' | 'critical';
}

export interface Plan {
  tuner: TunerName;
  resource: ResourceRef;
  /** ISO time the observation was taken (virtual clock in the simulator). */
  observedAt: string;
  actions: Action[];
  /** Why nothing is proposed, when actions is empty: recorded as a no-op decision. */
  noopReason?: string;
  noopEvidence?: Evidence[];
}

export type Trigger = 'schedule' | 'alarm' | 'manual' | 'demo' | 'backtest';

/** What an adapter reports back. */
export type ActResult =
  | {
      status: 'applied';
      detail?: string;
      /**
       * The value AWS was actually asked for, when the adapter moved the action's `to` (e.g. IOPS
       * capped at the valid edge): recorded as the decision's `to`, so the next run's drift check
       * compares AWS's state with what db-autopilot really set.
       */
      appliedTo?: unknown;
    }
  | { status: 'deferred'; until: string; reason: string }
  | { status: 'skipped'; reason: string }
  | { status: 'failed'; reason: string; code?: string };

/** One recorded decision: the audit log row that reports read. */
export interface Decision {
  id: string;
  runId: string;
  at: string;
  tuner: TunerName;
  resource: string;
  resourceKind: ResourceKind;
  action: ActionKind;
  outcome: Outcome;
  reason: string;
  evidence: Evidence[];
  monthlyCostDelta: number;
  from: unknown;
  to: unknown;
  undo: UndoSpec | null;
  deferredUntil?: string;
  /** Which guard or adapter produced a skip/defer/failure ("paused", "cooldown", "aws:storage-wait"...). */
  guard?: string;
  mode: Mode;
  dryRun: boolean;
  override: boolean;
  trigger: Trigger;
  severity: 'info' | 'warning' | 'critical';
  /** Set once the report function has posted it. */
  reportedAt?: string;
  /**
   * How an intended change was resolved: `response` (the adapter's answer) or `aws-state` (a later
   * check of AWS's own state: describe calls, events, tags), and when.
   */
  resolution?: { by: 'response' | 'aws-state'; at: string; runId: string; detail?: string };
  /** The action's adapter parameters (mutating actions): what a check of AWS's state compares with. */
  params?: Record<string, unknown>;
  /**
   * A skip that repeated: when the same skip (same tuner, resource, action, rule, reason, values)
   * was recorded again right after this one, the same UTC day. Each repeat is stored slim, out of
   * the indexes (shared/state/slim.ts); the reports count them from here (`withRepeats`).
   * A deferral repeats the same way (same rule, resource, action, the same UTC hour).
   */
  repeatedAt?: string[];
  /** A repeated deferral: its latest repeat as recorded (slim), which the reports show. */
  latestRepeat?: Decision;
}
