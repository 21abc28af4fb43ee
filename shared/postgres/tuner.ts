import { z } from 'zod';
import { getConfig } from '../config/load.ts';
import type { Config } from '../config/schema.ts';
import { type DatabaseConfig, indexMaintenanceSchema } from '../config/sections/maintenance.ts';
import { clock } from '../core/clock.ts';
import type { RunContext, StateStore, TunerRunRequest, TunerRunSummary } from '../core/contracts.ts';
import { publicMessage, ValidationError } from '../core/errors.ts';
import { nextDecisionId } from '../core/executor.ts';
import { effectOf } from '../core/guards.ts';
import { scheduledEventSchema } from '../core/invocation.ts';
import type { Decision, TunerName } from '../core/model.ts';
import { finishRun, startRun } from '../core/run.ts';
import { resolveSettings } from '../core/settings.ts';
import { mergeWithStatements } from '../insights/performance-insights.ts';
import { type PiReadResult, piDecisions, readPerformanceInsights } from '../insights/pi-run.ts';
import { stateStore } from '../state/index.ts';
import { configTarget, type PgTarget } from './connection.ts';
import { type DoctorReport, runDoctor } from './doctor.ts';
import { type IndexWorkSettings, indexDecisions, maintainIndexes } from './index-work.ts';
import { defaultInsightsSettings } from './insights/findings.ts';
import { runInsightsForDatabase } from './insights/run.ts';
import {
  type DecisionContext,
  defaultMaintenanceSettings,
  loadThroughput,
  type MaintenanceSettings,
  maintainDatabase,
  maintenanceDecisions,
  recordMaintenance,
} from './maintenance.ts';
import { maintenanceBudget, maintenanceWindowVerdict, windowEndAt } from './maintenance-window.ts';

/**
 * The PostgreSQL tuners' glue: config -> targets -> (pause flag, idempotency) -> per database
 * maintenance or insights -> decisions recorded in the state store -> summary for the function.
 */

const databaseName = z
  .string()
  .regex(/^[a-z0-9][a-z0-9-]*$/, 'a configured database name (lower-case letters, digits, dashes)');

/** A manual maintenance run: `{ "database": "orders", "tables": ["public.line_items"], "dryRun": true }`. */
export const manualMaintenanceSchema = z
  .object({
    database: databaseName,
    tables: z.array(z.string().min(1).max(300)).min(1).max(100).optional(),
    dryRun: z.boolean({ error: 'dryRun is required: true plans only, false runs VACUUM / ANALYZE' }),
    analyzeOnly: z.boolean().default(false),
    override: z.boolean().default(false),
    /** Outside the configured maintenanceWindows a real manual run must say so explicitly. */
    ignoreMaintenanceWindow: z.boolean().default(false),
    idempotencyKey: z.string().min(8).max(128).optional(),
  })
  .strict();

export const doctorSchema = z
  .object({ command: z.literal('doctor'), database: databaseName.optional() })
  .strict();

export type ManualMaintenance = z.infer<typeof manualMaintenanceSchema>;

type MaintenanceEvent =
  | z.infer<typeof scheduledEventSchema>
  | z.infer<typeof doctorSchema>
  | z.infer<typeof manualMaintenanceSchema>;

/**
 * The pg-maintenance event: picked by shape (a schedule has `source`, doctor has `command`,
 * anything else is a manual run), then validated by that shape's schema so every issue names
 * its field (`event.tables[0]: ...`) instead of a generic "no union member matched".
 */
export const pgMaintenanceEventSchema = z.unknown().transform((event, ctx): MaintenanceEvent => {
  const isObject = typeof event === 'object' && event !== null && !Array.isArray(event);
  const schema =
    isObject && 'source' in event
      ? scheduledEventSchema
      : isObject && 'command' in event
        ? doctorSchema
        : manualMaintenanceSchema;
  const parsed = schema.safeParse(event);
  if (parsed.success) return parsed.data;
  for (const issue of parsed.error.issues) {
    ctx.addIssue({ code: 'custom', message: issue.message, path: [...issue.path] });
  }
  return z.NEVER;
});

export interface PgTunerDeps {
  config?: Config;
  store?: StateStore;
  /** Targets by database name (tests, the demo's PGlite); otherwise built from the config. */
  targets?: PgTarget[];
  now?: Date;
}

interface DatabaseEntry {
  name: string;
  target: PgTarget;
  config?: DatabaseConfig;
}

function settingsOf(config: Config): MaintenanceSettings {
  const m = config.tuners.maintenance;
  return m ? { ...defaultMaintenanceSettings, ...pickSettings(m) } : defaultMaintenanceSettings;
}

function indexSettingsOf(config: Config, settings: MaintenanceSettings): IndexWorkSettings {
  return {
    indexes: indexMaintenanceSchema.parse(config.tuners.maintenance?.indexes ?? {}),
    lockTimeoutMs: settings.lockTimeoutMs,
    safetyMarginMs: settings.safetyMarginMs,
    queryTextMaxChars: config.tuners.insights?.queryTextMaxChars ?? defaultInsightsSettings.queryTextMaxChars,
  };
}

function pickSettings(m: NonNullable<Config['tuners']['maintenance']>): MaintenanceSettings {
  const {
    enabled: _e,
    mode: _m,
    resources: _r,
    cooldownMinutes: _c,
    maxChangesPerRun: _x,
    databases: _d,
    connectTimeoutMs: _t,
    queryTimeoutMs: _q,
    indexes: _i,
    ...rest
  } = m;
  return rest;
}

export function databasesOf(config: Config, deps: PgTunerDeps): DatabaseEntry[] {
  const m = config.tuners.maintenance;
  const timeouts = {
    connectTimeoutMs: m?.connectTimeoutMs ?? 5_000,
    queryTimeoutMs: m?.queryTimeoutMs ?? 30_000,
  };
  const entries: DatabaseEntry[] = (m?.databases ?? []).map((db) => ({
    name: db.name,
    config: db,
    target: deps.targets?.find((t) => t.name === db.name) ?? configTarget(db, timeouts, config.region),
  }));
  for (const t of deps.targets ?? []) {
    if (!entries.some((e) => e.name === t.name)) entries.push({ name: t.name, target: t });
  }
  return entries;
}

function pick(entries: DatabaseEntry[], name: string | undefined): DatabaseEntry[] {
  if (name === undefined) return entries;
  const found = entries.filter((e) => e.name === name);
  if (found.length === 0) {
    throw new ValidationError(
      `unknown database "${name}": configured are ${entries.map((e) => e.name).join(', ') || '(none)'} (tuners.maintenance.databases)`,
      [{ path: 'event.database', message: `unknown database ${name}` }],
    );
  }
  return found;
}

function failedDecision(
  tuner: TunerName,
  runId: string,
  at: string,
  database: string,
  error: unknown,
  request: TunerRunRequest,
): Decision {
  return {
    id: `${runId}:${database}:failed`,
    runId,
    at,
    tuner,
    resource: database,
    resourceKind: 'postgres-database',
    action: 'noop',
    outcome: 'failed',
    reason: `could not observe ${database}: ${publicMessage(error)}`,
    evidence: [],
    monthlyCostDelta: 0,
    from: null,
    to: null,
    undo: null,
    guard: 'observe',
    mode: 'observe',
    dryRun: request.dryRun,
    override: request.override,
    trigger: request.trigger,
    severity: 'warning',
  };
}

/** Every day, all day: the windows of a run a person told to ignore them. */
const ALWAYS: Config['maintenanceWindows'] = [
  { days: ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'], start: '00:00', end: '00:00' },
];

/** Without the Lambda's clock (a run from the registry or a script): 14 minutes from the start. */
export const DEFAULT_RUN_BUDGET_MS = 14 * 60_000;

/**
 * Time left of a budget that started now. It counts down: a constant would give every table, and
 * its statement_timeout, the whole budget however long the run has already taken.
 */
export function countdown(budgetMs: number, nowMs: () => number = Date.now): () => number {
  const deadline = nowMs() + budgetMs;
  return () => deadline - nowMs();
}

export interface MaintenanceRunInput {
  request: TunerRunRequest;
  database?: string;
  tables?: string[];
  analyzeOnly?: boolean;
  /** A manual run's explicit "ignoreMaintenanceWindow": true. */
  ignoreMaintenanceWindow?: boolean;
  deps?: PgTunerDeps;
}

/** Outside the maintenance windows: one skipped decision per database, saying why (recorded). */
function outsideWindowDecision(
  runId: string,
  at: string,
  database: string,
  verdict: { reason: string; until?: string },
  request: TunerRunRequest,
  mode: 'observe' | 'apply',
): Decision {
  return {
    id: `${runId}:${database}:window`,
    runId,
    at,
    tuner: 'maintenance',
    resource: database,
    resourceKind: 'postgres-database',
    action: 'vacuum',
    outcome: 'skipped',
    reason: verdict.reason,
    evidence: [],
    monthlyCostDelta: 0,
    from: null,
    to: null,
    undo: null,
    guard: 'maintenance-window',
    mode,
    dryRun: request.dryRun,
    override: request.override,
    trigger: request.trigger,
    severity: 'info',
  };
}

export async function runMaintenanceTuner(input: MaintenanceRunInput): Promise<TunerRunSummary> {
  const deps = input.deps ?? {};
  const config = deps.config ?? getConfig();
  const store = deps.store ?? stateStore();
  const now = deps.now ?? clock().now();
  const entries = pick(databasesOf(config, deps), input.database);
  const started = await startRun({ tuner: 'maintenance', request: input.request, store, now });
  // Like every other tuner: a section that is absent or `enabled: false` does nothing at all
  // (not even a manual run), whatever its mode says.
  if (config.tuners.maintenance?.enabled !== true) {
    return finishRun(started, [], ['the maintenance tuner is not enabled in the configuration']);
  }
  if (started.run.paused || started.duplicate) return finishRun(started, []);
  const { run } = started;
  const tunerSettings = resolveSettings(config, 'maintenance');
  const effect = effectOf(tunerSettings, run);
  const notes: string[] = [];
  if (effect === 'refused') {
    notes.push('maintenance is in observe mode: a manual real run needs "override": true; planned only');
  }
  const act = effect === 'apply' || effect === 'override';
  const window = maintenanceWindowVerdict({
    windows: config.maintenanceWindows,
    now,
    trigger: run.trigger,
    dryRun: !act,
    ignoreWindow: input.ignoreMaintenanceWindow === true,
  });
  if (!window.run) {
    const skipped = entries.map((e) =>
      outsideWindowDecision(run.runId, now.toISOString(), e.name, window, input.request, tunerSettings.mode),
    );
    for (const d of skipped) await store.recordDecision(d);
    return finishRun(started, skipped, [window.reason]);
  }
  if (window.note) notes.push(window.note);
  const settings = settingsOf(config);
  // Inside a window (not a run told to ignore them): no more time than the window has left.
  const remainingMs = maintenanceBudget(
    input.request.remainingMs ?? countdown(DEFAULT_RUN_BUDGET_MS),
    window.note ? undefined : windowEndAt(config.maintenanceWindows, now),
    now,
  );
  const pass: MaintenancePass = {
    input,
    config,
    store,
    now,
    run,
    settings,
    act,
    remainingMs,
    notes,
    ctx: {
      runId: run.runId,
      at: now.toISOString(),
      mode: tunerSettings.mode,
      dryRun: run.dryRun,
      override: effect === 'override',
      trigger: run.trigger,
    },
    // An explicit manual override of the windows covers the index builds too.
    indexWindows: window.note && act ? ALWAYS : config.maintenanceWindows,
  };
  const decisions: Decision[] = [];
  for (const entry of entries) {
    if (remainingMs() < settings.safetyMarginMs) {
      notes.push(`stopped before ${entry.name}: the maintenance window or the function's time is nearly up`);
      break;
    }
    decisions.push(...(await maintainEntry(pass, entry)));
  }
  return finishRun(started, decisions, notes);
}

/** What every database of one maintenance run shares. */
interface MaintenancePass {
  input: MaintenanceRunInput;
  config: Config;
  store: StateStore;
  now: Date;
  run: RunContext;
  settings: MaintenanceSettings;
  /** Changes are made (not planned only). */
  act: boolean;
  remainingMs: () => number;
  notes: string[];
  ctx: DecisionContext;
  /** The windows the index builds wait for. */
  indexWindows: Config['maintenanceWindows'];
}

/**
 * One database: VACUUM / ANALYZE what needs it (from its throughput history), then, on a
 * whole-database run, the index work; every decision numbered and recorded. A failure is one
 * failed decision (recorded); an unknown table is a clear error and nothing is done.
 */
async function maintainEntry(pass: MaintenancePass, entry: DatabaseEntry): Promise<Decision[]> {
  const { input, store, now, run, settings, remainingMs } = pass;
  try {
    const history = await loadThroughput(store, entry.name, now);
    const result = await maintainDatabase({
      target: entry.target,
      settings,
      dryRun: !pass.act,
      analyzeOnly: input.analyzeOnly,
      tables: input.tables,
      remainingMs,
      now,
      history,
    });
    const made = maintenanceDecisions(result, { ...pass.ctx });
    // Index work (advice, creation, rebuilds) follows VACUUM on a whole-database run only.
    if (!input.tables && !input.analyzeOnly && remainingMs() > settings.safetyMarginMs) {
      made.push(...(await indexWork(pass, entry)));
    }
    for (const d of made) d.id = nextDecisionId(run);
    await recordMaintenance(store, result, made);
    const left = result.results.filter((r) => r.outcome === 'deferred').length;
    if (left > 0) pass.notes.push(`${entry.name}: ${left} table(s) left for the next run`);
    return made;
  } catch (error) {
    if (error instanceof ValidationError) throw error; // unknown table: a clear error, nothing done
    const d = failedDecision('maintenance', run.runId, now.toISOString(), entry.name, error, input.request);
    await store.recordDecision(d).catch(() => undefined);
    return [d];
  }
}

/** Index advice, creation and rebuilds; a failure here leaves the VACUUM decisions standing. */
async function indexWork(pass: MaintenancePass, entry: DatabaseEntry): Promise<Decision[]> {
  const { config, settings, ctx } = pass;
  try {
    const indexes = await maintainIndexes({
      target: entry.target,
      settings: indexSettingsOf(config, settings),
      act: pass.act,
      now: pass.now,
      windows: pass.indexWindows,
      remainingMs: pass.remainingMs,
    });
    return indexDecisions(indexes, { ...ctx });
  } catch (error) {
    // The VACUUM decisions above stand; the index work is reported failed on its own.
    return [
      {
        ...failedDecision('maintenance', pass.run.runId, ctx.at, entry.name, error, pass.input.request),
        action: 'reindex',
        reason: `index work (advice, rebuilds) failed on ${entry.name}: ${publicMessage(error)}`,
      },
    ];
  }
}

export async function runInsightsTuner(input: {
  request: TunerRunRequest;
  database?: string;
  deps?: PgTunerDeps;
}): Promise<TunerRunSummary> {
  const deps = input.deps ?? {};
  const config = deps.config ?? getConfig();
  const store = deps.store ?? stateStore();
  const now = deps.now ?? clock().now();
  const entries = pick(databasesOf(config, deps), input.database);
  const started = await startRun({ tuner: 'insights', request: input.request, store, now });
  if (started.run.paused || started.duplicate) return finishRun(started, []);
  const { run } = started;
  const i = config.tuners.insights;
  const settings = i ? { ...defaultInsightsSettings, ...i } : defaultInsightsSettings;
  const decisions: Decision[] = [];
  const pi = await performanceInsightsFor(config, entries, input.database, now);
  const piLeft = new Map(pi.findings);
  for (const entry of entries) {
    const instanceId = entry.config?.dbInstanceIdentifier;
    try {
      const result = await runInsightsForDatabase({
        annotate: (made) => {
          if (!instanceId) return made;
          const merged = mergeWithStatements(made, piLeft.get(instanceId) ?? []);
          piLeft.set(instanceId, merged.unmatched);
          return merged.decisions;
        },
        target: entry.target,
        settings,
        now,
        runId: run.runId,
        trigger: run.trigger,
        dryRun: run.dryRun,
        store,
        dbInstanceIdentifier: entry.config?.dbInstanceIdentifier,
      });
      decisions.push(...result.decisions);
    } catch (error) {
      const d = failedDecision('insights', run.runId, now.toISOString(), entry.name, error, input.request);
      await store.recordDecision(d).catch(() => undefined);
      decisions.push(d);
    }
  }
  const ctx = { runId: run.runId, at: now.toISOString(), trigger: run.trigger, dryRun: run.dryRun };
  for (const findings of piLeft.values()) {
    const made = piDecisions(findings, ctx);
    if (!run.dryRun) for (const d of made) await store.recordDecision(d).catch(() => undefined);
    decisions.push(...made);
  }
  return finishRun(started, decisions, pi.notes);
}

/** Performance Insights for the configured databases' instances and the listed ones (a manual run for one database: its instance only). */
async function performanceInsightsFor(
  config: Config,
  entries: DatabaseEntry[],
  database: string | undefined,
  now: Date,
): Promise<PiReadResult> {
  const p = config.tuners.insights?.performanceInsights;
  if (!p?.enabled) return { findings: new Map(), notes: [] };
  const ids = [
    ...entries.map((e) => e.config?.dbInstanceIdentifier).filter((id): id is string => id !== undefined),
    ...(database === undefined ? p.instances : []),
  ];
  return readPerformanceInsights(ids, now, p.lookbackHours, { minLoadShare: p.minLoadShare, topN: p.topN });
}

export async function runDoctorCommand(
  database: string | undefined,
  deps: PgTunerDeps = {},
): Promise<{ ok: boolean; reports: DoctorReport[] }> {
  const config = deps.config ?? getConfig();
  const entries = pick(databasesOf(config, deps), database);
  const reports: DoctorReport[] = [];
  for (const e of entries)
    reports.push(await runDoctor(e.target, { iamAuth: e.config?.auth.type === 'iam' }));
  return { ok: reports.every((r) => r.ok), reports };
}

/** Registry entries (shared/tuners/registry.ts): scheduled / demo runs of every configured database. */
export const maintenanceRegistration = {
  run: (request: TunerRunRequest) => runMaintenanceTuner({ request }),
};

export const insightsRegistration = {
  run: (request: TunerRunRequest) => runInsightsTuner({ request }),
};
