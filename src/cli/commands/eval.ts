// defectforge eval <project> --generators none,cutpaste,perlin[,diffusion] [--category C]
//   [--seed S] [--budget-minutes M | --steps N] [--pairs N] [--out dir]
// Trains one inspector per generator and writes report.html + report.json (default folder:
// <project>/exports/eval-<category>-<job id>). Progress on stderr, the summary table on stdout.
import { join, resolve } from 'node:path';
import { UserError } from '../../shared/errors';
import { writeFileAtomic } from '../../main/api/atomic-file';
import { appVersion } from '../../main/store/app-version';
import { openProject } from '../../main/store/project';
import type { CliIO, CommandSpec } from '../command';
import type { EvalResult } from '../../engine/eval/run';

function numberOption(name: string, value: string | boolean | undefined, integer: boolean): number | undefined {
  if (value === undefined || typeof value === 'boolean') return undefined;
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || (integer && !Number.isInteger(n))) {
    throw new UserError('BAD_ARGS', `--${name} must be ${integer ? 'a whole number' : 'a number'} (got ${JSON.stringify(value)})`);
  }
  return n;
}

export const evalCommand: CommandSpec = {
  name: 'eval',
  summary: 'compare generators by the inspection model their data trains (report.html + report.json)',
  positionals: [{ name: 'project', description: 'project folder (with an imported MVTec-style category)' }],
  options: {
    generators: { type: 'string', valueName: 'list', description: 'comma-separated: none, cutpaste, perlin, diffusion (default none,cutpaste,perlin)' },
    category: { type: 'string', valueName: 'name', description: 'category to evaluate (needed when the project has several)' },
    seed: { type: 'string', valueName: 'n', description: 'seed of pairs, training and initial weights (default 0)' },
    'budget-minutes': { type: 'string', valueName: 'm', description: 'training minutes per inspector; the step count is set from the first inspector (default 4)' },
    steps: { type: 'string', valueName: 'n', description: 'fixed training steps per inspector instead of a time budget (reproducible anywhere)' },
    pairs: { type: 'string', valueName: 'n', description: 'synthetic pairs per defect type and generator (default 100)' },
    'classifier-steps': { type: 'string', valueName: 'n', description: 'training steps of the defect-type classifier (default 150; needs 2+ defect types)' },
    size: { type: 'string', valueName: 'px', description: 'working resolution: about size x size pixels, aspect ratio of the images kept (default 128)' },
    out: { type: 'string', valueName: 'dir', description: 'folder for report.html and report.json (default <project>/exports/eval-<category>-<job>)' },
    json: { type: 'boolean', description: 'print report.json to stdout instead of the table' },
    model: { type: 'string', valueName: 'dir', description: "advanced: model package of the 'diffusion' generator (default: the model its learned types were trained against)" },
  },
  details:
    "'none' trains on the real training defects only (the first third of each type); the test set is test/good plus the other two thirds. Same seed and --steps give the same numbers on CPU.",
  async run({ positionals, options }, io) {
    const { EVAL_DEFAULTS, runEvaluation } = await import('../../engine/eval/run');
    const { reportJson, stringifyReport } = await import('../../engine/eval/report/json');
    const { reportHtml } = await import('../../engine/eval/report/html');
    const settings = {
      ...EVAL_DEFAULTS,
      generators: (options.generators as string | undefined) ?? 'none,cutpaste,perlin',
      seed: numberOption('seed', options.seed, true) ?? EVAL_DEFAULTS.seed,
      budgetMinutes: numberOption('budget-minutes', options['budget-minutes'], false) ?? EVAL_DEFAULTS.budgetMinutes,
      pairsPerType: numberOption('pairs', options.pairs, true) ?? EVAL_DEFAULTS.pairsPerType,
      classifierSteps: numberOption('classifier-steps', options['classifier-steps'], true) ?? EVAL_DEFAULTS.classifierSteps,
      pixels: (numberOption('size', options.size, true) ?? Math.sqrt(EVAL_DEFAULTS.pixels)) ** 2,
    };
    const steps = numberOption('steps', options.steps, true);
    const category = options.category as string | undefined;
    const project = openProject(resolve(io.cwd, positionals[0]!));
    try {
      const result = await runEvaluation(
        project,
        {
          ...settings,
          ...(steps !== undefined ? { steps } : {}),
          ...(category !== undefined ? { category } : {}),
          ...(typeof options.model === 'string' ? { model: resolve(io.cwd, options.model) } : {}),
        },
        { log: (m) => io.stderr(`${m}\n`), onStep: stepPrinter(io), signal: io.signal, appVersion: appVersion() },
      );
      const outDir = options.out !== undefined ? resolve(io.cwd, options.out as string) : join(project.dir, 'exports', `eval-${result.category}-${result.jobId}`);
      const json = reportJson(result);
      writeFileAtomic(join(outDir, 'report.json'), stringifyReport(json));
      writeFileAtomic(join(outDir, 'report.html'), await reportHtml(result));
      io.stderr(`wrote ${join(outDir, 'report.html')} and report.json\n`);
      io.stdout(options.json ? stringifyReport(json) : formatSummary(result));
    } finally {
      project.close();
    }
  },
};

/** A line every 25 steps (or a redrawn line on a terminal). */
function stepPrinter(io: CliIO): (source: string, step: number, total: number, loss: number) => void {
  return (source, step, total, loss) => {
    const text = `${source}: step ${step}/${total === Number.MAX_SAFE_INTEGER ? '?' : total} loss ${loss.toFixed(4)}`;
    if (io.stderrIsTTY) io.stderr(`\r${text}${step === total ? '\n' : ''}`);
    else if (step % 25 === 0 || step === total) io.stderr(`${text}\n`);
  };
}

export function formatSummary(r: EvalResult): string {
  const f = (v: number): string => (Number.isFinite(v) ? (100 * v).toFixed(1) : 'n/a');
  const header = ['defect type', 'generator', 'img AUROC', 'img AP', 'img F1', 'px AUROC', 'px AP', 'px F1', 'AU-PRO'];
  const rows = [header];
  for (const type of [...r.data.defectTypes, 'all']) {
    for (const s of r.sources) {
      const t = s.results.find((x) => x.defectType === type)!;
      rows.push([type, s.name, f(t.image.auroc), f(t.image.ap), f(t.image.f1Max), f(t.pixel.auroc), f(t.pixel.ap), f(t.pixel.f1Max), f(t.pixel.auPro)]);
    }
  }
  const widths = header.map((_, c) => Math.max(...rows.map((row) => row[c]!.length)));
  const lines = rows.map((row) => row.map((cell, c) => (c < 2 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  '));
  return `${r.category}: ${r.steps} steps per inspector at ${r.width}x${r.height}, seed ${r.settings.seed} (values in %)\n${lines.join('\n')}\n`;
}
