// The run report: its JSON shape (run-report.json) and the same facts as Markdown (run-report.md)
// with small tables of the loss curves beside the PNG charts.
import { curveRows } from './charts';
import type { PairChange } from './pairs';

export interface JobTiming {
  stage: string;
  jobId: number | null;
  kind: string;
  seconds: number;
}

export interface ArmReport {
  /** 'base' or 'adapted' */
  model: { name: string; dir: string; contentHash: string };
  learning: { jobId: number | null; steps: number; finalLoss: number; lossCurve: number[] } | null;
  synthesis: PairChange & { pairs: number };
  seconds: number;
}

export interface RunReport {
  dataset: string;
  out: string;
  type: string;
  options: { learnSteps: number; adaptSteps: number; pairs: number; seed: number; samplerSteps: number };
  import: { images: number; masks: number; seconds: number };
  adaptation: {
    jobId: number | null;
    status: string;
    steps: number;
    stoppedEarly: boolean;
    trainImages: number;
    heldOutImages: number;
    psnrBefore: number | null;
    psnrAfter: number | null;
    heldOutLossBefore: number | null;
    heldOutLossFinal: number | null;
    lossCurve: number[];
    evals: { step: number; loss: number }[];
  };
  base: ArmReport;
  adapted: ArmReport;
  jobs: JobTiming[];
  /** pairs in the grid whose normal image and mask are the same in both runs */
  gridPairs: number;
  gridMatched: number;
  files: { adaptationChart: string; learningChart: string; grid: string; exports: { base: string; adapted: string } };
  totalSeconds: number;
}

const f = (v: number | null | undefined, digits = 4): string => (v === null || v === undefined || !Number.isFinite(v) ? 'n/a' : v.toFixed(digits));
/** losses span 1e-5..1: four significant digits */
const loss = (v: number | null | undefined): string => (v === null || v === undefined || !Number.isFinite(v) ? 'n/a' : v.toPrecision(4));

function curveTable(title: string, curves: [string, readonly number[]][]): string[] {
  const rows = curves.map(([, c]) => curveRows(c));
  const steps = [...new Set(rows.flatMap((r) => r.map(([s]) => s)))].sort((a, b) => a - b);
  const lines = [`| ${title} | ${curves.map(([n]) => n).join(' | ')} |`, `|---:|${curves.map(() => '---:').join('|')}|`];
  for (const s of steps) lines.push(`| ${s} | ${curves.map(([, c]) => (s <= c.length ? loss(c[s - 1]) : '')).join(' | ')} |`);
  return lines;
}

export function reportMarkdown(r: RunReport): string {
  const b = r.base;
  const a = r.adapted;
  const lines = [
    `# DefectForge real-data run: ${r.type}`,
    '',
    `Dataset \`${r.dataset}\` (read only), output \`${r.out}\`.`,
    `Options: adaptation at most ${r.options.adaptSteps} steps, defect learning ${r.options.learnSteps} steps, ${r.options.pairs} synthetic pairs per run, sampler ${r.options.samplerSteps} steps, seed ${r.options.seed}.`,
    `Imported ${r.import.images} images and ${r.import.masks} masks in ${r.import.seconds.toFixed(1)} s; total run time ${r.totalSeconds.toFixed(1)} s.`,
    '',
    '## Time of each job',
    '',
    '| stage | job | kind | seconds |',
    '|---|---:|---|---:|',
    ...r.jobs.map((j) => `| ${j.stage} | ${j.jobId ?? ''} | ${j.kind} | ${j.seconds.toFixed(1)} |`),
    '',
    '## Adaptation',
    '',
    `${r.adaptation.status}: ${r.adaptation.steps} steps${r.adaptation.stoppedEarly ? ' (stopped early)' : ''} on ${r.adaptation.trainImages} train/good images, ${r.adaptation.heldOutImages} held out.`,
    '',
    '| measure (held-out normals) | before | after |',
    '|---|---:|---:|',
    `| VAE PSNR (dB) | ${f(r.adaptation.psnrBefore, 2)} | ${f(r.adaptation.psnrAfter, 2)} |`,
    `| held-out loss (UNet + decoder) | ${loss(r.adaptation.heldOutLossBefore)} | ${loss(r.adaptation.heldOutLossFinal)} |`,
    '',
    `![adaptation loss](${r.files.adaptationChart})`,
    '',
    ...curveTable('step', [['training loss', r.adaptation.lossCurve]]),
    '',
    '## Defect learning and synthesis: base vs adapted model (same seed)',
    '',
    '| | base | adapted |',
    '|---|---:|---:|',
    `| model | ${b.model.name} | ${a.model.name} |`,
    `| learning steps | ${b.learning?.steps ?? 'reused'} | ${a.learning?.steps ?? 'reused'} |`,
    `| learning final loss (mean of the last tenth) | ${loss(b.learning?.finalLoss)} | ${loss(a.learning?.finalLoss)} |`,
    `| pairs | ${b.synthesis.pairs} | ${a.synthesis.pairs} |`,
    `| mean change inside the mask (0-255) | ${f(b.synthesis.inside, 2)} | ${f(a.synthesis.inside, 2)} |`,
    `| mean change outside the mask (0-255) | ${f(b.synthesis.outside, 2)} | ${f(a.synthesis.outside, 2)} |`,
    `| mask alignment (share of change inside) | ${f(b.synthesis.alignment, 3)} | ${f(a.synthesis.alignment, 3)} |`,
    `| learning + synthesis + export (s) | ${b.seconds.toFixed(1)} | ${a.seconds.toFixed(1)} |`,
    '',
    `![defect learning loss](${r.files.learningChart})`,
    '',
    ...curveTable('step', [
      ['base', b.learning?.lossCurve ?? []],
      ['adapted', a.learning?.lossCurve ?? []],
    ]),
    '',
    '## Pairs',
    '',
    `Columns: normal, mask, synthetic (base model), synthetic (adapted model); the first ${r.gridPairs} pairs (${r.gridMatched} with the same normal and mask in both runs).`,
    '',
    `![pairs](${r.files.grid})`,
    '',
    `Exports: \`${r.files.exports.base}\` and \`${r.files.exports.adapted}\` (MVTec layout).`,
    '',
  ];
  return lines.join('\n');
}
