import { describe, expect, it } from 'vitest';
import type { Decision } from '../../../shared/core/model.ts';
import { buildDigest, renderDigestText } from '../../../shared/report/digest.ts';
import { emptyMemory, type ReportMemory, selectPosts } from '../../../shared/report/selection.ts';
import { makeDecision } from '../core/fixtures.ts';

const T = Date.parse('2026-11-20T10:00:00.000Z');
const at = (min: number) => new Date(T + min * 60_000).toISOString();
let seq = 0;
function d(min: number, over: Partial<Decision>): Decision {
  seq += 1;
  return makeDecision({
    id: `d:${seq}`,
    at: at(min),
    tuner: 'dynamodb',
    resource: 'securecart-catalog',
    resourceKind: 'dynamodb-table',
    action: 'set-capacity',
    from: { '(table)': { read: 961, write: 105 } },
    to: { '(table)': { read: 717, write: 79 } },
    ...over,
  });
}
const decrease = (min: number) =>
  d(min, {
    outcome: 'deferred',
    guard: 'aws:dynamodb-decrease-budget',
    deferredUntil: at(min + 60 + min),
    reason: 'read 961 -> 717: peak demand over 60 min was 502/s',
  });

/** Runs the selection every 5 minutes over the decisions, as the report function does. */
function replay(decisions: Decision[], maxPostsPerHour: number, minutes: number) {
  let memory: ReportMemory = emptyMemory();
  const posts: Array<{ at: string; items: Decision[]; notes: Record<string, string> }> = [];
  const held: Decision[] = [];
  for (let m = 5; m <= minutes; m += 5) {
    const now = new Date(T + m * 60_000);
    const due = decisions.filter(
      (x) => Date.parse(x.at) < now.getTime() && Date.parse(x.at) >= now.getTime() - 300_000,
    );
    const s = selectPosts({ decisions: due, memory, now, minSeverity: 'info', maxPostsPerHour, batch: 20 });
    memory = s.memory;
    if (s.post.length > 0) posts.push({ at: now.toISOString(), items: s.post, notes: s.notes });
    held.push(...s.held);
  }
  return { posts, held };
}

describe('per-event selection', () => {
  it('tells a held-back decrease once, whatever its creeping target, and again when it resolves', () => {
    const ds = [decrease(1), decrease(3), decrease(7), decrease(12), decrease(31)];
    ds[2] = { ...ds[2], to: { '(table)': { read: 718, write: 80 } } } as Decision;
    ds.push(d(90, { outcome: 'applied', guard: 'adapter' }));
    const { posts } = replay(ds, 10, 120);
    expect(posts.map((p) => p.items.map((x) => x.outcome))).toEqual([['deferred'], ['applied']]);
    expect(Object.values(posts[1]?.notes ?? {})[0]).toContain(
      'resolves the deferral since 2026-11-20 10:01 UTC',
    );
  });

  it('tells a deferral that ends with nothing left to do as resolved', () => {
    const ds = [
      decrease(1),
      decrease(6),
      d(20, { action: 'noop', outcome: 'skipped', guard: 'noop', to: null }),
    ];
    const { posts } = replay(ds, 10, 60);
    expect(posts).toHaveLength(2);
    expect(Object.values(posts[1]?.notes ?? {})[0]).toContain('nothing is held back any more');
  });

  it('posts the first change per resource and action in a day, the next ones only in the digest', () => {
    const ds = [0, 10, 20, 30].map((m) => d(m, { outcome: 'applied' }));
    const { posts } = replay(ds, 10, 60);
    expect(posts.flatMap((p) => p.items).map((x) => x.id)).toEqual([ds[0]?.id]);
  });

  it('posts a more severe change again', () => {
    const ds = [d(0, { outcome: 'applied' }), d(10, { outcome: 'applied', severity: 'warning' })];
    const { posts } = replay(ds, 10, 30);
    expect(posts).toHaveLength(2);
  });

  it('never posts housekeeping (alarms, dashboard) unless it failed', () => {
    const alarm = (m: number, outcome: Decision['outcome']) =>
      d(m, { tuner: 'alarms', resource: 'dbap-x', action: 'put-alarm', from: null, to: 0, outcome });
    const { posts } = replay([alarm(0, 'applied'), alarm(10, 'failed')], 10, 30);
    expect(posts.flatMap((p) => p.items).map((x) => x.outcome)).toEqual(['failed']);
  });

  it('posts a new finding once', () => {
    const finding = (m: number) =>
      d(m, {
        tuner: 'insights',
        resource: 'orders:connections',
        action: 'recommend',
        from: null,
        to: { kind: 'connections', fingerprint: 'abc', status: 'open' },
      });
    const { posts } = replay([finding(0), finding(30), finding(60)], 10, 90);
    expect(posts).toHaveLength(1);
  });

  it('posts each slow statement Performance Insights names on a database, each once', () => {
    const statement = (m: number, key: string, sql: string) =>
      d(m, {
        tuner: 'insights',
        resource: 'securecart-mysql',
        resourceKind: 'rds-instance',
        action: 'recommend',
        severity: 'warning',
        from: null,
        to: { kind: 'performance-insights', key, statement: sql },
      });
    const select = (m: number) =>
      statement(m, 'pi-SELECT', 'SELECT * FROM order_items WHERE customer_id = ?');
    const update = (m: number) => statement(m, 'pi-UPDATE', 'UPDATE carts SET total = ? WHERE cart_id = ?');
    // Two statements found in the same run (the same instant), then found again on later runs.
    const { posts } = replay([select(0), update(0), select(60), update(60)], 10, 90);
    expect(posts).toHaveLength(1);
    expect(posts[0]?.items.map((x) => (x.to as { key: string }).key).sort()).toEqual([
      'pi-SELECT',
      'pi-UPDATE',
    ]);
  });

  it('holds back what is over the hourly cap, and the digest still lists every applied change', () => {
    const ds = ['a', 'b', 'c', 'd'].map((r, i) => d(i * 10, { resource: `table-${r}`, outcome: 'applied' }));
    const { posts, held } = replay(ds, 1, 60);
    expect(posts).toHaveLength(1);
    expect(held.map((x) => x.resource)).toEqual(['table-b', 'table-c', 'table-d']);
    const digest = buildDigest({ decisions: ds, since: at(-60), until: at(120), paused: false });
    const text = renderDigestText(digest, 1);
    for (const x of held) expect(text).toContain(x.resource);
  });

  it('posts failures first and again only when the failing rule changes', () => {
    const fail = (m: number, guard: string) => d(m, { outcome: 'failed', guard, reason: 'AWS said no' });
    const { posts } = replay([fail(0, 'adapter'), fail(10, 'adapter'), fail(20, 'aws:rds-status')], 10, 30);
    expect(posts.flatMap((p) => p.items).map((x) => x.guard)).toEqual(['adapter', 'aws:rds-status']);
  });
});

describe('the digest deferred list', () => {
  it('holds only what is still deferred at digest time', () => {
    const settled = [decrease(1), d(30, { outcome: 'applied' })];
    const standing = [
      d(5, { resource: 'securecart-carts', outcome: 'deferred', guard: 'aws:dynamodb-decrease-budget' }),
    ];
    const digest = buildDigest({
      decisions: [...settled, ...standing],
      since: at(-60),
      until: at(120),
      paused: false,
    });
    expect(digest.deferred.map((x) => x.resource)).toEqual(['securecart-carts']);
    expect(renderDigestText(digest)).toContain('held back by decrease budget');
  });
});
