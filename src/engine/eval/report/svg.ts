// Inline SVG line charts for the report (no scripts, no remote content).

export interface Series {
  label: string;
  points: readonly [number, number][];
}

const COLOURS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b'];

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/**
 * A square chart over [0, 1] x [0, 1] (ROC, PR) or over explicit ranges, one polyline per series,
 * with a legend. `diagonal` draws the chance line of a ROC plot.
 */
export function lineChart(
  title: string,
  xLabel: string,
  yLabel: string,
  series: readonly Series[],
  opts: { diagonal?: boolean; xRange?: [number, number]; yRange?: [number, number] } = {},
): string {
  const size = 220, pad = 36, plot = size - 2 * pad + 10;
  const [x0, x1] = opts.xRange ?? [0, 1];
  const [y0, y1] = opts.yRange ?? [0, 1];
  const sx = (x: number): number => pad + ((x - x0) / (x1 - x0 || 1)) * plot;
  const sy = (y: number): number => pad - 10 + plot - ((y - y0) / (y1 - y0 || 1)) * plot;
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${size + 120}" height="${size + 10}" role="img" aria-label="${escapeHtml(title)}">`,
    `<text x="${pad}" y="14" font-size="12" font-weight="bold">${escapeHtml(title)}</text>`,
    `<rect x="${pad}" y="${pad - 10}" width="${plot}" height="${plot}" fill="none" stroke="#888"/>`,
    `<text x="${pad + plot / 2}" y="${size + 4}" font-size="10" text-anchor="middle">${escapeHtml(xLabel)}</text>`,
    `<text x="10" y="${pad - 10 + plot / 2}" font-size="10" text-anchor="middle" transform="rotate(-90 10 ${pad - 10 + plot / 2})">${escapeHtml(yLabel)}</text>`,
    `<text x="${pad}" y="${pad + plot + 2}" font-size="9" text-anchor="middle">${fmtTick(x0)}</text>`,
    `<text x="${pad + plot}" y="${pad + plot + 2}" font-size="9" text-anchor="middle">${fmtTick(x1)}</text>`,
    `<text x="${pad - 4}" y="${pad + plot - 10}" font-size="9" text-anchor="end">${fmtTick(y0)}</text>`,
    `<text x="${pad - 4}" y="${pad - 6}" font-size="9" text-anchor="end">${fmtTick(y1)}</text>`,
  ];
  if (opts.diagonal) parts.push(`<line x1="${sx(0)}" y1="${sy(0)}" x2="${sx(1)}" y2="${sy(1)}" stroke="#bbb" stroke-dasharray="4 3"/>`);
  series.forEach((s, i) => {
    const colour = COLOURS[i % COLOURS.length]!;
    if (s.points.length > 0) {
      const d = s.points.map(([x, y]) => `${sx(x).toFixed(1)},${sy(y).toFixed(1)}`).join(' ');
      parts.push(`<polyline fill="none" stroke="${colour}" stroke-width="1.5" points="${d}"/>`);
    }
    parts.push(`<line x1="${size - 4}" y1="${pad + i * 16}" x2="${size + 14}" y2="${pad + i * 16}" stroke="${colour}" stroke-width="3"/>`);
    parts.push(`<text x="${size + 18}" y="${pad + 4 + i * 16}" font-size="10">${escapeHtml(s.label)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('');
}

function fmtTick(v: number): string {
  return Number.isInteger(v) ? String(v) : v.toPrecision(2);
}
