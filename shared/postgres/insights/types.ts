import type { Evidence } from '../../core/model.ts';

export type FindingKind =
  | 'extension-missing'
  | 'slow-query'
  | 'unused-index'
  | 'duplicate-index'
  | 'invalid-index'
  | 'seq-scan-table'
  | 'idle-in-transaction'
  | 'long-transaction'
  | 'replication-slot'
  | 'prepared-transaction'
  | 'wraparound-risk'
  | 'connections';

/** Something a person should look at, with the evidence and the fix. db-autopilot never runs the fix. */
export interface Finding {
  kind: FindingKind;
  /** "orders:public.line_items_sku_idx", "orders:query:123", ... */
  resource: string;
  /** Stable identity within the kind (index name, queryid, slot name...): the fingerprint's input. */
  key: string;
  action: 'finding' | 'recommend';
  severity: 'info' | 'warning' | 'critical';
  title: string;
  detail: string;
  evidence: Evidence[];
  /** The statement a person would run (never run by db-autopilot), or a how-to. */
  fix: string | null;
  sizeBytes?: number;
  /** What makes a known finding "changed" (severity, bucketed numbers). */
  signature: string;
}

export interface IndexRow {
  indexOid: number;
  index: string;
  table: string;
  method: string;
  unique: boolean;
  primary: boolean;
  valid: boolean;
  /** indkey as numbers (0 = expression). */
  columns: number[];
  opclasses: number[];
  predicate: string | null;
  expressions: string | null;
  backsConstraint: boolean;
  sizeBytes: number;
  idxScan: number;
  definition: string;
  /** A partitioned table's index (relkind I): invalid until every partition's index is attached. */
  partitioned?: boolean;
  /** A CREATE INDEX / REINDEX is running on its table now. */
  building?: boolean;
}

export interface TableScanRow {
  table: string;
  sizeBytes: number;
  seqScan: number;
  seqTupRead: number;
  idxScan: number;
  nLiveTup: number;
}

export interface StatementRow {
  queryid: string;
  query: string;
  calls: number;
  totalExecMs: number;
  meanExecMs: number;
  totalPlanMs: number | null;
  rows: number;
  sharedBlksRead: number;
  sharedBlksHit: number;
}

export interface SessionRow {
  pid: number;
  user: string | null;
  application: string | null;
  state: string | null;
  xactAgeSeconds: number | null;
  stateAgeSeconds: number | null;
  backendXminAge: number | null;
  query: string;
}

export interface SlotRow {
  name: string;
  slotType: string;
  active: boolean;
  xminAge: number | null;
  catalogXminAge: number | null;
  retainedBytes: number | null;
}

export interface PreparedRow {
  gid: string;
  ageSeconds: number;
  owner: string;
  database: string;
}

export interface DatabaseAgeRow {
  datname: string;
  xidAge: number;
  mxidAge: number;
}

export interface ProxyObservation {
  name: string;
  maxConnectionsPercent: number | null;
  maxIdleConnectionsPercent: number | null;
  borrowTimeoutSeconds: number | null;
  /** DatabaseConnectionsBorrowLatency, Average per 5 minutes (microseconds), oldest first. */
  borrowLatencyUs: Array<number | null>;
  window: { start: string; end: string; periodSeconds: number };
}

export interface ConnectionObservation {
  /** An RDS Proxy already in front of the instance. */
  proxy?: ProxyObservation;
  maxConnections: number;
  current: number;
  /** CloudWatch DatabaseConnections (Maximum per 5 minutes, oldest first), when the instance is known. */
  series?: Array<number | null>;
  window?: { start: string; end: string; periodSeconds: number };
  dbInstanceIdentifier?: string;
}

export interface InsightsObservation {
  database: string;
  serverVersionNum: number;
  observedAt: string;
  statements:
    | { available: true; rows: StatementRow[]; byMean: StatementRow[] }
    | { available: false; reason: string };
  indexes: IndexRow[];
  /** idx_scan per index name on each reachable replica. */
  replicaIdxScans: Array<{ replica: string; scans: Record<string, number> }>;
  unreachableReplicas: string[];
  /** Seconds since the oldest stats reset (or server start when never reset), per node. */
  statsAgeSeconds: number;
  tables: TableScanRow[];
  sessions: SessionRow[];
  slots: SlotRow[];
  prepared: PreparedRow[];
  databaseAges: DatabaseAgeRow[];
  freezeMaxAge: number;
  /** Current XID counter (not consuming one): pg_snapshot_xmax(pg_current_snapshot()). */
  currentXid: number;
  connections: ConnectionObservation;
}
