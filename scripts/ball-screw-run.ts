// The reproducible real-data run of issue 6 on BSData's ball_screw set (../shared/data/bsdata/
// ball_screw beside the repository; --dataset or DEFECTFORGE_BSDATA elsewhere), read only:
//   1. a new project in <out>/project, the dataset imported (referenced as blobs; the import keeps
//      the first third of each defect type's images for learning, the rest held out);
//   2. one-click augmentation with adaptation on: the model adapted on train/good, the defect type
//      learnt on the adapted model, N synthetic pairs, exported to <out>/export/adapted;
//   3. the same with adaptation off (the base model, same seeds), exported to <out>/export/base;
//   4. <out>/run-report.json and run-report.md: the time of each job, the loss curves (PNG charts
//      and small tables), the adaptation's effect (VAE PSNR and held-out loss before/after; the
//      learning's final loss and the synthesis' change inside/outside the mask, base vs adapted)
//      and a grid of the first 16 pairs (normal, mask, synthetic base, synthetic adapted).
// Every stage is a job of the project, run in this process (LocalJobs) by the same functions the
// app and the CLI use.
//   node --import tsx scripts/ball-screw-run.ts --out <dir> [--learn-steps N] [--adapt-steps N]
//        [--pairs N] [--type pitting] [--dataset dir] [--model dir] [--seed N] [--sampler-steps N]
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { writeFileAtomic } from '../src/engine/autodiff/checkpoint';
import type { AdaptMethodResult } from '../src/engine/host/methods/adapt';
import { DEFAULT_ADAPT } from '../src/engine/adapt/adapt-model';
import type { LearnDefectMethodResult } from '../src/engine/host/methods/learn-protocol';
import { configureRuntime } from '../src/engine/runtime';
import { wholeNumber } from '../src/cli/commands/augment';
import { defaultModelDir } from '../src/main/default-model';
import { LocalJobs, resolveTypes, runAugment, type AugmentReport } from '../src/main/augment';
import { importDataset } from '../src/main/import';
import { JobStore } from '../src/main/jobs/job-store';
import { getArtifact } from '../src/main/store/artifacts';
import { createProject, type Project } from '../src/main/store/project';
import { typeSamples } from '../src/main/store/samples';
import { isUserError, UserError } from '../src/shared/errors';
import { writeLineChartPng } from './ball-screw-run/charts';
import { gridPng, meanChange, pairChange, pairPictures, type Tile } from './ball-screw-run/pairs';
import { reportMarkdown, type ArmReport, type JobTiming, type RunReport } from './ball-screw-run/report';

export const DEFAULT_DATASET = process.env['DEFECTFORGE_BSDATA'] ?? path.resolve(import.meta.dirname, '..', '..', 'shared', 'data', 'bsdata', 'ball_screw');
const GRID_PAIRS = 16;

export interface BallScrewOptions {
  dataset: string;
  /** output folder: new, or empty */
  out: string;
  model?: string;
  /** defect type to learn and synthesize ('category/name' or a unique name) */
  type?: string;
  learnSteps?: number;
  adaptSteps?: number;
  pairs?: number;
  seed?: number;
  samplerSteps?: number;
  /** ORT threads of every session */
  threads?: number;
  log?: (line: string) => void;
}

const secondsBetween = (from: string | null, to: string | null): number => (from && to ? (Date.parse(to) - Date.parse(from)) / 1000 : Number.NaN);

function jobTimings(project: Project, stage: string, ids: readonly number[]): JobTiming[] {
  const store = new JobStore(project.db);
  return ids.map((id) => {
    const job = store.get(id)!;
    return { stage, jobId: id, kind: job.kind, seconds: secondsBetween(job.startedAt, job.finishedAt) };
  });
}

/** The learning this run did for the type (null when an earlier artifact was reused). */
function learningOf(project: Project, report: AugmentReport): ArmReport['learning'] {
  const stage = report.types[0]?.learned.defect;
  if (!stage) return null;
  const result = new JobStore(project.db).get(stage.jobId)!.result as LearnDefectMethodResult;
  const curve = getArtifact(project, stage.artifactId)?.metrics['lossCurve'];
  return { jobId: stage.jobId, steps: result.steps, finalLoss: result.finalLoss, lossCurve: Array.isArray(curve) ? (curve as number[]) : [] };
}

async function armReport(project: Project, report: AugmentReport, typeId: number, pairs: number, seconds: number): Promise<{ arm: ArmReport; pictures: Awaited<ReturnType<typeof pairPictures>>[] }> {
  const samples = typeSamples(project, typeId, report.model.contentHash, pairs);
  const pictures = [];
  for (const s of samples) pictures.push(await pairPictures(project, s));
  return {
    arm: { model: report.model, learning: learningOf(project, report), synthesis: meanChange(pictures.map(pairChange)), seconds },
    pictures,
  };
}

export async function runBallScrew(options: BallScrewOptions): Promise<RunReport> {
  const log = options.log ?? (() => {});
  const dataset = path.resolve(options.dataset);
  if (!existsSync(dataset)) throw new UserError('DATASET_MISSING', `${dataset}: the dataset folder is absent`);
  const out = path.resolve(options.out);
  if (existsSync(out) && readdirSync(out).length > 0) throw new UserError('OUT_EXISTS', `${out}: the output folder is not empty; choose a new --out`);
  const opts = { learnSteps: options.learnSteps ?? 500, adaptSteps: options.adaptSteps ?? DEFAULT_ADAPT.steps, pairs: options.pairs ?? 50, seed: options.seed ?? 1, samplerSteps: options.samplerSteps ?? 25 };
  const model = path.resolve(options.model ?? defaultModelDir());
  configureRuntime({ intraOpNumThreads: options.threads ?? 1 });
  const started = performance.now();
  mkdirSync(out, { recursive: true });
  const project = createProject(path.join(out, 'project'), { name: `${path.basename(dataset)} run` });
  try {
    log(`importing ${dataset}`);
    const importStart = performance.now();
    const imported = await importDataset(project, dataset, { layout: 'mvtec' });
    const importSeconds = (performance.now() - importStart) / 1000;
    const type = resolveTypes(project, [options.type ?? 'pitting'])[0]!;
    const jobs = new LocalJobs(project.db, { threads: options.threads ?? 1 });
    const request = {
      perType: opts.pairs,
      formats: ['mvtec'] as const,
      types: [type.label],
      model,
      seed: opts.seed,
      steps: opts.samplerSteps,
      learning: { defect: { steps: opts.learnSteps, previewEvery: 0 } },
    };
    const hooks = { onStage: (m: string) => log(m) };

    // adapted first (adaptation is its first job), then the base model with the same seeds
    const adaptedStart = performance.now();
    // the product's held-out evaluation interval; a short smoke run still evaluates about ten times
    const evalEvery = Math.max(1, Math.min(DEFAULT_ADAPT.evalEvery, Math.floor(opts.adaptSteps / 10)));
    const withAdapt = await runAugment(project, { ...request, out: path.join(out, 'export', 'adapted'), adapt: true, adaptation: { steps: opts.adaptSteps, evalEvery } }, jobs, hooks);
    const adaptedSeconds = (performance.now() - adaptedStart) / 1000;
    const baseStart = performance.now();
    const withoutAdapt = await runAugment(project, { ...request, out: path.join(out, 'export', 'base'), adapt: false }, jobs, hooks);
    const baseSeconds = (performance.now() - baseStart) / 1000;

    log('measuring the pairs and writing the report');
    const adaptedArm = await armReport(project, withAdapt, type.id, opts.pairs, adaptedSeconds);
    const baseArm = await armReport(project, withoutAdapt, type.id, opts.pairs, baseSeconds);
    const a = withAdapt.adaptation;
    const adaptJob = a.jobId !== undefined ? (new JobStore(project.db).get(a.jobId)!.result as AdaptMethodResult) : null;
    const metrics = a.adapted ? (getArtifact(project, a.adapted.artifactId)?.metrics ?? {}) : {};
    const lossCurve = Array.isArray(metrics['lossCurve']) ? (metrics['lossCurve'] as number[]) : [];
    const evals = Array.isArray(metrics['evals']) ? (metrics['evals'] as { step: number; loss: number }[]).map((e) => ({ step: e.step, loss: e.loss })) : [];

    // figures
    const files = { adaptationChart: 'adaptation-loss.png', learningChart: 'learning-loss.png', grid: 'pairs-grid.png', exports: { base: 'export/base', adapted: 'export/adapted' } };
    await writeLineChartPng(path.join(out, files.adaptationChart), {
      title: 'Adaptation loss (UNet eps-MSE + decoder L1)',
      xLabel: 'step',
      yLabel: 'loss',
      series: [
        { name: 'training batch', points: lossCurve.map((l, i) => [i + 1, l]), color: '#1f77b4' },
        { name: 'held-out normals', points: evals.map((e) => [e.step, e.loss]), color: '#d62728' },
      ].filter((s) => s.points.length > 0) as { name: string; points: [number, number][]; color: string }[],
    });
    const curveSeries = (name: string, arm: ArmReport, color: string): { name: string; points: [number, number][]; color: string }[] =>
      arm.learning && arm.learning.lossCurve.length ? [{ name, points: arm.learning.lossCurve.map((l, i): [number, number] => [i + 1, l]), color }] : [];
    await writeLineChartPng(path.join(out, files.learningChart), {
      title: `Defect learning loss: ${type.label}`,
      xLabel: 'step',
      yLabel: 'masked eps-MSE',
      series: [...curveSeries('base model', baseArm.arm, '#7f7f7f'), ...curveSeries('adapted model', adaptedArm.arm, '#2ca02c')],
    });
    const shown = adaptedArm.pictures.slice(0, GRID_PAIRS);
    let matched = 0;
    const rows: Tile[][] = shown.map((p, i) => {
      const base = baseArm.pictures[i];
      const same = base !== undefined && base.normalImageId === p.normalImageId && base.maskBlob === p.maskBlob;
      if (same) matched++;
      return [p.normal, p.mask, same ? base.synthetic : null, p.synthetic];
    });
    await writeFileAtomic(path.join(out, files.grid), await gridPng(rows));

    const report: RunReport = {
      dataset,
      out,
      type: type.label,
      options: opts,
      import: { images: imported.images.imported, masks: imported.masks.imported, seconds: importSeconds },
      adaptation: {
        jobId: a.jobId ?? null,
        status: a.status,
        steps: adaptJob?.steps ?? 0,
        stoppedEarly: adaptJob?.stoppedEarly ?? false,
        trainImages: adaptJob?.trainImages ?? 0,
        heldOutImages: adaptJob?.heldOutImages ?? 0,
        psnrBefore: a.adapted?.psnrBefore ?? null,
        psnrAfter: a.adapted?.psnrAfter ?? null,
        heldOutLossBefore: adaptJob?.heldOutBefore.loss ?? null,
        heldOutLossFinal: adaptJob?.heldOutFinal.loss ?? null,
        lossCurve,
        evals,
      },
      base: baseArm.arm,
      adapted: adaptedArm.arm,
      jobs: [
        { stage: 'import', jobId: null, kind: 'import', seconds: importSeconds },
        ...jobTimings(project, 'adapted', [...(a.jobId !== undefined ? [a.jobId] : []), ...withAdapt.types.flatMap((t) => t.jobs)]),
        ...jobTimings(project, 'base', withoutAdapt.types.flatMap((t) => t.jobs)),
      ],
      gridPairs: shown.length,
      gridMatched: matched,
      files,
      totalSeconds: (performance.now() - started) / 1000,
    };
    const encoder = new TextEncoder();
    await writeFileAtomic(path.join(out, 'run-report.json'), encoder.encode(JSON.stringify(report, null, 2) + '\n'));
    await writeFileAtomic(path.join(out, 'run-report.md'), encoder.encode(reportMarkdown(report)));
    log(`report written to ${path.join(out, 'run-report.md')} (${report.totalSeconds.toFixed(0)} s)`);
    return report;
  } finally {
    project.close();
  }
}

const USAGE = 'usage: ball-screw-run.ts --out <dir> [--learn-steps N] [--adapt-steps N] [--pairs N] [--type name] [--dataset dir] [--model dir] [--seed N] [--sampler-steps N] [--threads N]';

export function parseBallScrewArgs(argv: readonly string[], cwd: string): BallScrewOptions {
  const values = new Map<string, string>();
  const known = ['out', 'learn-steps', 'adapt-steps', 'pairs', 'type', 'dataset', 'model', 'seed', 'sampler-steps', 'threads'];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const eq = arg.indexOf('=');
    const name = arg.startsWith('--') ? arg.slice(2, eq > 0 ? eq : undefined) : '';
    if (!known.includes(name)) throw new UserError('BAD_ARGS', `unknown argument ${JSON.stringify(arg)}\n${USAGE}`);
    const value = eq > 0 ? arg.slice(eq + 1) : argv[++i];
    if (value === undefined) throw new UserError('BAD_ARGS', `--${name} needs a value\n${USAGE}`);
    values.set(name, value);
  }
  const out = values.get('out');
  if (!out) throw new UserError('BAD_ARGS', `--out is required\n${USAGE}`);
  const int = (name: string, min: number): number | undefined => wholeNumber(name, values.get(name), min);
  const opt = <T>(key: string, v: T | undefined): Record<string, T> => (v === undefined ? {} : { [key]: v });
  return {
    out: path.resolve(cwd, out),
    dataset: path.resolve(cwd, values.get('dataset') ?? DEFAULT_DATASET),
    ...opt('model', values.has('model') ? path.resolve(cwd, values.get('model')!) : undefined),
    ...opt('type', values.get('type')),
    ...opt('learnSteps', int('learn-steps', 1)),
    ...opt('adaptSteps', int('adapt-steps', 1)),
    ...opt('pairs', int('pairs', 1)),
    ...opt('seed', int('seed', 0)),
    ...opt('samplerSteps', int('sampler-steps', 1)),
    ...opt('threads', int('threads', 1)),
  };
}

async function main(): Promise<void> {
  try {
    const options = parseBallScrewArgs(process.argv.slice(2), process.cwd());
    if (!existsSync(options.dataset)) {
      console.log(`ball_screw run skipped: ${options.dataset} is absent (BSData is development data, not shipped; pass --dataset <dir> or set DEFECTFORGE_BSDATA)`);
      return;
    }
    await runBallScrew({ ...options, log: (line) => console.error(line) });
  } catch (e) {
    if (isUserError(e)) {
      console.error(e.message);
      process.exitCode = 1;
      return;
    }
    throw e;
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) await main();
