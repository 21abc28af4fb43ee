/**
 * Aurora Serverless v2 rules a tuner must obey. Sources: RDS API reference,
 * ServerlessV2ScalingConfiguration (MinCapacity / MaxCapacity in 0.5 ACU steps; MaxCapacity up to
 * 256 on recent versions, 128 on older; MinCapacity 0 only where auto-pause is supported, else
 * 0.5; SecondsUntilAutoPause 300-86,400); Aurora User Guide "aurora-serverless-v2.how-it-works"
 * (an ACU is about 2 GiB of memory with matching CPU and networking; scaling is faster from a
 * higher current capacity; readers in promotion tiers 0 and 1 scale with the writer),
 * "aurora-serverless-v2-auto-pause" (pause after no user connections for SecondsUntilAutoPause;
 * resume on the next connection request, typically about 15 s; no instance charge while paused;
 * versions: Aurora PostgreSQL 16.3, 15.7, 14.12, 13.15 and later; Aurora MySQL 3.08 and later).
 * Price: Aurora Standard, us-east-1, $0.12 per ACU-hour (Aurora pricing page; config key
 * `aurora.serverless.acuHour` overrides).
 */

export const ACU_STEP = 0.5;
export const MAX_ACU = 256;
export const MIN_ACU_NO_PAUSE = 0.5;
export const AUTO_PAUSE_SECONDS = { min: 300, max: 86_400 } as const;
/** SecondsUntilAutoPause when MinCapacity is set to 0 without it (also after a nonzero minimum removed it). */
export const AUTO_PAUSE_DEFAULT_SECONDS = 300;
export const GIB_PER_ACU = 2;
export const ACU_HOUR_USD = 0.12;

/** Rounds up to the next 0.5 ACU step. */
export function roundUpAcu(acu: number): number {
  return Math.ceil(acu / ACU_STEP - 1e-9) * ACU_STEP;
}

/** True when the engine version supports MinCapacity 0 (auto-pause). */
export function supportsAutoPause(engine: string, version: string): boolean {
  const [major = 0, minor = 0] = version.split('.').map((p) => Number.parseInt(p, 10) || 0);
  if (engine === 'aurora-postgresql') {
    const firstMinor: Record<number, number> = { 13: 15, 14: 12, 15: 7, 16: 3 };
    if (major >= 17) return true;
    const needed = firstMinor[major];
    return needed !== undefined && minor >= needed;
  }
  if (engine === 'aurora-mysql') {
    // Aurora MySQL versions look like 8.0.mysql_aurora.3.08.0.
    const m = /mysql_aurora\.(\d+)\.(\d+)/.exec(version);
    if (!m) return false;
    const [maj, min] = [Number(m[1]), Number(m[2])];
    return maj > 3 || (maj === 3 && min >= 8);
  }
  return false;
}

/** The smallest MinCapacity the engine version accepts. */
export function smallestMin(engine: string, version: string): number {
  return supportsAutoPause(engine, version) ? 0 : MIN_ACU_NO_PAUSE;
}

/** Why a scaling configuration is invalid for the engine version, or undefined when valid. */
export function invalidBounds(
  b: { min: number; max: number; secondsUntilAutoPause?: number },
  engine: string,
  version: string,
): string | undefined {
  const onStep = (x: number) => Math.abs(x / ACU_STEP - Math.round(x / ACU_STEP)) < 1e-9;
  if (!onStep(b.min) || !onStep(b.max)) return 'MinCapacity and MaxCapacity must be multiples of 0.5 ACU';
  if (b.min < smallestMin(engine, version))
    return `MinCapacity ${b.min} is below ${smallestMin(engine, version)} for ${engine} ${version} (0 needs auto-pause support)`;
  if (b.max < 1 || b.max > MAX_ACU) return `MaxCapacity must be between 1 and ${MAX_ACU}`;
  if (b.max < b.min) return 'MaxCapacity must be at least MinCapacity';
  const s = b.secondsUntilAutoPause;
  if (s !== undefined && (s < AUTO_PAUSE_SECONDS.min || s > AUTO_PAUSE_SECONDS.max))
    return `SecondsUntilAutoPause must be between ${AUTO_PAUSE_SECONDS.min} and ${AUTO_PAUSE_SECONDS.max}`;
  return undefined;
}
