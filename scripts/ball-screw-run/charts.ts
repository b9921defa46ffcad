// Loss curves as PNG line charts: an SVG drawn here (axes, tick labels, one polyline per series)
// rendered to PNG by sharp. Linear axes; the y range is the series' min..max with 5% margin, so a
// curve that moves little still fills the plot.
import sharp from 'sharp';
import { writeFileAtomic } from '../../src/engine/autodiff/checkpoint';
import { UserError } from '../../src/shared/errors';

export interface Series {
  name: string;
  /** [x, y] points, x increasing */
  points: [number, number][];
  color: string;
}

export interface LineChart {
  title: string;
  xLabel: string;
  yLabel: string;
  series: Series[];
}

const W = 640;
const H = 360;
const PAD = { left: 70, right: 20, top: 36, bottom: 46 };

const escapeXml = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** A short label for a tick value. */
function tick(v: number): string {
  const a = Math.abs(v);
  return a !== 0 && (a < 1e-3 || a >= 1e5) ? v.toExponential(1) : Number(v.toPrecision(3)).toString();
}

export function lineChartSvg(chart: LineChart): string {
  const finite = chart.series.flatMap((s) => s.points).filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
  if (finite.length === 0) throw new UserError('CHART_EMPTY', `chart '${chart.title}': no finite points to draw`);
  let [x0, x1] = [Math.min(...finite.map((p) => p[0])), Math.max(...finite.map((p) => p[0]))];
  let [y0, y1] = [Math.min(...finite.map((p) => p[1])), Math.max(...finite.map((p) => p[1]))];
  if (x1 === x0) [x0, x1] = [x0 - 1, x1 + 1];
  const margin = y1 > y0 ? 0.05 * (y1 - y0) : Math.abs(y0) * 0.05 || 1;
  [y0, y1] = [y0 - margin, y1 + margin];
  const px = (x: number): number => PAD.left + ((x - x0) / (x1 - x0)) * (W - PAD.left - PAD.right);
  const py = (y: number): number => H - PAD.bottom - ((y - y0) / (y1 - y0)) * (H - PAD.top - PAD.bottom);
  const parts: string[] = [`<rect width="${W}" height="${H}" fill="white"/>`];
  for (let i = 0; i <= 4; i++) {
    const yv = y0 + ((y1 - y0) * i) / 4;
    const xv = x0 + ((x1 - x0) * i) / 4;
    parts.push(`<line x1="${PAD.left}" x2="${W - PAD.right}" y1="${py(yv).toFixed(1)}" y2="${py(yv).toFixed(1)}" stroke="#ddd"/>`);
    parts.push(`<text x="${PAD.left - 6}" y="${(py(yv) + 4).toFixed(1)}" text-anchor="end" font-size="11">${tick(yv)}</text>`);
    parts.push(`<text x="${px(xv).toFixed(1)}" y="${H - PAD.bottom + 16}" text-anchor="middle" font-size="11">${tick(xv)}</text>`);
  }
  parts.push(`<rect x="${PAD.left}" y="${PAD.top}" width="${W - PAD.left - PAD.right}" height="${H - PAD.top - PAD.bottom}" fill="none" stroke="#333"/>`);
  chart.series.forEach((s, i) => {
    const pts = s.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
    if (pts.length === 1) parts.push(`<circle cx="${px(pts[0]![0]).toFixed(1)}" cy="${py(pts[0]![1]).toFixed(1)}" r="3" fill="${s.color}"/>`);
    else parts.push(`<polyline fill="none" stroke="${s.color}" stroke-width="1.5" points="${pts.map(([x, y]) => `${px(x).toFixed(1)},${py(y).toFixed(1)}`).join(' ')}"/>`);
    parts.push(`<text x="${W - PAD.right - 4}" y="${PAD.top + 14 + 14 * i}" text-anchor="end" font-size="12" fill="${s.color}">${escapeXml(s.name)}</text>`);
  });
  parts.push(`<text x="${W / 2}" y="22" text-anchor="middle" font-size="14">${escapeXml(chart.title)}</text>`);
  parts.push(`<text x="${W / 2}" y="${H - 10}" text-anchor="middle" font-size="12">${escapeXml(chart.xLabel)}</text>`);
  parts.push(`<text x="16" y="${H / 2}" text-anchor="middle" font-size="12" transform="rotate(-90 16 ${H / 2})">${escapeXml(chart.yLabel)}</text>`);
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif">${parts.join('')}</svg>`;
}

/** Renders the chart to a PNG file (written atomically). */
export async function writeLineChartPng(file: string, chart: LineChart): Promise<void> {
  const png = await sharp(Buffer.from(lineChartSvg(chart))).png().toBuffer();
  await writeFileAtomic(file, png);
}

/** Every `every`-th point of a per-step curve (steps from 1) and the last one: a small table's rows. */
export function curveRows(curve: readonly number[], rows = 10): [number, number][] {
  if (curve.length === 0) return [];
  const every = Math.max(1, Math.ceil(curve.length / rows));
  const out: [number, number][] = [];
  for (let i = every - 1; i < curve.length; i += every) out.push([i + 1, curve[i]!]);
  if (out[out.length - 1]![0] !== curve.length) out.push([curve.length, curve[curve.length - 1]!]);
  return out;
}
