import type { Decision } from '../core/model.ts';
import { atLeast, SEVERITY_RANK, shortTime } from './format.ts';
import { isHousekeeping } from './resource-days.ts';

/**
 * Which decisions get a per-event post (pure). A post is for something that happened to a
 * database or needs a person:
 * - a change applied (or, in observe mode, planned): the first per resource and action in a day,
 *   again only when it is more severe than the one told; the rest are in the digest;
 * - a failure: again only when its rule or action changes;
 * - a new finding or recommendation (the same one is not told again for a week);
 * - a deferral the first time (and again only when another rule holds it back), and when it
 *   resolves: the held action applied, or the tuner found nothing left to do;
 * - at most `maxPostsPerHour` posts in any hour: what the cap holds back is marked reported and
 *   appears in the next digest, which lists every applied change and failure of its period.
 * Housekeeping (alarms, the dashboard) and repeats are never posted: the digest lists them.
 */
export interface ReportMemory {
  /** tuner|resource|action -> the deferral standing now (its rule, since when, whether it was told). */
  deferrals: Record<string, { guard: string; since: string; at: string; told?: boolean }>;
  /** tuner|resource|action|rule -> when such a deferral was last told (told once a day). */
  deferralsTold: Record<string, string>;
  /** tuner|resource|action -> the last change told (when, how severe). */
  changes: Record<string, { at: string; severity: string }>;
  /** finding identity -> when told. */
  findings: Record<string, string>;
  /** tuner|resource|action -> the failure told (rule, when). */
  failures: Record<string, { guard: string; at: string }>;
  /** When each recent post went out (the hourly cap). */
  posts: string[];
}

export interface Selection {
  /** At most `batch` decisions for the one post of this run (failures first). */
  post: Decision[];
  notes: Record<string, string>;
  /** Worth a post, held back by the hourly cap or the batch size: the digest has them. */
  held: Decision[];
  memory: ReportMemory;
}

const HOUR_MS = 3_600_000;
const CHANGE_MEMORY_MS = 24 * HOUR_MS;
const FINDING_MEMORY_MS = 7 * 24 * HOUR_MS;
const DEFERRAL_MEMORY_MS = 2 * 24 * HOUR_MS;

export function emptyMemory(): ReportMemory {
  return { deferrals: {}, deferralsTold: {}, changes: {}, findings: {}, failures: {}, posts: [] };
}

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** Reads the stored memory, tolerating anything older or malformed (it is only a hint). */
export function readMemory(value: unknown): ReportMemory {
  const m = emptyMemory();
  if (!isRecord(value)) return m;
  const copy = <T>(from: unknown, ok: (v: unknown) => v is T, into: Record<string, T>) => {
    if (!isRecord(from)) return;
    for (const [k, v] of Object.entries(from)) if (ok(v)) into[k] = v;
  };
  const str = (v: unknown): v is string => typeof v === 'string';
  const withAt = <T>(v: unknown): v is T => isRecord(v) && typeof v.at === 'string';
  copy(value.deferrals, withAt<ReportMemory['deferrals'][string]>, m.deferrals);
  copy(value.changes, withAt<ReportMemory['changes'][string]>, m.changes);
  copy(value.findings, str, m.findings);
  copy(value.deferralsTold, str, m.deferralsTold);
  copy(value.failures, withAt<ReportMemory['failures'][string]>, m.failures);
  if (Array.isArray(value.posts)) m.posts = value.posts.filter(str);
  return m;
}

function expire(memory: ReportMemory, now: Date): ReportMemory {
  const t = now.getTime();
  const keep = <T>(r: Record<string, T>, at: (v: T) => string, ttl: number) =>
    Object.fromEntries(Object.entries(r).filter(([, v]) => t - Date.parse(at(v)) < ttl));
  return {
    deferrals: keep(memory.deferrals, (v) => v.at, DEFERRAL_MEMORY_MS),
    changes: keep(memory.changes, (v) => v.at, CHANGE_MEMORY_MS),
    findings: keep(memory.findings, (v) => v, FINDING_MEMORY_MS),
    deferralsTold: keep(memory.deferralsTold, (v) => v, CHANGE_MEMORY_MS),
    failures: keep(memory.failures, (v) => v.at, CHANGE_MEMORY_MS),
    posts: memory.posts.filter((at) => t - Date.parse(at) < HOUR_MS),
  };
}

/**
 * A finding's identity: its fingerprint (PostgreSQL insights), else its kind with its own key when
 * it has one (Performance Insights: one key per SQL statement, so a second slow statement on the
 * same database is a finding of its own, not a repeat of the first), else what it says.
 */
function findingKey(d: Decision): string {
  const to = isRecord(d.to) ? d.to : undefined;
  const identity =
    typeof to?.fingerprint === 'string'
      ? to.fingerprint
      : typeof to?.kind === 'string'
        ? typeof to.key === 'string'
          ? `${to.kind}|${to.key}`
          : to.kind
        : JSON.stringify(d.to);
  return `${d.tuner}|${d.resource}|${d.action}|${identity}`;
}

const rank = (s: string) => SEVERITY_RANK[s as keyof typeof SEVERITY_RANK] ?? 0;

/** Decides one decision against the memory (mutated): whether it is worth a post, and its note. */
function judge(
  d: Decision,
  m: ReportMemory,
  minSeverity: Decision['severity'],
): { post: boolean; note?: string } {
  const key = `${d.tuner}|${d.resource}|${d.action}`;
  if (d.action === 'noop' && d.outcome !== 'failed') {
    // Nothing left to do for a resource whose action was held back: the deferral resolved.
    const resolved = Object.entries(m.deferrals).filter(
      ([k, v]) => k.startsWith(`${d.tuner}|${d.resource}|`) && v.at < d.at,
    );
    for (const [k] of resolved) delete m.deferrals[k];
    const first = resolved.find(([, v]) => v.told)?.[1];
    if (!first) return { post: false };
    return {
      post: true,
      note: `resolves the deferral since ${shortTime(first.since)}: nothing is held back any more`,
    };
  }
  if (d.outcome === 'failed') {
    const told = m.failures[key];
    m.failures[key] = { guard: d.guard ?? '', at: d.at };
    return { post: !told || told.guard !== (d.guard ?? '') };
  }
  if (isHousekeeping(d)) return { post: false };
  if (!atLeast(d.severity, minSeverity)) return { post: false };
  if (d.outcome === 'deferred') {
    const standing = m.deferrals[key];
    const guard = d.guard ?? '';
    if (standing && standing.guard === guard) {
      standing.at = d.at;
      return { post: false };
    }
    // A new deferral, or another rule holds it back now: told once a day per rule.
    const told = !m.deferralsTold[`${key}|${guard}`];
    if (told) m.deferralsTold[`${key}|${guard}`] = d.at;
    m.deferrals[key] = { guard, since: d.at, at: d.at, told: told || standing?.told };
    return { post: told };
  }
  if ((d.action === 'recommend' || d.action === 'finding') && d.outcome === 'applied') {
    const fk = findingKey(d);
    const told = m.findings[fk];
    m.findings[fk] = told ?? d.at;
    return { post: !told };
  }
  if (d.outcome === 'applied' || d.outcome === 'planned') {
    const held = m.deferrals[key];
    const told = m.changes[key];
    m.changes[key] = {
      at: d.at,
      severity: told && rank(told.severity) > rank(d.severity) ? told.severity : d.severity,
    };
    if (held) {
      delete m.deferrals[key];
      if (held.told) return { post: true, note: `resolves the deferral since ${shortTime(held.since)}` };
    }
    return { post: !told || rank(d.severity) > rank(told.severity) };
  }
  return { post: false };
}

export function selectPosts(input: {
  decisions: Decision[];
  memory: ReportMemory;
  now: Date;
  minSeverity: Decision['severity'];
  maxPostsPerHour: number;
  batch: number;
}): Selection {
  const memory = expire(structuredClone(input.memory), input.now);
  const chosen: Decision[] = [];
  const notes: Record<string, string> = {};
  for (const d of [...input.decisions].sort((a, b) => a.at.localeCompare(b.at))) {
    const verdict = judge(d, memory, input.minSeverity);
    if (!verdict.post) continue;
    chosen.push(d);
    if (verdict.note) notes[d.id] = verdict.note;
  }
  // Failures first, then what needs a person (deferrals, findings), then the changes.
  const order = (d: Decision) =>
    d.outcome === 'failed' ? 0 : d.outcome === 'applied' && d.action !== 'recommend' ? 2 : 1;
  const sorted = [...chosen].sort((a, b) => order(a) - order(b) || a.at.localeCompare(b.at));
  if (sorted.length === 0) return { post: [], notes, held: [], memory };
  if (memory.posts.length >= input.maxPostsPerHour) return { post: [], notes, held: sorted, memory };
  memory.posts.push(input.now.toISOString());
  return { post: sorted.slice(0, input.batch), notes, held: sorted.slice(input.batch), memory };
}
