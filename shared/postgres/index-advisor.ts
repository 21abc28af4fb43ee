import pg from 'pg';

/**
 * The index advice decision (pure), as named steps:
 *   1. slowStatements      - which pg_stat_statements entries are worth advice (read-only, explainable);
 *   2. columnsFromPlan     - the columns the generic plan filters, joins and sorts on, per relation;
 *   2b. foldPartitions     - the partitions it scans folded into their partitioned table (one
 *                            candidate index per partition, tried together);
 *   3. candidateIndexes    - B-tree candidates from those columns, checked against the catalog's
 *                            columns and existing indexes (identifiers only from the catalog);
 *   4. chooseAdvice        - the candidate HypoPG proved best, advised only when the estimated cost
 *                            falls by a large margin and the plan really uses the index;
 *   5. createIndexStatement - the `CREATE INDEX CONCURRENTLY` text a person runs
 *      (partitionedIndexStatements: ON ONLY, per partition CONCURRENTLY, ATTACH PARTITION).
 * The I/O (EXPLAIN, hypopg_create_index) is in index-advisor-run.ts.
 */

export interface SlowStatement {
  queryid: string;
  /** The text pg_stat_statements recorded (constants already replaced by $n). */
  query: string;
  calls: number;
  meanExecMs: number;
  totalExecMs: number;
}

export interface AdviceSettings {
  topStatements: number;
  minMeanMs: number;
  minCalls: number;
  /** Advice only when (before - after) / before reaches this fraction. */
  minCostReduction: number;
  maxCandidates: number;
}

/** Statements EXPLAIN can plan without running them: one SELECT / UPDATE / DELETE, nothing else. */
const EXPLAINABLE = /^\s*(select|with|update|delete)\b/i;

/** Step 1: the slowest statements by total time that are one explainable statement. */
export function slowStatements(rows: SlowStatement[], settings: AdviceSettings): SlowStatement[] {
  return rows
    .filter((r) => r.calls >= settings.minCalls && r.meanExecMs >= settings.minMeanMs)
    .filter((r) => EXPLAINABLE.test(r.query) && !r.query.replace(/;\s*$/, '').includes(';'))
    .filter((r) => !/\b(hypopg|pg_stat_statements|pg_catalog)\b/i.test(r.query))
    .sort((a, b) => b.totalExecMs - a.totalExecMs)
    .slice(0, settings.topStatements);
}

/** The parts of an EXPLAIN (FORMAT JSON, VERBOSE) node the advisor reads. */
export interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  Schema?: string;
  Alias?: string;
  Filter?: string;
  'Index Cond'?: string;
  'Recheck Cond'?: string;
  'Hash Cond'?: string;
  'Merge Cond'?: string;
  'Join Filter'?: string;
  'Sort Key'?: string[];
  'Index Name'?: string;
  'Total Cost': number;
  Plans?: PlanNode[];
}

export interface RelationUse {
  schema: string;
  relation: string;
  /** Columns compared with `=` (or `= ANY`), in order of appearance. */
  equality: string[];
  /** Columns compared with <, <=, >, >=. */
  range: string[];
  /** Columns joined on. */
  join: string[];
  /** Sort keys, when every key of a Sort belongs to this relation. */
  sort: Array<{ column: string; desc: boolean }>;
}

const IDENT = '(?:[A-Za-z_][A-Za-z0-9_$]*|"(?:[^"]|"")+")';
const COLUMN_REF = new RegExp(`(${IDENT})\\.(${IDENT})`, 'g');

function unquote(identifier: string): string {
  return identifier.startsWith('"') ? identifier.slice(1, -1).replace(/""/g, '"') : identifier;
}

/** The comparison operator right after a column reference (skipping `)` and `::type` casts), or before it. */
function operatorAround(text: string, start: number, end: number): string | undefined {
  const after = /^(?:\)|::[A-Za-z_ ]+(?:\[\])?(?:\([\d, ]+\))?)*\s*(=|<>|!=|<=|>=|<|>)(?!=)/.exec(
    text.slice(end),
  );
  if (after) return after[1];
  const before = /(=|<>|!=|<=|>=|<|>)\s*\(*$/.exec(text.slice(0, start));
  if (!before) return undefined;
  const op = before[1];
  // `$1 < t.c` is `t.c > $1`: either way a range.
  return op;
}

function classify(op: string | undefined): 'equality' | 'range' | undefined {
  if (op === '=') return 'equality';
  if (op === '<' || op === '>' || op === '<=' || op === '>=') return 'range';
  return undefined;
}

interface AliasMap {
  get(alias: string): { schema: string; relation: string } | undefined;
}

function collectScans(node: PlanNode, out: Map<string, { schema: string; relation: string }>): void {
  if (node['Relation Name'] && node.Schema) {
    out.set(node.Alias ?? node['Relation Name'], { schema: node.Schema, relation: node['Relation Name'] });
  }
  for (const child of node.Plans ?? []) collectScans(child, out);
}

function useOf(uses: Map<string, RelationUse>, rel: { schema: string; relation: string }): RelationUse {
  const key = `${rel.schema}.${rel.relation}`;
  let use = uses.get(key);
  if (!use) {
    use = { ...rel, equality: [], range: [], join: [], sort: [] };
    uses.set(key, use);
  }
  return use;
}

function pushUnique<T>(list: T[], value: T, same: (a: T, b: T) => boolean = (a, b) => a === b): void {
  if (!list.some((v) => same(v, value))) list.push(value);
}

/** Predicates of scans: every `alias.column op` becomes an equality or range use of that relation. */
function readPredicate(text: string, aliases: AliasMap, uses: Map<string, RelationUse>): void {
  for (const m of text.matchAll(COLUMN_REF)) {
    const rel = aliases.get(unquote(m[1] ?? ''));
    if (!rel) continue;
    const start = m.index ?? 0;
    const kind = classify(operatorAround(text, start, start + m[0].length));
    if (kind) pushUnique(useOf(uses, rel)[kind], unquote(m[2] ?? ''));
  }
}

/** Join conditions: each side's column is a join column of its relation. */
function readJoin(text: string, aliases: AliasMap, uses: Map<string, RelationUse>): void {
  for (const m of text.matchAll(COLUMN_REF)) {
    const rel = aliases.get(unquote(m[1] ?? ''));
    if (rel) pushUnique(useOf(uses, rel).join, unquote(m[2] ?? ''));
  }
}

function readSort(keys: string[], aliases: AliasMap, uses: Map<string, RelationUse>): void {
  const parsed = keys.map((k) => {
    const m = new RegExp(`^(${IDENT})\\.(${IDENT})(\\s+DESC)?(\\s+NULLS (?:FIRST|LAST))?$`).exec(k.trim());
    const rel = m ? aliases.get(unquote(m[1] ?? '')) : undefined;
    return m && rel ? { rel, column: unquote(m[2] ?? ''), desc: Boolean(m[3]) } : undefined;
  });
  const first = parsed[0];
  if (!first || parsed.some((p) => !p || p.rel.relation !== first.rel.relation)) return;
  const use = useOf(uses, first.rel);
  if (use.sort.length > 0) return;
  for (const p of parsed) if (p) use.sort.push({ column: p.column, desc: p.desc });
}

/** Step 2: what the generic plan filters, joins and sorts on, per relation. */
export function columnsFromPlan(root: PlanNode): RelationUse[] {
  const scans = new Map<string, { schema: string; relation: string }>();
  collectScans(root, scans);
  const aliases: AliasMap = { get: (a) => scans.get(a) };
  const uses = new Map<string, RelationUse>();
  const visit = (node: PlanNode) => {
    for (const text of [node.Filter, node['Index Cond'], node['Recheck Cond']]) {
      if (text) readPredicate(text, aliases, uses);
    }
    for (const text of [node['Hash Cond'], node['Merge Cond'], node['Join Filter']]) {
      if (text) readJoin(text, aliases, uses);
    }
    if (node['Sort Key'] && node['Node Type'].includes('Sort')) readSort(node['Sort Key'], aliases, uses);
    for (const child of node.Plans ?? []) visit(child);
  };
  visit(root);
  return [...uses.values()];
}

/** From the catalog: a table's columns and its valid indexes' column lists. */
export interface TableCatalog {
  schema: string;
  relation: string;
  columns: string[];
  indexes: string[][];
  /** A partition: its top-level partitioned table. */
  root?: { schema: string; relation: string };
}

export interface IndexColumn {
  column: string;
  desc: boolean;
}

export interface IndexCandidate {
  schema: string;
  relation: string;
  columns: IndexColumn[];
  /**
   * `relation` is a partitioned table: the index is one per partition (these, as the plan scans
   * them), tried together; PostgreSQL builds it with CREATE INDEX ... ON ONLY, one CREATE INDEX
   * CONCURRENTLY per partition and ATTACH PARTITION (partitionedIndexStatements).
   */
  partitions?: Array<{ schema: string; relation: string }>;
}

const MAX_INDEX_COLUMNS = 4;

function key(c: IndexCandidate): string {
  return `${c.schema}.${c.relation}(${c.columns.map((x) => `${x.column}${x.desc ? ' desc' : ''}`).join(',')})`;
}

function shapesFor(use: RelationUse): IndexColumn[][] {
  const asc = (cols: string[]) => cols.map((column) => ({ column, desc: false }));
  const eq = asc(use.equality.slice(0, MAX_INDEX_COLUMNS - 1));
  const shapes: IndexColumn[][] = [];
  if (eq.length > 0) shapes.push(eq);
  for (const r of use.range.slice(0, 2)) shapes.push([...eq, ...asc([r])]);
  if (use.sort.length > 0) shapes.push([...eq, ...use.sort.filter((s) => !use.equality.includes(s.column))]);
  for (const j of use.join.slice(0, 3)) {
    shapes.push(asc([j]));
    if (eq.length > 0 && !use.equality.includes(j)) shapes.push([...eq, ...asc([j])]);
  }
  return shapes.map((s) => s.slice(0, MAX_INDEX_COLUMNS)).filter((s) => s.length > 0);
}

/** An existing index whose leading columns are these columns already serves the candidate. */
function alreadyIndexed(columns: IndexColumn[], existing: string[][]): boolean {
  return existing.some(
    (idx) => idx.length >= columns.length && columns.every((c, i) => idx[i] === c.column && !c.desc),
  );
}

const relKey = (r: { schema: string; relation: string }) => `${r.schema}.${r.relation}`;

/**
 * Step 2b: the partitions a plan scans, folded into their partitioned table. An index on one
 * partition cuts only that partition's share of the cost (measured: 23% on a 4-partition table,
 * under any sensible margin), so a query over a partitioned table never got advice. The folded
 * use is the union of the partitions' columns; the folded catalog entry has the partitions'
 * columns and only the indexes every one of them has; `partitions` says which to index.
 */
export function foldPartitions(
  uses: RelationUse[],
  catalog: TableCatalog[],
): {
  uses: RelationUse[];
  catalog: TableCatalog[];
  partitions: Map<string, Array<{ schema: string; relation: string }>>;
} {
  const partitions = new Map<string, Array<{ schema: string; relation: string }>>();
  const folded = new Map<string, RelationUse>();
  const out: RelationUse[] = [];
  const entries = new Map<string, TableCatalog>();
  for (const use of uses) {
    const table = catalog.find((t) => relKey(t) === relKey(use));
    if (!table?.root) {
      out.push(use);
      continue;
    }
    const key = relKey(table.root);
    const members = partitions.get(key) ?? [];
    members.push({ schema: use.schema, relation: use.relation });
    partitions.set(key, members);
    const into = folded.get(key);
    if (!into) {
      const first = {
        ...table.root,
        equality: [...use.equality],
        range: [...use.range],
        join: [...use.join],
        sort: [...use.sort],
      };
      folded.set(key, first);
      out.push(first);
      entries.set(key, { ...table.root, columns: table.columns, indexes: table.indexes });
      continue;
    }
    for (const k of ['equality', 'range', 'join'] as const) for (const c of use[k]) pushUnique(into[k], c);
    const entry = entries.get(key);
    if (entry) {
      const has = new Set(table.indexes.map((i) => JSON.stringify(i)));
      entry.indexes = entry.indexes.filter((i) => has.has(JSON.stringify(i)));
    }
  }
  return { uses: out, catalog: [...catalog.filter((t) => !t.root), ...entries.values()], partitions };
}

/** Step 3: B-tree candidates on columns the catalog knows, not already served by an existing index. */
export function candidateIndexes(
  uses: RelationUse[],
  catalog: TableCatalog[],
  maxCandidates: number,
): IndexCandidate[] {
  const out: IndexCandidate[] = [];
  const seen = new Set<string>();
  for (const use of uses) {
    const table = catalog.find((t) => t.schema === use.schema && t.relation === use.relation);
    if (!table) continue;
    for (const shape of shapesFor(use)) {
      if (!shape.every((c) => table.columns.includes(c.column))) continue;
      if (new Set(shape.map((c) => c.column)).size !== shape.length) continue;
      if (alreadyIndexed(shape, table.indexes)) continue;
      const candidate = { schema: table.schema, relation: table.relation, columns: shape };
      const k = key(candidate);
      if (seen.has(k)) continue;
      seen.add(k);
      out.push(candidate);
    }
  }
  return out.slice(0, maxCandidates);
}

/** One candidate as HypoPG saw it: the plan's cost with the hypothetical index, and its size. */
export interface Trial {
  candidate: IndexCandidate;
  cost: number;
  /** The plan with the hypothetical index used it. */
  used: boolean;
  estimatedBytes: number;
}

export interface Advice {
  kind: 'advice';
  candidate: IndexCandidate;
  costBefore: number;
  costAfter: number;
  /** (before - after) / before */
  gain: number;
  estimatedBytes: number;
}

export interface NoAdvice {
  kind: 'none';
  reason: string;
  costBefore: number;
  bestGain: number;
}

/** Step 4: the proven candidate with the lowest cost, when the cost falls by the margin. */
export function chooseAdvice(
  costBefore: number,
  trials: Trial[],
  settings: AdviceSettings,
): Advice | NoAdvice {
  if (trials.length === 0) {
    return {
      kind: 'none',
      reason: 'no candidate index: the plan has no filter, join or sort an index could serve',
      costBefore,
      bestGain: 0,
    };
  }
  const gainOf = (t: Trial) => (costBefore > 0 ? (costBefore - t.cost) / costBefore : 0);
  const used = trials
    .filter((t) => t.used)
    .sort((a, b) => a.cost - b.cost || a.candidate.columns.length - b.candidate.columns.length);
  const best = used[0];
  if (!best) {
    return {
      kind: 'none',
      reason: `none of ${trials.length} hypothetical index(es) was chosen by the planner`,
      costBefore,
      bestGain: 0,
    };
  }
  const gain = gainOf(best);
  if (gain < settings.minCostReduction) {
    return {
      kind: 'none',
      reason: `the best hypothetical index cuts the estimated cost by ${(gain * 100).toFixed(0)}% (< ${(settings.minCostReduction * 100).toFixed(0)}% required)`,
      costBefore,
      bestGain: gain,
    };
  }
  return {
    kind: 'advice',
    candidate: best.candidate,
    costBefore,
    costAfter: best.cost,
    gain,
    estimatedBytes: best.estimatedBytes,
  };
}

/** PostgreSQL truncates identifiers at 63 bytes (NAMEDATALEN - 1). */
const MAX_IDENTIFIER_BYTES = 63;

/** `<table>_<col>_<col>_idx`, cut to 63 bytes (ASCII-safe cut). */
export function indexName(candidate: IndexCandidate): string {
  const raw = `${candidate.relation}_${candidate.columns.map((c) => c.column).join('_')}_idx`
    .toLowerCase()
    .replace(/[^a-z0-9_]+/g, '_')
    .replace(/_+/g, '_');
  return raw.length > MAX_IDENTIFIER_BYTES ? `${raw.slice(0, MAX_IDENTIFIER_BYTES - 4)}_idx` : raw;
}

/** The index definition body: `ON schema.table (col, col DESC)`, every identifier quoted. */
export function indexTarget(candidate: IndexCandidate): string {
  const cols = candidate.columns.map((c) => `${pg.escapeIdentifier(c.column)}${c.desc ? ' DESC' : ''}`);
  return `ON ${pg.escapeIdentifier(candidate.schema)}.${pg.escapeIdentifier(candidate.relation)} (${cols.join(', ')})`;
}

/** Step 5: what a person runs (outside a transaction block). */
export function createIndexStatement(candidate: IndexCandidate): string {
  return `CREATE INDEX CONCURRENTLY ${pg.escapeIdentifier(indexName(candidate))} ${indexTarget(candidate)}`;
}

/**
 * Step 5 for a partitioned table (CREATE INDEX CONCURRENTLY refuses one; PostgreSQL docs,
 * "Partition Maintenance"): the parent's index ON ONLY (invalid, no build), each partition's
 * built concurrently, then attached; the parent's becomes valid with its last partition.
 */
export function partitionedIndexStatements(candidate: IndexCandidate): string[] {
  const name = pg.escapeIdentifier(indexName(candidate));
  const cols = candidate.columns
    .map((c) => `${pg.escapeIdentifier(c.column)}${c.desc ? ' DESC' : ''}`)
    .join(', ');
  const parent = `${pg.escapeIdentifier(candidate.schema)}.${pg.escapeIdentifier(candidate.relation)}`;
  const out = [`CREATE INDEX ${name} ON ONLY ${parent} (${cols})`];
  for (const p of candidate.partitions ?? []) {
    const part = { ...candidate, schema: p.schema, relation: p.relation, partitions: undefined };
    out.push(createIndexStatement(part));
    out.push(
      `ALTER INDEX ${pg.escapeIdentifier(candidate.schema)}.${name} ATTACH PARTITION ${pg.escapeIdentifier(p.schema)}.${pg.escapeIdentifier(indexName(part))}`,
    );
  }
  return out;
}

/** What HypoPG is given: the same definition, without CONCURRENTLY or a name. */
export function hypotheticalStatement(candidate: IndexCandidate): string {
  return `CREATE INDEX ${indexTarget(candidate)}`;
}

/** Writes the table took since statistics were reset, from pg_stat_user_tables. */
export interface TableWrites {
  inserts: number;
  nonHotUpdates: number;
  secondsObserved: number;
  existingIndexes: number;
}

export interface WriteCost {
  /** Index entries one more index would have written per day at the observed rate. */
  indexWritesPerDay: number;
  existingIndexes: number;
  text: string;
}

/**
 * The write cost of one more index: every insert and every update that is not HOT writes an
 * entry in every index (and an update of an indexed column can no longer be HOT).
 */
export function writeCost(w: TableWrites): WriteCost {
  const seconds = Math.max(w.secondsObserved, 1);
  const writes = Math.round(w.inserts + w.nonHotUpdates);
  const perDay = Math.round((writes / seconds) * 86_400);
  const observed =
    seconds >= 86_400
      ? `${(seconds / 86_400).toFixed(1)} days`
      : seconds >= 3_600
        ? `${(seconds / 3_600).toFixed(1)} h`
        : `${Math.ceil(seconds / 60)} min`;
  return {
    indexWritesPerDay: perDay,
    existingIndexes: w.existingIndexes,
    text: `one more index entry per insert and non-HOT update: ${writes} in the ${observed} since statistics were reset (about ${perDay} per day), on a table with ${w.existingIndexes} index(es) already`,
  };
}
