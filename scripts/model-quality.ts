// `npm run model:quality`: measures a built-in model package's quality (issue 5) and writes
// quality.json, quality-grid.png and the marked section of MODEL_CARD.md (see
// src/engine/models/tiny-ldm/quality). Every number is regenerated from the package; seeds are fixed.
//
//   --package DIR            the package (default resources/models/tiny-ldm)
//   --out DIR                where the three files go (default: the package folder; the card is
//                            copied from the package when DIR has none)
//   --samples N              generated samples per defect family (default 32)
//   --steps N                DDIM steps per generation (default 25)
//   --guidance X             classifier-free guidance scale (default 3)
//   --guidance-rescale PHI   guidance rescaling in [0, 1] (default: the package's, else 0)
//   --restore-detail on|off  paste-back adds the original's detail layer (default: as generation does)
//   --inversion-pairs N      image-mask pairs per held-out family (default 10)
//   --inversion-steps N      textual-inversion steps per held-out family (default 400)
//   --classifier-steps N     family classifier training steps (default 400)
//   --classifier-train N     real defects per family the classifier trains on (default 40)
//   --seed N                 (default 2026)
//   --smoke                  a quick check: 1 sample per family, 10 DDIM steps, 20 inversion
//                            steps, 60 classifier steps on 4 real defects per family
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { configureRuntime } from '../src/engine/runtime';
import { DEFAULT_QUALITY, measureModelQuality, type QualityOptions, type QualityOutput } from '../src/engine/models/tiny-ldm/quality/run';
import { RATIO_TARGET } from '../src/engine/models/tiny-ldm/quality/report';
import { isUserError, UserError } from '../src/shared/errors';

const DEFAULT_PACKAGE = path.join(import.meta.dirname, '..', 'resources', 'models', 'tiny-ldm');

const SMOKE: Partial<QualityOptions> = {
  samplesPerFamily: 1,
  sampler: { sampler: 'ddim', steps: 10 },
  inversionSteps: 20,
  classifierTrainPerFamily: 4,
  classifier: { ...DEFAULT_QUALITY.classifier, steps: 60 },
};

/** argv (without node and the script) -> the run's options; `command` is how the card says to rerun it. */
export function parseQualityArgs(argv: readonly string[]): QualityOptions {
  const o: QualityOptions = { ...DEFAULT_QUALITY, packageDir: DEFAULT_PACKAGE, command: ['npm run model:quality', ...(argv.length ? ['--', ...argv] : [])].join(' ') };
  if (argv.includes('--smoke')) Object.assign(o, SMOKE);
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--smoke') continue;
    const text = argv[++i];
    if (text === undefined) throw new UserError('BAD_ARGS', `${a} needs a value`);
    const whole = (min: number): number => {
      const v = Number(text);
      if (!(Number.isInteger(v) && v >= min)) throw new UserError('BAD_ARGS', `${a} must be a whole number >= ${min}, got '${text}'`);
      return v;
    };
    if (a === '--package') o.packageDir = path.resolve(text);
    else if (a === '--out') o.outDir = path.resolve(text);
    else if (a === '--samples') o.samplesPerFamily = whole(1);
    else if (a === '--steps') o.sampler = { ...o.sampler, steps: whole(1) };
    else if (a === '--guidance') {
      const v = Number(text);
      if (!(v >= 1)) throw new UserError('BAD_ARGS', `--guidance must be a number >= 1, got '${text}'`);
      o.guidance = v;
    } else if (a === '--guidance-rescale') {
      const v = Number(text);
      if (!(v >= 0 && v <= 1)) throw new UserError('BAD_ARGS', `--guidance-rescale must be a number in [0, 1], got '${text}'`);
      o.guidanceRescale = v;
    } else if (a === '--restore-detail') {
      if (text !== 'on' && text !== 'off') throw new UserError('BAD_ARGS', `--restore-detail must be 'on' or 'off', got '${text}'`);
      o.pasteBack = { ...o.pasteBack, restoreDetail: text === 'on' };
    } else if (a === '--inversion-pairs') o.inversionPairs = whole(1);
    else if (a === '--inversion-steps') o.inversionSteps = whole(1);
    else if (a === '--classifier-steps') o.classifier = { ...o.classifier, steps: whole(1) };
    else if (a === '--classifier-train') o.classifierTrainPerFamily = whole(1);
    else if (a === '--seed') o.seed = whole(0);
    else throw new UserError('BAD_ARGS', `unknown argument '${a}' (see scripts/model-quality.ts for the options)`);
  }
  return o;
}

/** The script's work: parse, measure, print a summary and the CPU time. */
export async function runModelQuality(argv: readonly string[], print: (line: string) => void = console.log, overrides: Partial<QualityOptions> = {}): Promise<QualityOutput> {
  const options = { ...parseQualityArgs(argv), ...overrides };
  const started = performance.now();
  const out = await measureModelQuality({ ...options, log: options.log ?? print });
  const r = out.report;
  for (const f of r.families) {
    print(`${f.defect.padEnd(13)} ${f.conditioning.padEnd(17)} inside ${f.inside.toFixed(1).padStart(5)}  outside ${f.outside.toFixed(1).padStart(5)}  ratio ${f.ratio.toFixed(1).padStart(5)}${f.ratio >= RATIO_TARGET ? '' : ' (below ' + RATIO_TARGET + ')'}  recall ${(100 * f.classifierRecall).toFixed(0)}%`);
  }
  const c = r.classifier;
  print(`classifier accuracy ${(100 * c.accuracy).toFixed(1)}% (chance ${(100 * c.chance).toFixed(1)}%; token rows ${(100 * c.accuracyTokenRows).toFixed(1)}%, textual inversion ${(100 * c.accuracyTextualInversion).toFixed(1)}%); mask-only control ${(100 * c.maskOnlyAccuracy).toFixed(1)}%`);
  print(`wrote ${out.files.json}, ${out.files.grid}, ${out.files.card}`);
  print(`CPU time ${r.cpuSeconds.toFixed(1)} s (wall ${((performance.now() - started) / 1000).toFixed(1)} s)`);
  return out;
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  configureRuntime({ intraOpNumThreads: 1 });
  runModelQuality(process.argv.slice(2)).catch((e: unknown) => {
    console.error(isUserError(e) ? `error: ${e.message}` : e);
    process.exit(isUserError(e) ? 1 : 2);
  });
}
