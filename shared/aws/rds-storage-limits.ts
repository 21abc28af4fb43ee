/**
 * What AWS lets an RDS instance's storage be: the valid Provisioned IOPS range for an engine,
 * storage type and size, gp3 throughput bounds, and each instance class's EBS limit.
 *
 * Pure data and pure functions. The policy clamps every proposal with these; the adapter
 * validates once more against DescribeValidDBInstanceModifications (the account's own answer)
 * before it calls ModifyDBInstance.
 *
 * Sources: aws-facts.md "RDS storage and Provisioned IOPS" (RDS User Guide `CHAP_Storage`,
 * `USER_PIOPS.StorageTypes`; AWS Database Blog on io2 Block Express).
 */

export type RdsStorageType = 'gp2' | 'gp3' | 'io1' | 'io2' | 'standard';

export const STORAGE_TYPES: readonly RdsStorageType[] = ['gp2', 'gp3', 'io1', 'io2', 'standard'];

export function asStorageType(value: string | undefined): RdsStorageType | undefined {
  return STORAGE_TYPES.find((t) => t === value);
}

/** Engines the gp3 / io1 rows of the table apply to (aws-facts.md table: "MySQL, MariaDB, PostgreSQL"). */
const TABLE_ENGINES = /^(mysql|mariadb|postgres)$/;

export function engineCovered(engine: string): boolean {
  return TABLE_ENGINES.test(engine) || isOracle(engine) || isSqlServer(engine);
}

/** RDS for Oracle engines (oracle-ee, oracle-se2, oracle-ee-cdb, ...). */
export function isOracle(engine: string): boolean {
  return engine.startsWith('oracle');
}

/** RDS for SQL Server engines (sqlserver-ee, -se, -ex, -web). */
export function isSqlServer(engine: string): boolean {
  return engine.startsWith('sqlserver');
}

/**
 * The size from which gp3 (and io1) volumes are striped: 400 GiB for MySQL, MariaDB and
 * PostgreSQL, 200 GiB for Oracle (aws-facts.md, "Learned from review": "Oracle's gp3 threshold
 * ... is 200 GiB, not 400"; RDS User Guide CHAP_Storage, gp3 table). SQL Server is not striped
 * (undefined).
 */
export function stripingGiB(engine: string): number | undefined {
  if (isSqlServer(engine)) return undefined;
  return isOracle(engine) ? ORACLE_STRIPING_GIB : GP3_STRIPING_GIB;
}

/** Oracle's gp3 threshold (aws-facts.md, "Learned from review"). */
export const ORACLE_STRIPING_GIB = 200;
/**
 * SQL Server: io1 1,000-64,000 IOPS on 20-16,384 GiB, 1-50 IOPS per GiB; gp3 3,000 baseline,
 * settable up to 16,000 IOPS (at most 500 per GiB) at any size (RDS User Guide CHAP_Storage
 * tables; RDS API Reference, CreateDBInstance `Iops`: "For RDS for SQL Server - Must be a
 * multiple between 1 and 50 of the storage amount").
 */
export const SQLSERVER_IO1_MIN_RATIO = 1;
export const SQLSERVER_IO1_MAX_IOPS = 64_000;
export const SQLSERVER_MIN_GIB = 20;
export const SQLSERVER_GP3_MAX_IOPS = 16_000;

/** gp3 striping threshold for MySQL, MariaDB, PostgreSQL (aws-facts.md table). */
export const GP3_STRIPING_GIB = 400;
/** gp3 below 400 GiB: fixed 3,000 IOPS / 125 MiB/s baseline (aws-facts.md table). */
export const GP3_SMALL_BASELINE_IOPS = 3000;
export const GP3_SMALL_BASELINE_MIBPS = 125;
/** gp3 at or above 400 GiB: 12,000 IOPS and 500 MiB/s included, up to 64,000 IOPS / 4,000 MiB/s. */
export const GP3_LARGE_INCLUDED_IOPS = 12_000;
export const GP3_LARGE_INCLUDED_MIBPS = 500;
export const GP3_MAX_IOPS = 64_000;
export const GP3_MAX_IOPS_PER_GIB = 500;
export const GP3_MAX_MIBPS = 4000;
/** gp3 throughput may be at most 0.25 MiB/s per provisioned IOPS (aws-facts.md table). */
export const GP3_MAX_MIBPS_PER_IOPS = 0.25;
/** io1: 0.5-50 IOPS per GiB; 1,000-19,950 below 400 GiB, 1,000-256,000 from 400 GiB; min 100 GiB. */
export const IO1_MIN_IOPS = 1000;
export const IO1_MAX_IOPS_SMALL = 19_950;
export const IO1_MAX_IOPS = 256_000;
export const IO1_MIN_RATIO = 0.5;
export const IO1_MAX_RATIO = 50;
export const PIOPS_MIN_GIB = 100;
/** io2 Block Express: up to 256,000 IOPS and 1,000 IOPS per GiB (aws-facts.md table). */
export const IO2_MIN_IOPS = 1000;
export const IO2_MAX_IOPS = 256_000;
export const IO2_MIN_RATIO = 0.5;
export const IO2_MAX_RATIO = 1000;
/** gp2: 3 IOPS per GiB, min 100, max 16,000; bursts to 3,000 (aws-facts.md table). */
export const GP2_IOPS_PER_GIB = 3;
export const GP2_MIN_IOPS = 100;
export const GP2_MAX_IOPS = 16_000;
export const GP2_BURST_IOPS = 3000;

/** The IOPS a storage configuration allows to be set, or why none can be set. */
export type IopsRange =
  | { settable: true; min: number; max: number; note: string }
  | { settable: false; fixedIops: number; note: string };

/**
 * The valid range of Provisioned IOPS for an engine, storage type and allocated size.
 * Ratios are applied to the size: min = max(floor, ceil(minRatio x GiB)), max = min(cap, floor(maxRatio x GiB)).
 */
export function validIopsRange(engine: string, storageType: RdsStorageType, allocatedGiB: number): IopsRange {
  switch (storageType) {
    case 'gp2':
      return {
        settable: false,
        fixedIops: gp2BaselineIops(allocatedGiB),
        note: 'gp2 IOPS follow the size (3 IOPS/GiB, min 100, max 16,000) and cannot be set',
      };
    case 'standard':
      return { settable: false, fixedIops: 0, note: 'magnetic storage has no settable IOPS' };
    case 'gp3':
      return gp3Range(engine, allocatedGiB);
    case 'io1':
      return io1Range(engine, allocatedGiB);
    case 'io2': {
      if (allocatedGiB < PIOPS_MIN_GIB) {
        return { settable: false, fixedIops: 0, note: 'io2 needs at least 100 GiB' };
      }
      const min = Math.max(IO2_MIN_IOPS, Math.ceil(IO2_MIN_RATIO * allocatedGiB));
      const max = Math.min(IO2_MAX_IOPS, Math.floor(IO2_MAX_RATIO * allocatedGiB));
      if (min > max) return { settable: false, fixedIops: 0, note: 'no valid io2 IOPS for this size' };
      return {
        settable: true,
        min,
        max,
        note: 'io2 Block Express: up to 256,000 IOPS, up to 1,000 IOPS/GiB',
      };
    }
  }
}

function gp3Range(engine: string, allocatedGiB: number): IopsRange {
  if (!engineCovered(engine)) {
    return {
      settable: false,
      fixedIops: GP3_SMALL_BASELINE_IOPS,
      note: `gp3 rules for engine "${engine}" are not in the table; not tuned`,
    };
  }
  if (isSqlServer(engine)) {
    const max = Math.min(SQLSERVER_GP3_MAX_IOPS, Math.floor(GP3_MAX_IOPS_PER_GIB * allocatedGiB));
    if (max < GP3_SMALL_BASELINE_IOPS) {
      return {
        settable: false,
        fixedIops: GP3_SMALL_BASELINE_IOPS,
        note: 'SQL Server gp3: too small to set IOPS',
      };
    }
    return {
      settable: true,
      min: GP3_SMALL_BASELINE_IOPS,
      max,
      note: 'SQL Server gp3: 3,000-16,000 IOPS, at most 500 IOPS/GiB',
    };
  }
  const stripe = stripingGiB(engine) ?? GP3_STRIPING_GIB;
  if (allocatedGiB < stripe) {
    return {
      settable: false,
      fixedIops: GP3_SMALL_BASELINE_IOPS,
      note: `gp3 below ${stripe} GiB has a fixed 3,000 IOPS baseline that cannot be set`,
    };
  }
  const max = Math.min(GP3_MAX_IOPS, Math.floor(GP3_MAX_IOPS_PER_GIB * allocatedGiB));
  return {
    settable: true,
    min: GP3_LARGE_INCLUDED_IOPS,
    max,
    note: `gp3 >= ${stripe} GiB: 12,000 (included) to 64,000 IOPS, at most 500 IOPS/GiB`,
  };
}

function io1Range(engine: string, allocatedGiB: number): IopsRange {
  const sqlServer = isSqlServer(engine);
  const minGiB = sqlServer ? SQLSERVER_MIN_GIB : PIOPS_MIN_GIB;
  if (allocatedGiB < minGiB) {
    return { settable: false, fixedIops: 0, note: `io1 needs at least ${minGiB} GiB` };
  }
  const stripe = stripingGiB(engine);
  const cap = sqlServer
    ? SQLSERVER_IO1_MAX_IOPS
    : allocatedGiB < (stripe ?? GP3_STRIPING_GIB)
      ? IO1_MAX_IOPS_SMALL
      : IO1_MAX_IOPS;
  const minRatio = sqlServer ? SQLSERVER_IO1_MIN_RATIO : IO1_MIN_RATIO;
  const min = Math.max(IO1_MIN_IOPS, Math.ceil(minRatio * allocatedGiB));
  const max = Math.min(cap, Math.floor(IO1_MAX_RATIO * allocatedGiB));
  if (min > max) return { settable: false, fixedIops: 0, note: 'no valid io1 IOPS for this size' };
  const note = sqlServer
    ? 'SQL Server io1: 1,000-64,000 IOPS, 1-50 IOPS/GiB'
    : `io1: 1,000-19,950 (< ${stripe ?? GP3_STRIPING_GIB} GiB) or 256,000, 0.5-50 IOPS/GiB`;
  return { settable: true, min, max, note };
}

/** The lowest IOPS-per-GiB ratio io1/io2 accept for an engine (storage autoscaling must keep it). */
export function minIopsRatio(engine: string, storageType: RdsStorageType): number {
  if (storageType === 'io1') return isSqlServer(engine) ? SQLSERVER_IO1_MIN_RATIO : IO1_MIN_RATIO;
  if (storageType === 'io2') return IO2_MIN_RATIO;
  return 0;
}

export function gp2BaselineIops(allocatedGiB: number): number {
  return Math.min(GP2_MAX_IOPS, Math.max(GP2_MIN_IOPS, Math.floor(GP2_IOPS_PER_GIB * allocatedGiB)));
}

/** True when `iops` is a valid setting for this engine, storage type and size. */
export function isValidIops(engine: string, storageType: RdsStorageType, allocatedGiB: number, iops: number) {
  const range = validIopsRange(engine, storageType, allocatedGiB);
  return range.settable && Number.isInteger(iops) && iops >= range.min && iops <= range.max;
}

/**
 * What a gp3 volume includes without extra charge (and delivers when no IOPS are provisioned):
 * 12,000 IOPS / 500 MiB/s from the striping size (400 GiB; Oracle 200 GiB), 3,000 / 125 below it;
 * SQL Server is not striped: 3,000 / 125 at every size (aws-facts.md, "Learned from review"; RDS
 * User Guide CHAP_Storage, gp3 table). Engine unknown: the MySQL / MariaDB / PostgreSQL row.
 */
export function gp3Baseline(
  engine: string | undefined,
  allocatedGiB: number,
): { iops: number; mibps: number } {
  const stripe = engine === undefined ? GP3_STRIPING_GIB : stripingGiB(engine);
  return stripe !== undefined && allocatedGiB >= stripe
    ? { iops: GP3_LARGE_INCLUDED_IOPS, mibps: GP3_LARGE_INCLUDED_MIBPS }
    : { iops: GP3_SMALL_BASELINE_IOPS, mibps: GP3_SMALL_BASELINE_MIBPS };
}

/**
 * The IOPS the volume delivers (settable or not): what demand is served up to. gp3: the
 * provisioned IOPS wherever the engine's row lets them be set (Oracle from 200 GiB, SQL Server at
 * any size), else its baseline.
 */
export function effectiveStorageIops(
  storageType: RdsStorageType,
  allocatedGiB: number,
  provisionedIops: number | undefined,
  engine?: string,
): number {
  if (storageType === 'gp2') return gp2BaselineIops(allocatedGiB);
  if (storageType === 'gp3') {
    const baseline = gp3Baseline(engine, allocatedGiB).iops;
    const settable =
      engine === undefined
        ? allocatedGiB >= GP3_STRIPING_GIB
        : validIopsRange(engine, 'gp3', allocatedGiB).settable;
    return settable ? (provisionedIops ?? baseline) : baseline;
  }
  return provisionedIops ?? 0;
}

/**
 * gp3 throughput (MiB/s) that goes with a new IOPS value: keep the current throughput when it
 * is still valid, lower it to 0.25 x IOPS when it is not, never below the 500 MiB/s included
 * (>= 400 GiB) nor above 4,000 (aws-facts.md table).
 */
export function gp3ThroughputFor(iops: number, currentMibps: number | undefined): number {
  const upper = Math.min(GP3_MAX_MIBPS, Math.floor(GP3_MAX_MIBPS_PER_IOPS * iops));
  const wanted = currentMibps ?? GP3_LARGE_INCLUDED_MIBPS;
  return Math.max(GP3_LARGE_INCLUDED_MIBPS, Math.min(upper, wanted));
}

/** Smallest storage size (GiB) at which `iops` becomes valid, or undefined when no size allows it. */
export function minStorageForIops(
  engine: string,
  storageType: RdsStorageType,
  iops: number,
  currentGiB: number,
): number | undefined {
  let ratio: number;
  let cap: number;
  if (storageType === 'io1') {
    ratio = IO1_MAX_RATIO;
    cap = IO1_MAX_IOPS;
  } else if (storageType === 'io2') {
    ratio = IO2_MAX_RATIO;
    cap = IO2_MAX_IOPS;
  } else if (storageType === 'gp3' && engineCovered(engine)) {
    ratio = GP3_MAX_IOPS_PER_GIB;
    cap = GP3_MAX_IOPS;
  } else {
    return undefined;
  }
  if (iops > cap) return undefined;
  let gib = Math.max(currentGiB, PIOPS_MIN_GIB, Math.ceil(iops / ratio));
  // io1 below 400 GiB caps at 19,950; gp3 below 400 GiB cannot set IOPS at all.
  if ((storageType === 'io1' && iops > IO1_MAX_IOPS_SMALL) || storageType === 'gp3') {
    gib = Math.max(gib, GP3_STRIPING_GIB);
  }
  // "each size increase is at least 10%" (aws-facts.md, RDS storage).
  if (gib > currentGiB) gib = Math.max(gib, Math.ceil(currentGiB * 1.1));
  return gib;
}

/**
 * EBS limits of an instance class (the storage IOPS the instance itself can drive).
 * `maxIops` is the class's maximum (burst, 30 min at least once every 24 h for the classes that
 * have a separate baseline), `baselineIops` what it sustains; where both are equal the class
 * sustains its maximum and publishes no EBSIOBalance% metric.
 * RDS instance classes use the EBS limits of their EC2 counterparts (aws-facts.md "Each instance
 * class has its own EBS limit").
 * Source, checked row by row (baseline IOPS / maximum IOPS at 16 KiB, baseline / maximum MB/s at
 * 128 KiB): EC2 User Guide "Amazon EBS-optimized instances", tables "EBS optimized by default"
 * (https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/ebs-optimized.html; the awsdocs
 * amazon-ec2-user-guide doc_source/ebs-optimized.md). The earlier table, written from memory, had
 * wrong baselines for t3, t4g, m6g/r6g xlarge and m6i/r6i large-4xlarge, and wrong maxima for
 * m6g/r6g 8xlarge (40,000), 12xlarge (50,000) and 16xlarge (80,000).
 * Unknown classes have no entry: the policy then relies on DescribeValidDBInstanceModifications.
 */
export interface ClassEbsLimit {
  baselineIops: number;
  maxIops: number;
  baselineMibps: number;
  maxMibps: number;
}

function lim(baselineIops: number, maxIops: number, baselineMibps: number, maxMibps: number): ClassEbsLimit {
  return { baselineIops, maxIops, baselineMibps, maxMibps };
}

export const CLASS_EBS_LIMITS: Readonly<Record<string, ClassEbsLimit>> = {
  'db.t3.micro': lim(500, 11_800, 10.875, 260.625),
  'db.t3.small': lim(1000, 11_800, 21.75, 260.625),
  'db.t3.medium': lim(2000, 11_800, 43.375, 260.625),
  'db.t3.large': lim(4000, 15_700, 86.875, 347.5),
  'db.t3.xlarge': lim(4000, 15_700, 86.875, 347.5),
  'db.t3.2xlarge': lim(4000, 15_700, 86.875, 347.5),
  'db.t4g.micro': lim(500, 11_800, 10.875, 260.625),
  'db.t4g.small': lim(1000, 11_800, 21.75, 260.625),
  'db.t4g.medium': lim(2000, 11_800, 43.375, 260.625),
  'db.t4g.large': lim(4000, 15_700, 86.875, 347.5),
  'db.t4g.xlarge': lim(4000, 15_700, 86.875, 347.5),
  'db.t4g.2xlarge': lim(4000, 15_700, 86.875, 347.5),
  'db.m5.large': lim(3600, 18_750, 81.25, 593.75),
  'db.m5.xlarge': lim(6000, 18_750, 143.75, 593.75),
  'db.m5.2xlarge': lim(12_000, 18_750, 287.5, 593.75),
  'db.m5.4xlarge': lim(18_750, 18_750, 593.75, 593.75),
  'db.m5.8xlarge': lim(30_000, 30_000, 850, 850),
  'db.m5.12xlarge': lim(40_000, 40_000, 1187.5, 1187.5),
  'db.m5.16xlarge': lim(60_000, 60_000, 1700, 1700),
  'db.m5.24xlarge': lim(80_000, 80_000, 2375, 2375),
  'db.r5.large': lim(3600, 18_750, 81.25, 593.75),
  'db.r5.xlarge': lim(6000, 18_750, 143.75, 593.75),
  'db.r5.2xlarge': lim(12_000, 18_750, 287.5, 593.75),
  'db.r5.4xlarge': lim(18_750, 18_750, 593.75, 593.75),
  'db.r5.8xlarge': lim(30_000, 30_000, 850, 850),
  'db.r5.12xlarge': lim(40_000, 40_000, 1187.5, 1187.5),
  'db.r5.16xlarge': lim(60_000, 60_000, 1700, 1700),
  'db.r5.24xlarge': lim(80_000, 80_000, 2375, 2375),
  'db.m6g.large': lim(3600, 20_000, 78.75, 593.75),
  'db.m6g.xlarge': lim(6000, 20_000, 148.5, 593.75),
  'db.m6g.2xlarge': lim(12_000, 20_000, 296.875, 593.75),
  'db.m6g.4xlarge': lim(20_000, 20_000, 593.75, 593.75),
  'db.m6g.8xlarge': lim(40_000, 40_000, 1187.5, 1187.5),
  'db.m6g.12xlarge': lim(50_000, 50_000, 1781.25, 1781.25),
  'db.m6g.16xlarge': lim(80_000, 80_000, 2375, 2375),
  'db.r6g.large': lim(3600, 20_000, 78.75, 593.75),
  'db.r6g.xlarge': lim(6000, 20_000, 148.5, 593.75),
  'db.r6g.2xlarge': lim(12_000, 20_000, 296.875, 593.75),
  'db.r6g.4xlarge': lim(20_000, 20_000, 593.75, 593.75),
  'db.r6g.8xlarge': lim(40_000, 40_000, 1187.5, 1187.5),
  'db.r6g.12xlarge': lim(50_000, 50_000, 1781.25, 1781.25),
  'db.r6g.16xlarge': lim(80_000, 80_000, 2375, 2375),
  'db.m6i.large': lim(3600, 40_000, 81.25, 1250),
  'db.m6i.xlarge': lim(6000, 40_000, 156.25, 1250),
  'db.m6i.2xlarge': lim(12_000, 40_000, 312.5, 1250),
  'db.m6i.4xlarge': lim(20_000, 40_000, 625, 1250),
  'db.m6i.8xlarge': lim(40_000, 40_000, 1250, 1250),
  'db.m6i.12xlarge': lim(60_000, 60_000, 1875, 1875),
  'db.m6i.16xlarge': lim(80_000, 80_000, 2500, 2500),
  'db.m6i.24xlarge': lim(120_000, 120_000, 3750, 3750),
  'db.m6i.32xlarge': lim(160_000, 160_000, 5000, 5000),
  'db.r6i.large': lim(3600, 40_000, 81.25, 1250),
  'db.r6i.xlarge': lim(6000, 40_000, 156.25, 1250),
  'db.r6i.2xlarge': lim(12_000, 40_000, 312.5, 1250),
  'db.r6i.4xlarge': lim(20_000, 40_000, 625, 1250),
  'db.r6i.8xlarge': lim(40_000, 40_000, 1250, 1250),
  'db.r6i.12xlarge': lim(60_000, 60_000, 1875, 1875),
  'db.r6i.16xlarge': lim(80_000, 80_000, 2500, 2500),
  'db.r6i.24xlarge': lim(120_000, 120_000, 3750, 3750),
  'db.r6i.32xlarge': lim(160_000, 160_000, 5000, 5000),
};

export function classEbsLimit(instanceClass: string): ClassEbsLimit | undefined {
  return CLASS_EBS_LIMITS[instanceClass];
}

/** PendingModifiedValues fields that are storage (ApplyImmediately with only these pending is safe). */
export const STORAGE_PENDING_FIELDS: readonly string[] = [
  'AllocatedStorage',
  'Iops',
  'StorageThroughput',
  'StorageType',
];

/**
 * The non-storage fields of PendingModifiedValues that hold a value. ApplyImmediately=true
 * applies every pending modification too (a queued class change reboots now): aws-facts.md.
 */
export function nonStoragePending(pending: Record<string, unknown> | undefined): string[] {
  return pendingFields(pending, false);
}

export function storagePending(pending: Record<string, unknown> | undefined): string[] {
  return pendingFields(pending, true);
}

/** The sorted PendingModifiedValues fields holding a value, storage ones or the others. */
function pendingFields(pending: Record<string, unknown> | undefined, storage: boolean): string[] {
  if (!pending) return [];
  return Object.entries(pending)
    .filter(([key, value]) => STORAGE_PENDING_FIELDS.includes(key) === storage && hasValue(value))
    .map(([key]) => key)
    .sort();
}

function hasValue(value: unknown): boolean {
  if (value === undefined || value === null) return false;
  if (Array.isArray(value)) return value.length > 0;
  if (typeof value === 'object') return Object.values(value as object).some(hasValue);
  return true;
}

/** Statuses in which a storage/IOPS change is accepted (aws-facts.md: `storage-full` still accepts). */
export const MODIFIABLE_STATUSES: readonly string[] = ['available', 'storage-full'];

/** Wait between storage modifications (aws-facts.md: 6 h or until optimization ends, whichever is longer). */
export const STORAGE_CHANGE_WAIT_MS = 6 * 60 * 60 * 1000;
/** At most 4 storage changes in any 24 hours (aws-facts.md, current RDS User Guide wording). */
export const STORAGE_CHANGES_PER_DAY = 4;
export const STORAGE_CHANGE_DAY_MS = 24 * 60 * 60 * 1000;
