/**
 * RDS / Aurora DB instance classes: vCPUs, memory and an hourly list price, for right-sizing.
 *
 * Sizes follow the EC2 naming every Graviton / Intel family shares (large = 2 vCPUs, xlarge = 4,
 * 2xlarge = 8, ... 16xlarge = 64); memory per vCPU is the family's (r: 8 GiB, m: 4 GiB, t4g.medium
 * 4 GiB for 2 vCPUs). Sources: RDS User Guide "Concepts.DBInstanceClass.Summary" (hardware
 * specifications). Prices: RDS for PostgreSQL / MySQL On-Demand, Single-AZ, us-east-1 (RDS pricing
 * page, per-family rate x vCPUs; secondary sources); Aurora rates are the Aurora Standard
 * configuration. Any `rds.instance.<class>.hour` / `aurora.instance.<class>.hour` key in the
 * config's `prices` overrides these.
 *
 * Default max_connections (RDS parameter groups): PostgreSQL LEAST(DBInstanceClassMemory/9531392,
 * 5000); MySQL DBInstanceClassMemory/12582880. DBInstanceClassMemory is the class memory less what
 * the OS and RDS reserve; the full memory is used here, so the figure is an upper estimate.
 */

export interface InstanceClass {
  name: string;
  family: string;
  size: string;
  vcpus: number;
  memoryGiB: number;
}

const SIZES: Array<[size: string, vcpus: number]> = [
  ['large', 2],
  ['xlarge', 4],
  ['2xlarge', 8],
  ['4xlarge', 16],
  ['8xlarge', 32],
  ['12xlarge', 48],
  ['16xlarge', 64],
];

/** Memory per vCPU (GiB) and RDS / Aurora hourly price per vCPU (USD), by family. */
const FAMILIES: Record<string, { gibPerVcpu: number; rdsVcpuHour: number; auroraVcpuHour?: number }> = {
  r6g: { gibPerVcpu: 8, rdsVcpuHour: 0.1125, auroraVcpuHour: 0.13 },
  r7g: { gibPerVcpu: 8, rdsVcpuHour: 0.1195, auroraVcpuHour: 0.138 },
  r6i: { gibPerVcpu: 8, rdsVcpuHour: 0.125, auroraVcpuHour: 0.145 },
  r5: { gibPerVcpu: 8, rdsVcpuHour: 0.125, auroraVcpuHour: 0.145 },
  m6g: { gibPerVcpu: 4, rdsVcpuHour: 0.076 },
  m7g: { gibPerVcpu: 4, rdsVcpuHour: 0.0805 },
  m6i: { gibPerVcpu: 4, rdsVcpuHour: 0.0855 },
  m5: { gibPerVcpu: 4, rdsVcpuHour: 0.0855 },
};

/** Burstable classes that are not in the regular size ladder. */
const EXTRA: InstanceClass[] = [
  { name: 'db.t4g.medium', family: 't4g', size: 'medium', vcpus: 2, memoryGiB: 4 },
  { name: 'db.t4g.large', family: 't4g', size: 'large', vcpus: 2, memoryGiB: 8 },
];
const EXTRA_PRICES: Record<string, number> = { 'db.t4g.medium': 0.065, 'db.t4g.large': 0.129 };

export function instanceClass(name: string): InstanceClass | undefined {
  const extra = EXTRA.find((c) => c.name === name);
  if (extra) return extra;
  const m = /^db\.([a-z0-9]+)\.([a-z0-9]+)$/.exec(name);
  if (!m) return undefined;
  const [, family = '', size = ''] = m;
  const fam = FAMILIES[family];
  const vcpus = SIZES.find(([s]) => s === size)?.[1];
  if (!fam || vcpus === undefined) return undefined;
  return { name, family, size, vcpus, memoryGiB: vcpus * fam.gibPerVcpu };
}

/** The classes of the same family smaller than `name`, largest first (the ladder to step down). */
export function smallerClasses(name: string): InstanceClass[] {
  const current = instanceClass(name);
  if (!current || !FAMILIES[current.family]) return [];
  return SIZES.filter(([, v]) => v < current.vcpus)
    .map(([size]) => instanceClass(`db.${current.family}.${size}`))
    .filter((c): c is InstanceClass => c !== undefined)
    .reverse();
}

/** Hourly list price (us-east-1) of a class, RDS or Aurora; undefined when unknown. */
export function classHourlyPrice(
  name: string,
  aurora: boolean,
  overrides: Record<string, number> = {},
): number | undefined {
  const key = `${aurora ? 'aurora' : 'rds'}.instance.${name}.hour`;
  if (overrides[key] !== undefined) return overrides[key];
  if (EXTRA_PRICES[name] !== undefined && !aurora) return EXTRA_PRICES[name];
  const c = instanceClass(name);
  const fam = c ? FAMILIES[c.family] : undefined;
  if (!c || !fam) return undefined;
  const rate = aurora ? fam.auroraVcpuHour : fam.rdsVcpuHour;
  return rate === undefined ? undefined : Math.round(rate * c.vcpus * 10_000) / 10_000;
}

/** The engine's default max_connections for a class (an upper estimate: full class memory). */
export function defaultMaxConnections(name: string, engine: string): number | undefined {
  const c = instanceClass(name);
  if (!c) return undefined;
  const bytes = c.memoryGiB * 1024 ** 3;
  if (engine.includes('postgres')) return Math.min(5000, Math.floor(bytes / 9_531_392));
  if (engine.includes('mysql') || engine.includes('mariadb')) return Math.floor(bytes / 12_582_880);
  return undefined;
}
