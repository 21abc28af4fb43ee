import type { BacktestReport, PolicyName } from './types.ts';
import { POLICY_NAMES } from './types.ts';

/**
 * A plain SVG (no dependencies): demand and each policy's capacity over time, one panel per
 * series (read and write for DynamoDB), with axes labels and a legend. Long traces are
 * reduced to at most `maxPoints` per line, keeping each bucket's maximum (peaks stay visible).
 */
const COLORS: Record<PolicyName | 'demand', string> = {
  demand: '#111111',
  'db-autopilot': '#1f77b4',
  'aws-target-tracking': '#d62728',
  'aws-on-demand': '#ff7f0e',
  'static-peak': '#7f7f7f',
  'static-exact': '#bcbd22',
  oracle: '#2ca02c',
};

const UNITS: Record<string, string> = {
  read: 'read capacity units / s',
  write: 'write capacity units / s',
  iops: 'IOPS',
  cpu: 'reader CPU (% of one reader)',
  readers: 'readers',
};

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function bucketMax(values: readonly number[], maxPoints: number): Array<[number, number]> {
  const n = values.length;
  const size = Math.max(1, Math.ceil(n / maxPoints));
  const out: Array<[number, number]> = [];
  for (let i = 0; i < n; i += size) {
    let m = 0;
    for (let j = i; j < Math.min(n, i + size); j++) m = Math.max(m, values[j] ?? 0);
    out.push([i, m]);
  }
  return out;
}

function niceMax(v: number): number {
  if (v <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const f of [1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10]) if (f * p >= v) return f * p;
  return 10 * p;
}

export function renderChart(report: BacktestReport, maxPoints = 1200): string {
  const width = 1100;
  const panelHeight = 300;
  const margin = { left: 80, right: 220, top: 40, bottom: 50 };
  const panels = Object.keys(report.series.demand);
  const height = margin.top + panels.length * (panelHeight + margin.bottom) + 10;
  const plotW = width - margin.left - margin.right;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${margin.left}" y="22" font-size="15">${escapeXml(`${report.kind} backtest: ${report.trace}`)}</text>`,
  ];
  const days = report.minutes / 1440;
  panels.forEach((panel, p) => {
    const top = margin.top + p * (panelHeight + margin.bottom);
    const demand = report.series.demand[panel] ?? [];
    // Replicas: demand is CPU, capacity is readers; show capacity as readers x 100 % on the same axis.
    const scale = panel === 'cpu' ? 100 : 1;
    const capKey = panel === 'cpu' ? 'readers' : panel;
    const lines: Array<{ name: PolicyName | 'demand'; values: readonly number[] }> = [
      { name: 'demand', values: demand },
    ];
    for (const name of POLICY_NAMES) {
      const series = report.series.capacity[name]?.[capKey];
      if (series) lines.push({ name, values: series.map((v) => v * scale) });
    }
    let peak = 0;
    for (const l of lines) for (const v of l.values) if (Number.isFinite(v) && v > peak) peak = v;
    const yMax = niceMax(peak);
    const x = (m: number): number => margin.left + (plotW * m) / Math.max(1, report.minutes - 1);
    const y = (v: number): number => top + panelHeight - (panelHeight * Math.min(v, yMax)) / yMax;
    parts.push(
      `<rect x="${margin.left}" y="${top}" width="${plotW}" height="${panelHeight}" fill="none" stroke="#999"/>`,
    );
    for (let i = 0; i <= 5; i++) {
      const v = (yMax * i) / 5;
      parts.push(
        `<line x1="${margin.left - 4}" x2="${margin.left + plotW}" y1="${y(v)}" y2="${y(v)}" stroke="#eee"/>`,
        `<text x="${margin.left - 8}" y="${y(v) + 4}" text-anchor="end">${Number(v.toPrecision(3))}</text>`,
      );
    }
    const dayStep = days > 7 ? 2 : days > 1 ? 1 : 0.25;
    for (let d = 0; d <= days + 1e-9; d += dayStep) {
      const xm = x(d * 1440);
      parts.push(
        `<line x1="${xm}" x2="${xm}" y1="${top + panelHeight}" y2="${top + panelHeight + 4}" stroke="#333"/>`,
        `<text x="${xm}" y="${top + panelHeight + 16}" text-anchor="middle">${d * 24} h</text>`,
      );
    }
    parts.push(
      `<text x="${margin.left + plotW / 2}" y="${top + panelHeight + 34}" text-anchor="middle">time since trace start</text>`,
      `<text transform="translate(18 ${top + panelHeight / 2}) rotate(-90)" text-anchor="middle">${escapeXml(
        panel === 'cpu' ? 'reader CPU % (capacity: readers x 100 %)' : (UNITS[panel] ?? panel),
      )}</text>`,
    );
    for (const l of lines) {
      const pts = bucketMax(l.values, maxPoints)
        .map(([m, v]) => `${x(m).toFixed(1)},${y(v).toFixed(1)}`)
        .join(' ');
      const dash = l.name === 'static-peak' ? ' stroke-dasharray="6 4"' : '';
      const w = l.name === 'demand' ? 1.2 : 1.6;
      parts.push(
        `<polyline fill="none" stroke="${COLORS[l.name]}" stroke-width="${w}"${dash} points="${pts}"/>`,
      );
    }
    lines.forEach((l, i) => {
      const ly = top + 16 + i * 20;
      const lx = margin.left + plotW + 16;
      parts.push(
        `<line x1="${lx}" x2="${lx + 24}" y1="${ly}" y2="${ly}" stroke="${COLORS[l.name]}" stroke-width="3"/>`,
        `<text x="${lx + 30}" y="${ly + 4}">${escapeXml(l.name === 'demand' ? `demand (${panel})` : `${l.name} capacity`)}</text>`,
      );
    });
  });
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}
