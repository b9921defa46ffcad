// report.html: one self-contained page (inline CSS and SVG, pictures as data URIs, a CSP that
// forbids every remote load), readable offline. Tables of image and pixel metrics per defect type
// and generator, generation quality, ROC/PR curves, training pairs and heat maps on real test
// images.
import type { EvalResult, SourceResult, TypeResult } from '../run';
import { DEFINITIONS } from './definitions';
import { heatmapUri, outlinedUri } from './pictures';
import { escapeHtml, lineChart } from './svg';

const fmt = (v: number, digits = 3): string => (Number.isFinite(v) ? v.toFixed(digits) : 'n/a');

/** pixel AUROC with its exact-value interval when the binning leaves one worth showing */
function withBound(v: number, lo: number, hi: number): string {
  return hi - lo >= 0.0005 ? `${fmt(v)} <small>[${fmt(lo)}, ${fmt(hi)}]</small>` : fmt(v);
}

function metricRow(s: SourceResult, t: TypeResult, best: Map<string, number>): string {
  const cell = (key: string, v: number, html = fmt(v)): string => `<td class="${best.get(key) === v && Number.isFinite(v) ? 'best' : ''}">${html}</td>`;
  return (
    `<tr data-type="${escapeHtml(t.defectType)}" data-generator="${escapeHtml(s.name)}">` +
    `<td>${escapeHtml(t.defectType)}</td><td>${escapeHtml(s.name)}</td><td>${t.goodImages} / ${t.defectImages}</td>` +
    cell('iauroc', t.image.auroc) +
    cell('iap', t.image.ap) +
    cell('if1', t.image.f1Max) +
    cell('pauroc', t.pixel.auroc, withBound(t.pixel.auroc, t.pixel.bounds.auroc.lo, t.pixel.bounds.auroc.hi)) +
    cell('pap', t.pixel.ap, withBound(t.pixel.ap, t.pixel.bounds.ap.lo, t.pixel.bounds.ap.hi)) +
    cell('pf1', t.pixel.f1Max, withBound(t.pixel.f1Max, t.pixel.bounds.f1Max.lo, t.pixel.bounds.f1Max.hi)) +
    cell('pro', t.pixel.auPro) +
    '</tr>'
  );
}

function metricsTable(r: EvalResult): string {
  const types = [...r.data.defectTypes, 'all'];
  const rows: string[] = [];
  for (const type of types) {
    const entries = r.sources.map((s) => ({ s, t: s.results.find((x) => x.defectType === type)! }));
    const best = new Map<string, number>();
    const keep = (key: string, v: number): void => {
      if (Number.isFinite(v) && v > (best.get(key) ?? Number.NEGATIVE_INFINITY)) best.set(key, v);
    };
    for (const { t } of entries) {
      keep('iauroc', t.image.auroc); keep('iap', t.image.ap); keep('if1', t.image.f1Max);
      keep('pauroc', t.pixel.auroc); keep('pap', t.pixel.ap); keep('pf1', t.pixel.f1Max); keep('pro', t.pixel.auPro);
    }
    for (const { s, t } of entries) rows.push(metricRow(s, t, best));
  }
  return `<table id="metrics"><thead>
<tr><th rowspan="2">defect type</th><th rowspan="2">generator</th><th rowspan="2">good / defect test images</th><th colspan="3">image level</th><th colspan="4">pixel level</th></tr>
<tr><th>AUROC</th><th>AP</th><th>F1-max</th><th>AUROC</th><th>AP</th><th>F1-max</th><th>AU-PRO</th></tr>
</thead><tbody>
${rows.join('\n')}
</tbody></table>`;
}

function qualityTable(r: EvalResult): string {
  const rows = r.sources.map(
    (s) =>
      `<tr data-generator="${escapeHtml(s.name)}"><td>${escapeHtml(s.name)}</td><td>${escapeHtml(s.description)}</td><td>${s.trainingPairs}</td>` +
      `<td>${fmt(s.quality.maskAlignment)}</td><td>${fmt(s.quality.diversity.appearance)}</td><td>${fmt(s.quality.diversity.mask)}</td>` +
      `<td>${s.steps}</td><td>${fmt(s.losses.at(-1) ?? Number.NaN, 4)}</td></tr>`,
  );
  return `<table id="quality"><thead><tr><th>generator</th><th>what it trains on</th><th>training pairs</th><th>mask alignment</th><th>appearance diversity</th><th>mask diversity</th><th>steps</th><th>final loss</th></tr></thead>
<tbody>${rows.join('\n')}</tbody></table>`;
}

function classifierTables(r: EvalResult): string {
  const withClassifier = r.sources.filter((s) => s.classifier !== null);
  if (withClassifier.length === 0) return '<p>Defect-type classification needs two or more defect types; this category has one.</p>';
  return withClassifier
    .map((s) => {
      const c = s.classifier!;
      const head = `<tr><th>true ↓ predicted →</th>${c.types.map((t) => `<th>${escapeHtml(t)}</th>`).join('')}</tr>`;
      const rows = c.confusion.map((row, i) => `<tr><td>${escapeHtml(c.types[i]!)}</td>${row.map((n, j) => `<td class="${i === j ? 'best' : ''}">${n}</td>`).join('')}</tr>`);
      return `<h3>${escapeHtml(s.name)}: accuracy ${fmt(c.accuracy)}</h3><table class="confusion" data-generator="${escapeHtml(s.name)}"><thead>${head}</thead><tbody>${rows.join('')}</tbody></table>`;
    })
    .join('\n');
}

function curves(r: EvalResult): string {
  const out: string[] = [];
  for (const type of [...r.data.defectTypes, 'all']) {
    const pick = (f: (t: TypeResult) => [number, number][]): { label: string; points: [number, number][] }[] =>
      r.sources.map((s) => ({ label: s.name, points: f(s.results.find((x) => x.defectType === type)!) }));
    out.push(`<h3>${escapeHtml(type)}</h3><div class="charts">`);
    out.push(lineChart(`image ROC: ${type}`, 'false positive rate', 'true positive rate', pick((t) => t.curves.imageRoc), { diagonal: true }));
    out.push(lineChart(`image PR: ${type}`, 'recall', 'precision', pick((t) => t.curves.imagePr)));
    out.push(lineChart(`pixel ROC: ${type}`, 'false positive rate', 'true positive rate', pick((t) => t.curves.pixelRoc), { diagonal: true }));
    out.push(lineChart(`pixel PR: ${type}`, 'recall', 'precision', pick((t) => t.curves.pixelPr)));
    out.push('</div>');
  }
  const losses = r.sources.map((s) => ({ label: s.name, points: s.losses.map((l, i): [number, number] => [i + 1, l]) }));
  const maxLoss = Math.max(...r.sources.flatMap((s) => s.losses.filter(Number.isFinite)), 1e-6);
  out.push(lineChart('training loss (focal)', 'step', 'loss', losses, { xRange: [1, Math.max(2, r.steps)], yRange: [0, maxLoss] }));
  return out.join('\n');
}

async function examples(r: EvalResult): Promise<string> {
  const out: string[] = ['<h2>Training pairs</h2>'];
  for (const s of r.sources) {
    const imgs = await Promise.all(s.examples.pairs.map((p) => outlinedUri(p.picture, p.mask)));
    out.push(`<h3>${escapeHtml(s.name)}</h3><div class="pics">${imgs.map((u) => `<img alt="${escapeHtml(s.name)} training pair" src="${u}">`).join('')}</div>`);
  }
  out.push('<h2>Heat maps on real test images</h2><p>Defect probability (blue 0 to red 1) over held-out test images; white outline = ground truth.</p>');
  const chosen = [
    ...r.data.defectTypes.flatMap((t) => r.data.test.filter((x) => x.defectType === t).slice(0, 3)),
    ...r.data.test.filter((x) => x.defectType === null).slice(0, 1),
  ];
  out.push('<table class="heat"><thead><tr><th>test image</th>' + r.sources.map((s) => `<th>${escapeHtml(s.name)}</th>`).join('') + '</tr></thead><tbody>');
  for (const t of chosen) {
    const cells = await Promise.all(r.sources.map((s) => heatmapUri(t.picture, s.examples.maps.get(t.imageId)!, t.mask)));
    out.push(`<tr><td>${escapeHtml(t.defectType ?? 'good')}<br><small>${escapeHtml(t.sourcePath)}</small></td>${cells.map((u) => `<td><img alt="heat map" src="${u}"></td>`).join('')}</tr>`);
  }
  out.push('</tbody></table>');
  return out.join('\n');
}

export async function reportHtml(r: EvalResult): Promise<string> {
  const s = r.settings;
  const counts = `${r.data.trainGood.length} normal training images, ${r.data.trainDefects.length} real training defects, ${r.data.test.filter((t) => t.defectType === null).length} good and ${r.data.test.filter((t) => t.defectType !== null).length} defective test images`;
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data:; style-src 'unsafe-inline'">
<title>DefectForge evaluation: ${escapeHtml(r.category)}</title>
<style>
body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5em; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; }
th, td { border: 1px solid #ccc; padding: 3px 7px; text-align: right; vertical-align: top; }
th { background: #f0f0f0; } td:nth-child(-n+2) { text-align: left; }
td.best { font-weight: bold; background: #e8f4e8; }
.charts, .pics { display: flex; flex-wrap: wrap; gap: 8px; }
.pics img { image-rendering: pixelated; max-width: 320px; }
.heat img { image-rendering: pixelated; width: 400px; max-width: 40vw; }
dt { font-weight: bold; } small { color: #666; }
</style></head><body>
<h1>Evaluation: ${escapeHtml(r.category)}</h1>
<p>${escapeHtml(counts)} at ${r.width}x${r.height} pixels. Seed ${s.seed}, ${r.steps} training steps per inspector (batch ${s.batch}, Adam lr ${s.lr}), image-score window ${r.poolingWindow}x${r.poolingWindow}, ${s.pairsPerType} synthetic pairs per defect type. Project job ${r.jobId}; onnxruntime ${escapeHtml(r.versions.onnxruntime)}, DefectForge ${escapeHtml(r.versions.app)}.
Rerun with <code>--seed ${s.seed} --steps ${r.steps}</code> for the same numbers.</p>
<h2>Detection and localisation</h2>
${metricsTable(r)}
<h2>Generation quality</h2>
${qualityTable(r)}
<h2>Defect-type classification (trained on generated pairs only)</h2>
${classifierTables(r)}
<h2>Curves</h2>
${curves(r)}
${await examples(r)}
<h2>Definitions</h2>
<dl>${Object.entries(DEFINITIONS).map(([k, v]) => `<dt>${escapeHtml(k)}</dt><dd>${escapeHtml(v)}</dd>`).join('\n')}</dl>
</body></html>
`;
}
