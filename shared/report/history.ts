import { z } from 'zod';
import { TUNER_NAMES } from '../alarms/names.ts';
import type { StateStore } from '../core/contracts.ts';
import { ValidationError } from '../core/errors.ts';
import type { Decision, TunerName } from '../core/model.ts';
import { formatUsd } from './format.ts';

/**
 * The audit log, read back: `npm run history` (shared/cli/history.ts) and `control history`.
 * The decisions of a window, oldest first, filtered by resource and tuner. Like the state table's
 * listDecisions, successful no-ops are left out (they are counted in the daily totals); a failed
 * no-op is kept.
 */

/** `7d`, `12h`, `30m` or an ISO 8601 time. */
export const sinceSchema = z
  .string()
  .trim()
  .regex(
    /^(\d{1,4}[dhm]|\d{4}-\d{2}-\d{2}(T[\d:.]+Z?)?)$/,
    'a duration back from now such as 7d, 12h or 30m, or an ISO time such as 2026-11-20T00:00:00Z',
  );

export const historyQuerySchema = z
  .object({
    resource: z.string().trim().min(1).max(255).optional(),
    tuner: z.enum(TUNER_NAMES, { error: `a tuner: one of ${TUNER_NAMES.join(', ')}` }).optional(),
    since: sinceSchema.optional(),
  })
  .strict();

export type HistoryQuery = z.infer<typeof historyQuerySchema>;

const UNIT_MS = { d: 86_400_000, h: 3_600_000, m: 60_000 } as const;

/** The window's start as an ISO time: `since` counted back from `now`, or the time it names. */
export function sinceTime(since: string, now: Date): string {
  const parsed = sinceSchema.safeParse(since);
  if (!parsed.success) throw new ValidationError(`--since: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
  const m = /^(\d+)([dhm])$/.exec(parsed.data);
  if (m) return new Date(now.getTime() - Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS]).toISOString();
  const at = new Date(parsed.data);
  if (Number.isNaN(at.getTime())) throw new ValidationError(`--since: ${since} is not a time`);
  return at.toISOString();
}

function isNotable(d: Decision): boolean {
  return d.action !== 'noop' || d.outcome === 'failed';
}

/** The same selection as the state table's listDecisions, over decisions already in memory. */
export function selectHistory(
  decisions: readonly Decision[],
  query: { since?: string; until?: string; tuner?: TunerName; resource?: string },
): Decision[] {
  return decisions
    .filter(
      (d) =>
        isNotable(d) &&
        (query.since === undefined || d.at >= query.since) &&
        (query.until === undefined || d.at <= query.until) &&
        (query.tuner === undefined || d.tuner === query.tuner) &&
        (query.resource === undefined || d.resource === query.resource),
    )
    .sort((a, b) => a.at.localeCompare(b.at) || a.id.localeCompare(b.id));
}

/** From a state table (deployed, or any StateStore): one partition per tuner with a resource. */
export async function readHistory(
  store: StateStore,
  query: { since: string; until: string; tuner?: TunerName; resource?: string },
): Promise<Decision[]> {
  const found = await store.listDecisions(query);
  return selectHistory(found, query);
}

function shortValue(v: unknown): string {
  if (v === null || v === undefined) return '-';
  const text = typeof v === 'string' ? v : JSON.stringify(v);
  return text.length > 24 ? `${text.slice(0, 23)}…` : text;
}

/** A terminal table: one line per decision, the reason last (clipped to the width). */
export function historyTable(decisions: readonly Decision[], width = 160): string {
  if (decisions.length === 0) return 'no decisions in this window';
  const head = ['time (UTC)', 'tuner', 'resource', 'action', 'outcome', 'from -> to', '$/month', 'reason'];
  const rows = decisions.map((d) => [
    d.at.slice(0, 16).replace('T', ' '),
    d.tuner,
    d.resource,
    d.action,
    d.outcome,
    `${shortValue(d.from)} -> ${shortValue(d.to)}`,
    d.monthlyCostDelta === 0 ? '0' : formatUsd(d.monthlyCostDelta),
    d.reason,
  ]);
  const widths = head
    .slice(0, -1)
    .map((_, i) => Math.max(...[head, ...rows].map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) => {
    const left = r
      .slice(0, -1)
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join('  ');
    const room = Math.max(20, width - left.length - 2);
    const reason = r.at(-1) ?? '';
    return `${left}  ${reason.length > room ? `${reason.slice(0, room - 1)}…` : reason}`.trimEnd();
  };
  return [line(head), ...rows.map(line), '', `${decisions.length} decision(s)`].join('\n');
}

/**
 * The recorded state a demo leaves in its output folder (`DIR/state.json`), which
 * `npm run history -- --from DIR` reads: the audit log's notable decisions of the simulated period
 * and that period's end on the virtual clock (what `--since` counts back from).
 */
export const RECORDED_STATE_FILE = 'state.json';

export const recordedStateSchema = z.object({
  kind: z.literal('db-autopilot recorded state'),
  table: z.string(),
  since: z.string(),
  until: z.string(),
  decisions: z.array(
    z
      .object({
        id: z.string(),
        at: z.string(),
        tuner: z.string(),
        resource: z.string(),
        action: z.string(),
        outcome: z.string(),
        reason: z.string(),
      })
      .passthrough(),
  ),
});

export type RecordedState = Omit<z.infer<typeof recordedStateSchema>, 'decisions'> & {
  decisions: Decision[];
};

export function recordedState(input: Omit<RecordedState, 'kind'>): RecordedState {
  return {
    kind: 'db-autopilot recorded state',
    ...input,
    decisions: selectHistory(input.decisions, {}),
  };
}
