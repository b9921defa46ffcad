// defectforge augment <project> --per-type N --out <dir> [--format mvtec,coco,yolo,anomalib]
// [--types a,b] [--model dir] [--adapt | --no-adapt] [--adapt-steps N] [--no-detail]: the one-click
// augmentation (src/main/augment) from the command line. Adaptation is on by default for
// DefectForge model packages (an adapted package of the same model is reused) and off for SD 1.x
// folders. Jobs run on a job manager over an engine process, as in the app; Ctrl-C cancels the
// running job and the same command continues where it stopped.
import path from 'node:path';
import { EXPORT_FORMATS, parseFormats } from '../../engine/export';
import { throttleProgress } from '../../main/api/throttle';
import { JobManager } from '../../main/jobs/job-manager';
import type { AdaptationOutcome, AdaptChoice, AugmentReport, AugmentRequest } from '../../main/augment';
import { openProject, type Project } from '../../main/store/project';
import { DEFAULT_MODEL_NAME, defaultModelDir } from '../../main/default-model';
import { UserError } from '../../shared/errors';
import type { CliIO, CommandSpec, ParsedArgs } from '../command';
import { withEngine } from '../engine';
import { optionSize } from './train';

export function wholeNumber(name: string, text: string | undefined, min: number): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (text.trim() === '' || !Number.isInteger(n)) throw new UserError('BAD_ARGS', `--${name} must be a whole number (got ${JSON.stringify(text)})`);
  if (n < min) throw new UserError('BAD_COUNT', `--${name} must be >= ${min} (got ${n})`);
  return n;
}

export const listOption = (text: string | undefined): string[] | undefined =>
  text === undefined ? undefined : text.split(',').map((s) => s.trim()).filter((s) => s !== '');

/** Runs the augmentation with a job manager over an engine process; progress lines go to stderr. */
export async function augmentWithEngine(project: Project, req: AugmentRequest, io: CliIO): Promise<AugmentReport> {
  // loaded here, not at start-up: it pulls in the model, imaging and runtime code
  const { runAugment } = await import('../../main/augment');
  return withEngine(io, async (engine) => {
    const jobs = new JobManager(project.db, engine, { progressThrottleMs: 1000 });
    let current = '';
    let unit = 'pair';
    const progress = throttleProgress(
      (step, total) => io.stderr(`${io.stderrIsTTY ? '\r' : ''}${current}: ${unit} ${step}/${total}${io.stderrIsTTY ? '' : '\n'}`),
      io.stderrIsTTY ? 200 : 5000,
    );
    try {
      return await runAugment(project, req, jobs, {
        signal: io.signal,
        onStage: (m) => io.stderr(`${io.stderrIsTTY && current ? '\n' : ''}${m}\n`),
        onProgress: (type, p, stage) => {
          current = type;
          unit = stage === 'synthesize' ? 'pair' : stage === 'adapt' ? 'adaptation step' : 'step';
          progress(p.step, p.total);
        },
      });
    } finally {
      await jobs.close({ cancelRunning: true });
    }
  });
}

/** One line on the adaptation stage: what ran (or was reused) and its measured effect. */
export function describeAdaptation(a: AdaptationOutcome): string {
  if (a.status === 'off') return `adaptation: off (${a.reason ?? 'switched off'})`;
  const psnr = a.adapted && a.adapted.psnrBefore !== null && a.adapted.psnrAfter !== null ? `; VAE PSNR on held-out normals ${a.adapted.psnrBefore.toFixed(2)} -> ${a.adapted.psnrAfter.toFixed(2)} dB` : '';
  const how = a.status === 'ran' ? `ran (job ${a.jobId}, ${a.steps} steps${a.stoppedEarly ? ', stopped early' : ''}, ${(a.seconds ?? 0).toFixed(1)} s)` : `reused version ${a.adapted?.version}`;
  return `adaptation: ${how}${psnr}`;
}

export function formatAugmentReport(r: AugmentReport): string {
  const lines = [`model ${r.model.name} (${r.model.contentHash.slice(0, 12)})`, describeAdaptation(r.adaptation)];
  for (const t of r.types) {
    lines.push(`${t.type}: ${t.exported} pairs exported (${t.existing} existed, ${t.made} made${t.jobs.length ? `, jobs ${t.jobs.join(', ')}` : ''}; ${t.conditioning})`);
  }
  lines.push(`exported ${r.export.formats.join(', ')} to ${r.export.out}: ${r.export.synthetic} synthetic pairs, ${r.export.trainGood} real normal and ${r.export.test} real test images`);
  return lines.join('\n') + '\n';
}

/** --adapt / --no-adapt (not both); neither: 'auto'. */
export function adaptChoice(options: ParsedArgs['options']): AdaptChoice {
  if (options['adapt'] === true && options['no-adapt'] === true) throw new UserError('BAD_ARGS', '--adapt and --no-adapt contradict each other; give one');
  return options['adapt'] === true ? true : options['no-adapt'] === true ? false : 'auto';
}

export function augmentRequest({ options }: ParsedArgs, cwd: string): AugmentRequest {
  const str = (name: string): string | undefined => (typeof options[name] === 'string' ? (options[name] as string) : undefined);
  const perType = wholeNumber('per-type', str('per-type'), 1);
  if (perType === undefined) throw new UserError('BAD_ARGS', '--per-type is required (see defectforge augment --help)');
  const out = str('out');
  if (out === undefined || out === '') throw new UserError('BAD_ARGS', '--out is required (see defectforge augment --help)');
  const types = listOption(str('types'));
  const seed = wholeNumber('seed', str('seed'), 0);
  const steps = wholeNumber('steps', str('steps'), 1);
  const threads = wholeNumber('threads', str('threads'), 1);
  const model = str('model');
  const imageSize = optionSize({ positionals: [], options });
  const learnSteps = wholeNumber('learn-steps', str('learn-steps'), 1);
  const adapt = adaptChoice(options);
  const adaptSteps = wholeNumber('adapt-steps', str('adapt-steps'), 1);
  if (adaptSteps !== undefined && adapt === false) throw new UserError('BAD_ARGS', '--adapt-steps with --no-adapt: adaptation is off, so it takes no steps');
  const learning = {
    ...(learnSteps !== undefined ? { defect: { steps: learnSteps }, mask: { steps: learnSteps } } : {}),
    ...(options['no-learn'] === true ? { mode: 'off' as const } : {}),
  };
  return {
    perType,
    out: path.resolve(cwd, out),
    formats: parseFormats(str('format') ?? 'mvtec'),
    ...(types ? { types } : {}),
    model: model !== undefined ? path.resolve(cwd, model) : defaultModelDir(),
    ...(imageSize ? { imageSize } : {}),
    ...(seed !== undefined ? { seed } : {}),
    ...(steps !== undefined ? { steps } : {}),
    ...(threads !== undefined ? { threads } : {}),
    ...(Object.keys(learning).length > 0 ? { learning } : {}),
    adapt,
    ...(adaptSteps !== undefined ? { adaptation: { steps: adaptSteps } } : {}),
    ...(options['no-detail'] === true ? { restoreDetail: false } : {}),
  };
}

export const augmentCommand: CommandSpec = {
  name: 'augment',
  summary: 'make N synthetic defect pairs per type (running whatever is missing) and export them',
  positionals: [{ name: 'project', description: 'project folder' }],
  options: {
    'per-type': { type: 'string', valueName: 'n', description: 'synthetic pairs per defect type [required]' },
    out: { type: 'string', valueName: 'dir', description: 'output folder, must not exist [required]' },
    format: { type: 'string', valueName: 'list', description: `export formats, comma-separated: ${EXPORT_FORMATS.join(', ')} (default mvtec)` },
    types: { type: 'string', valueName: 'list', description: 'defect types, comma-separated, as category/name or a unique name (default: all)' },
    model: { type: 'string', valueName: 'dir', description: `model folder: a DefectForge package or an SD 1.x ONNX folder (default: the embedded ${DEFAULT_MODEL_NAME})` },
    size: { type: 'string', valueName: 'WxH', description: 'SD 1.x folders exported without a fixed image size: learn and synthesize at this pixel size (default 512x512)' },
    steps: { type: 'string', valueName: 'n', description: 'sampler steps per pair (default 25)' },
    seed: { type: 'string', valueName: 'n', description: 'seed of new synthesis runs (default: a fresh one)' },
    threads: { type: 'string', valueName: 'n', description: 'onnxruntime threads of the engine' },
    'learn-steps': { type: 'string', valueName: 'n', description: 'training steps of defect (and mask) learning for types not learnt yet' },
    'no-learn': { type: 'boolean', description: "skip learning: use the model's own defect rows for the type's name" },
    adapt: { type: 'boolean', description: 'adapt the model to the normal images first (default for model packages; an error for SD 1.x folders)' },
    'no-adapt': { type: 'boolean', description: 'use the model as it is, without adaptation' },
    'adapt-steps': { type: 'string', valueName: 'n', description: 'most adaptation steps; early stopping may end sooner (default 300)' },
    'no-detail': { type: 'boolean', description: "generated regions show the decoder's output, without the normal image's fine detail restored" },
    json: { type: 'boolean', description: 'print the report as JSON' },
  },
  details:
    "First the model is adapted to the project's normal images (DefectForge packages; a model adapted\n" +
    'earlier is reused), then what is missing is learnt and synthesized with the adapted model. Pairs\n' +
    'made earlier with the same model are reused; a stopped run is resumed. The output folder is\n' +
    'written all or nothing. Synthetic pairs are only ever in training folders, never with real test images.',
  async run(args, io) {
    const req = augmentRequest(args, io.cwd);
    const project = openProject(path.resolve(io.cwd, args.positionals[0]!));
    try {
      const report = await augmentWithEngine(project, req, io);
      io.stdout(args.options.json ? JSON.stringify(report, null, 2) + '\n' : formatAugmentReport(report));
    } finally {
      project.close();
    }
  },
};
