/** O(1) maximum over any index range of a fixed array (sparse table); out-of-range indexes count as `outside`. */
export class RangeMax {
  private readonly table: Float64Array[];

  constructor(
    private readonly values: readonly number[],
    private readonly outside = 0,
  ) {
    const n = values.length;
    const levels: Float64Array[] = [Float64Array.from(values)];
    for (let k = 1; 1 << k <= n; k++) {
      const prev = levels[k - 1] ?? new Float64Array(0);
      const size = n - (1 << k) + 1;
      const level = new Float64Array(size);
      const half = 1 << (k - 1);
      for (let i = 0; i < size; i++) level[i] = Math.max(prev[i] ?? 0, prev[i + half] ?? 0);
      levels.push(level);
    }
    this.table = levels;
  }

  get length(): number {
    return this.values.length;
  }

  /** Maximum over indexes from..to inclusive (clipped to the array; `outside` if nothing is left). */
  max(from: number, to: number): number {
    const a = Math.max(0, Math.floor(from));
    const b = Math.min(this.values.length - 1, Math.floor(to));
    if (b < a) return this.outside;
    const k = Math.floor(Math.log2(b - a + 1));
    const level = this.table[k];
    if (!level) return this.outside;
    return Math.max(level[a] ?? this.outside, level[b - (1 << k) + 1] ?? this.outside);
  }
}

/** Largest value (0 for an empty array), without spreading a long array into arguments. */
export function peakOf(values: readonly number[]): number {
  let peak = 0;
  for (const v of values) if (v > peak) peak = v;
  return peak;
}
