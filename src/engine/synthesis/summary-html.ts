// The HTML summary of an augmentation: per defect type a grid of rows (normal image, mask,
// synthetic image) with each sample's id and seed. Image paths are relative to the HTML file and
// written with '/', so the page opens from any folder on any platform.

export interface SummaryRow {
  sampleId: number;
  seed: number;
  normal: string;
  mask: string;
  synthetic: string;
}

export interface SummarySection {
  type: string;
  conditioning: string;
  rows: SummaryRow[];
}

const escapeHtml = (s: string): string => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
const src = (p: string): string => escapeHtml(p.split('/').map(encodeURIComponent).join('/'));

export function summaryHtml(title: string, facts: [string, string][], sections: SummarySection[]): string {
  const body = sections
    .map((s) => {
      const rows = s.rows
        .map(
          (r) =>
            `<tr><td>${r.sampleId}<br><small>seed ${r.seed}</small></td>` +
            `<td><img src="${src(r.normal)}" alt="normal"></td><td><img src="${src(r.mask)}" alt="mask"></td><td><img src="${src(r.synthetic)}" alt="synthetic"></td></tr>`,
        )
        .join('\n');
      return `<section><h2>${escapeHtml(s.type)} <small>(${escapeHtml(s.conditioning)}, ${s.rows.length} pairs)</small></h2>
<table><thead><tr><th>sample</th><th>normal</th><th>mask</th><th>synthetic</th></tr></thead><tbody>
${rows}
</tbody></table></section>`;
    })
    .join('\n');
  const factRows = facts.map(([k, v]) => `<tr><th>${escapeHtml(k)}</th><td>${escapeHtml(v)}</td></tr>`).join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<style>
body { font-family: system-ui, sans-serif; margin: 2em; background: #111; color: #eee; }
table { border-collapse: collapse; margin-bottom: 1.5em; }
td, th { padding: 4px 8px; text-align: left; vertical-align: top; }
img { width: 160px; height: 160px; image-rendering: pixelated; background: #000; }
small { color: #aaa; }
</style></head>
<body><h1>${escapeHtml(title)}</h1>
<table>${factRows}</table>
${body}
</body></html>
`;
}
