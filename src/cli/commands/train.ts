// defectforge train <project> --type <category/name> [--steps N] [--model dir] [--resume] [--json]:
// learns one defect type (anomaly embedding + the project's spatial encoder) as a 'learn-defect'
// job of the project, run by the same JobManager and engine process the app uses. Progress (step,
// loss, ETA) goes to stderr, the saved artifact to stdout; Ctrl-C cancels after a checkpoint, and
// `--resume` continues the newest unfinished run with the same settings.
import { resolve } from 'node:path';
import { UserError } from '../../shared/errors';
import type { ProgressEvent } from '../../shared/engine-protocol';
import type { LearnDefectMethodResult, LearnDefectParams } from '../../engine/host/methods/learn-protocol';
import { findDefectType } from '../../engine/anomaly/training-set';
import { JobManager } from '../../main/jobs';
import { openProject, type Project } from '../../main/store/project';
import { defaultModelDir } from '../../main/default-model';
import type { CliIO, CommandSpec, ParsedArgs } from '../command';
import { withEngine } from '../engine';


export function optionString(args: ParsedArgs, name: string): string | undefined {
  const v = args.options[name];
  return typeof v === 'string' ? v : undefined;
}

export function optionInteger(args: ParsedArgs, name: string, min: number): number | undefined {
  const v = optionString(args, name);
  if (v === undefined) return undefined;
  const n = Number(v);
  if (v.trim() === '' || !Number.isInteger(n) || n < min) throw new UserError('BAD_ARGS', `--${name} must be a whole number >= ${min} (got ${JSON.stringify(v)})`);
  return n;
}

/**
 * --size WxH: the pixel size an SD 1.x folder with a symbolic image size runs at. Returns
 * undefined when the option is absent.
 */
export function optionSize(args: ParsedArgs, name = 'size'): { width: number; height: number } | undefined {
  const v = optionString(args, name);
  if (v === undefined) return undefined;
  const m = /^\s*(\d+)\s*[xX]\s*(\d+)\s*$/.exec(v);
  const size = m ? { width: Number(m[1]), height: Number(m[2]) } : undefined;
  if (!size || [size.width, size.height].some((d) => d < 8 || d > 4096 || d % 8 !== 0)) {
    throw new UserError('BAD_ARGS', `--${name} must be WIDTHxHEIGHT in pixels, multiples of 8 from 8 to 4096, e.g. 512x512 (got ${JSON.stringify(v)})`);
  }
  return size;
}

export function optionNumber(args: ParsedArgs, name: string): number | undefined {
  const v = optionString(args, name);
  if (v === undefined) return undefined;
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n)) throw new UserError('BAD_ARGS', `--${name} must be a number (got ${JSON.stringify(v)})`);
  return n;
}

/**
 * Runs one job of the project to its end on a fresh engine process, printing progress; Ctrl-C
 * cancels it. Returns the job's result; a failed or cancelled job is a UserError with its reason.
 */
export async function runProjectJob<T>(project: Project, kind: string, params: unknown, io: CliIO, describe: (e: ProgressEvent) => string): Promise<T> {
  return withEngine(io, async (engine) => {
    const manager = new JobManager(project.db, engine, { progressThrottleMs: 1000 });
    let lastPrint = -Infinity;
    let drawn = false;
    try {
      const id = manager.submit(kind, params);
      const unsubscribe = manager.subscribe((u) => {
        if (u.jobId !== id || !u.progress) return;
        const now = Date.now();
        const final = u.progress.step >= u.progress.total;
        if (!final && now - lastPrint < (io.stderrIsTTY ? 200 : 2000)) return;
        lastPrint = now;
        if (io.stderrIsTTY) {
          io.stderr(`\r${describe(u.progress)}`);
          drawn = true;
        } else io.stderr(`${describe(u.progress)}\n`);
      });
      const onAbort = (): void => {
        manager.cancel(id, 'cancelled (Ctrl-C)');
      };
      io.signal.addEventListener('abort', onAbort, { once: true });
      const job = await manager.waitFor(id);
      io.signal.removeEventListener('abort', onAbort);
      unsubscribe();
      if (drawn) io.stderr('\n');
      if (job.state === 'cancelled') throw new UserError('CANCELLED', `job ${id} cancelled; its last checkpoint is kept: run again with --resume to continue`);
      if (job.state !== 'succeeded') throw new UserError('JOB_FAILED', `job ${id} (${kind}) failed: ${job.error ?? 'unknown reason'}`);
      return job.result as T;
    } finally {
      await manager.close({ cancelRunning: true });
    }
  });
}

export function describeTrainingProgress(e: ProgressEvent): string {
  if (e.loss === undefined) return e.message ?? `step ${e.step}/${e.total}`;
  const eta = e.etaSeconds !== undefined ? `, ETA ${Math.ceil(e.etaSeconds)} s` : '';
  return `step ${e.step}/${e.total}  loss ${e.loss.toFixed(5)}${eta}`;
}

export const trainCommand: CommandSpec = {
  name: 'train',
  summary: 'learn a defect type from its training images (anomaly embedding + spatial encoder)',
  positionals: [{ name: 'project', description: 'project folder' }],
  options: {
    type: { type: 'string', valueName: 'category/name', description: 'the defect type to learn [required]' },
    steps: { type: 'string', valueName: 'n', description: 'training steps (default 500)' },
    model: { type: 'string', valueName: 'dir', description: 'model folder: a DefectForge package or an SD 1.x ONNX folder (default: the installed default model)' },
    size: { type: 'string', valueName: 'WxH', description: 'SD 1.x folders exported without a fixed image size: learn at this pixel size (default 512x512)' },
    seed: { type: 'string', valueName: 'n', description: 'random seed (default 0)' },
    lr: { type: 'string', valueName: 'x', description: "Adam learning rate of the anomaly embedding (default 0.02)" },
    'encoder-lr': { type: 'string', valueName: 'x', description: "Adam learning rate of the spatial encoder (default 0.002)" },
    batch: { type: 'string', valueName: 'n', description: 'batch size (default 4)' },
    variants: { type: 'string', valueName: 'n', description: 'augmented copies encoded per training image (default 8)' },
    family: { type: 'string', valueName: 'label', description: 'a texture/product family of the model for the context' },
    'preview-every': { type: 'string', valueName: 'n', description: 'a preview image every n steps, 0 = none (default 100)' },
    resume: { type: 'boolean', description: 'continue the newest unfinished run with the same settings' },
    json: { type: 'boolean', description: 'print the result as JSON' },
  },
  details: 'Trains on the type\'s training split only. The result is stored in the project as the next\nversion of the type\'s anomaly embedding.',
  async run(args, io) {
    const typeSpec = optionString(args, 'type');
    if (!typeSpec) throw new UserError('BAD_ARGS', '--type is required (category/name; see defectforge train --help)');
    const project = openProject(resolve(io.cwd, args.positionals[0]!));
    try {
      const type = findDefectType(project, typeSpec);
      const model = optionString(args, 'model');
      // imageSize: SD 1.x folders with a symbolic size (learnDefect's `imageSize` setting)
      const params: LearnDefectParams = { project: project.dir, type: type.label, model: model ? resolve(io.cwd, model) : defaultModelDir() };
      const numbers = { steps: optionInteger(args, 'steps', 1), seed: optionInteger(args, 'seed', 0), batch: optionInteger(args, 'batch', 1), variants: optionInteger(args, 'variants', 1), previewEvery: optionInteger(args, 'preview-every', 0), lr: optionNumber(args, 'lr'), encoderLr: optionNumber(args, 'encoder-lr') };
      for (const [k, v] of Object.entries(numbers)) if (v !== undefined) (params as unknown as Record<string, number>)[k] = v;
      const family = optionString(args, 'family');
      if (family) params.family = family;
      const size = optionSize(args);
      if (size) params.imageSize = size;
      if (args.options.resume) params.resume = true;
      const result = await runProjectJob<LearnDefectMethodResult>(project, 'learn-defect', params, io, describeTrainingProgress);
      if (args.options.json) {
        io.stdout(JSON.stringify(result, null, 2) + '\n');
        return;
      }
      io.stdout(
        [
          `${result.defectType}: anomaly embedding version ${result.version} (artifact ${result.artifactId})`,
          `steps ${result.steps}${result.resumedFromStep ? ` (resumed at ${result.resumedFromStep})` : ''}, final loss ${result.finalLoss.toFixed(5)}, ${result.stepsPerSecond.toFixed(1)} steps/s, ${result.seconds.toFixed(1)} s`,
          `model ${result.modelHash.slice(0, 12)}, ${result.trainingPairs} training image(s)`,
        ].join('\n') + '\n',
      );
    } finally {
      project.close();
    }
  },
};
