const BARS = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'] as const;

/**
 * A one-line picture of a series ("▁▂▅█▇▃"), so a reader sees the shape of the deciding metric
 * without opening a console. Unknown points (null) show as a space. At most `width` characters:
 * longer series are reduced by taking the maximum of each bucket (peaks must stay visible).
 */
export function sparkline(series: ReadonlyArray<number | null>, width = 24): string {
  const values = downsampleMax(series, width);
  const known = values.filter((v): v is number => v !== null && Number.isFinite(v));
  if (known.length === 0) return '';
  const min = Math.min(...known);
  const max = Math.max(...known);
  const span = max - min;
  return values
    .map((v) => {
      if (v === null || !Number.isFinite(v)) return ' ';
      const index = span === 0 ? 3 : Math.round(((v - min) / span) * (BARS.length - 1));
      return BARS[Math.max(0, Math.min(BARS.length - 1, index))];
    })
    .join('');
}

function downsampleMax(series: ReadonlyArray<number | null>, width: number): Array<number | null> {
  if (series.length <= width) return [...series];
  const out: Array<number | null> = [];
  for (let b = 0; b < width; b++) {
    const start = Math.floor((b * series.length) / width);
    const end = Math.floor(((b + 1) * series.length) / width);
    let best: number | null = null;
    for (let i = start; i < end; i++) {
      const v = series[i];
      if (v !== null && v !== undefined && (best === null || v > best)) best = v;
    }
    out.push(best);
  }
  return out;
}
