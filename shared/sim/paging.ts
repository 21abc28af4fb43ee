/** Marker / NextToken pagination shared by the simulated services (opaque base64 offsets). */
export function encodeToken(offset: number, scope: string): string {
  return Buffer.from(JSON.stringify({ o: offset, s: scope })).toString('base64');
}

/** Returns the offset, or undefined when the token is not one the simulator issued for this scope. */
export function decodeToken(token: string | undefined, scope: string): number | undefined {
  if (token === undefined) return 0;
  try {
    const parsed = JSON.parse(Buffer.from(token, 'base64').toString('utf8')) as { o?: unknown; s?: unknown };
    if (typeof parsed.o === 'number' && parsed.s === scope && parsed.o >= 0) return parsed.o;
  } catch {
    // fall through: not a token we issued
  }
  return undefined;
}

/** The page of `items` at `offset`, and the token for the next page (undefined on the last one). */
export function page<T>(
  items: T[],
  offset: number,
  size: number,
  scope: string,
): { items: T[]; next?: string } {
  const end = offset + size;
  return { items: items.slice(offset, end), next: end < items.length ? encodeToken(end, scope) : undefined };
}

export function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

export function num(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

export function bool(v: unknown): boolean | undefined {
  return typeof v === 'boolean' ? v : undefined;
}

export function arr(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}

export function rec(v: unknown): Record<string, unknown> {
  return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
}

export function toMs(v: unknown): number | undefined {
  if (v instanceof Date) return v.getTime();
  if (typeof v === 'string' || typeof v === 'number') {
    const t = new Date(v).getTime();
    return Number.isFinite(t) ? t : undefined;
  }
  return undefined;
}

export type TagList = Array<{ Key: string; Value: string }>;

export function tagList(tags: Map<string, string>): TagList {
  return [...tags.entries()].map(([Key, Value]) => ({ Key, Value }));
}

export function readTags(v: unknown): Array<[string, string]> {
  return arr(v)
    .map(rec)
    .filter((t) => typeof t.Key === 'string')
    .map((t) => [String(t.Key), typeof t.Value === 'string' ? t.Value : '']);
}
