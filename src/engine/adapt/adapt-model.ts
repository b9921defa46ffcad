// Product adaptation (issue 6, part 2): before defect learning, fine-tune a built-in model on the
// project's train/good images, so that a small model's weak prior learns the product.
//   - the UNet with the plain diffusion loss (eps-MSE, unconditional context), either all its
//     weights ('full') or low-rank adapters on its MatMuls and 1x1/3x3 convs ('lora', ./lora.ts)
//   - the VAE decoder with L1 reconstruction of the same images
// in one training graph (./adapt-graph.ts), Adam, on a latent cache of augmented copies (flips,
// crops) of the training normals. A seeded held-out slice of the normals is evaluated every
// `evalEvery` steps on fixed noise and timesteps; training stops when that held-out loss has not
// improved for `patience` evaluations (or after `steps`). Checkpoints, cancel and resume work as
// in defect learning (anomaly/learn-common.ts), and every random draw of step s comes from
// stepRng(seed, s), so a resumed run repeats the uninterrupted one bit for bit.
// The result is a new model package in <project>/models/<name>-adapted-<version>/ (the final
// weights; LoRA merged into them) and an 'adapted-model' artifact row whose metrics hold the
// held-out losses and the VAE PSNR on the held-out normals before and after.

import path from 'node:path';
import { UserError } from '../../shared/errors';
import { Rng } from '../../shared/random';
import { ensureModelRow } from '../../main/store/artifacts';
import type { Project } from '../../main/store/project';
import type { Checkpoint } from '../autodiff/checkpoint';
import { composeTraining } from '../autodiff/composer';
import { Adam } from '../autodiff/optim';
import { CancelledError } from '../diffusion/blended';
import { imageToTensor, type RgbImage } from '../diffusion/image-tensor';
import { alphasCumprod } from '../diffusion/schedule';
import { loadBuiltinModel } from '../models/builtin/load';
import { NULL_LABEL } from '../models/builtin/token-table';
import { copyModel } from '../onnx/passes/graph-edit';
import type { Model } from '../onnx/ir';
import type { HostTensor } from '../runtime';
import { augmentPair, resizeRgb, type AugmentSettings } from '../anomaly/augment';
import { encoderWeightNames } from '../anomaly/encoder-weights';
import { stepRng } from '../anomaly/inversion-loop';
import { configKey, encodeImages, findResumeCheckpoint, readCheckpointBlob, storeCheckpoint } from '../anomaly/learn-common';
import { buildAdaptGraph } from './adapt-graph';
import { ADAPTED_MODEL_KIND, MANIFEST_MEDIA_TYPE, nextAdaptedVersion, recordAdaptedModel } from './adapted-artifact';
import { addLoraAdapters, mergeLora, type LoraAdapter } from './lora';
import { loadTrainNormals, splitNormals } from './normals';
import { openBasePackage, writeAdaptedPackage } from './package';
import { reconstructionPsnr } from './psnr';

export const ADAPT_JOB = 'adapt';
export const ADAPTED_MODELS_DIR = 'models';

export type AdaptMode = 'full' | 'lora';

export interface AdaptSettings {
  mode: AdaptMode;
  /** LoRA rank r */
  rank: number;
  /** the most training steps (early stopping may end sooner) */
  steps: number;
  batch: number;
  /** Adam learning rate; default 1e-4 for 'full', 1e-3 for 'lora' */
  lr?: number;
  seed: number;
  /** augmented copies encoded per training normal (the latent cache) */
  variants: number;
  /** share of the normals held out for early stopping and the PSNR figure */
  heldOutFraction: number;
  /** evaluate the held-out loss every N steps */
  evalEvery: number;
  /** stop after this many evaluations without improvement */
  patience: number;
  /** weight of the decoder's L1 term in the summed loss */
  decoderWeight: number;
  checkpointEvery: number;
  augment: AugmentSettings;
}

export const DEFAULT_ADAPT: AdaptSettings = {
  mode: 'lora',
  rank: 4,
  steps: 1000,
  batch: 4,
  seed: 0,
  variants: 4,
  heldOutFraction: 0.1,
  evalEvery: 50,
  patience: 5,
  decoderWeight: 1,
  checkpointEvery: 100,
  augment: { flips: true, maxRotationDeg: 0, minCropFraction: 0.75 },
};

export interface AdaptProgress {
  step: number;
  total: number;
  loss?: number;
  etaSeconds?: number;
  message?: string;
}

export interface AdaptRequest {
  project: Project;
  modelDir: string;
  /** only this category's normals (default: every category's) */
  category?: string;
  settings?: Partial<AdaptSettings>;
  resume?: boolean;
  resumeFrom?: string;
  jobId?: number | null;
  signal?: AbortSignal;
  onProgress?: (p: AdaptProgress) => void;
  log?: (level: 'info' | 'warn', message: string) => void;
  intraOpNumThreads?: number;
}

export interface HeldOutEval {
  step: number;
  unetLoss: number;
  vaeLoss: number;
  /** unetLoss + decoderWeight * vaeLoss: the early-stopping criterion */
  loss: number;
}

export interface AdaptResult {
  artifactId: number;
  version: number;
  /** the adapted package's folder and content hash */
  modelDir: string;
  modelHash: string;
  baseModelHash: string;
  mode: AdaptMode;
  steps: number;
  stoppedEarly: boolean;
  resumedFromStep: number;
  trainImages: number;
  heldOutImages: number;
  /** held-out loss at step 0 and the best one seen */
  heldOutBefore: HeldOutEval;
  heldOutBest: HeldOutEval;
  heldOutFinal: HeldOutEval;
  psnrBefore: number;
  psnrAfter: number;
  stepsPerSecond: number;
}

interface Example {
  /** scaled latent [C, h, w] */
  z0: Float32Array;
  /** the image [3, H, W] in [-1, 1] */
  image: Float32Array;
}

interface LoopState {
  step: number;
  lossCurve: number[];
  evals: HeldOutEval[];
  sinceBest: number;
  stopped: boolean;
}

const f32 = (dims: number[], data: Float32Array): HostTensor => ({ dtype: 'float32', dims, data });

export async function adaptModel(req: AdaptRequest): Promise<AdaptResult> {
  const settings: AdaptSettings = { ...DEFAULT_ADAPT, ...req.settings };
  checkSettings(settings);
  const lr = settings.lr ?? (settings.mode === 'full' ? 1e-4 : 1e-3);
  const { project } = req;
  const log = req.log ?? (() => {});
  const split = splitNormals(project, await loadTrainNormals(project, req.category), settings.heldOutFraction, settings.seed, req.category);

  const base = await openBasePackage(req.modelDir);
  try {
    const { model } = base;
    const facts = model.facts;
    const L = facts.contextLength;
    const W = facts.tokenWidth;
    const nullRow = model.tokens.row(NULL_LABEL);
    const nullContext = new Float32Array(L * W);
    for (let i = 0; i < L; i++) nullContext.set(nullRow, i * W);

    // ---- the training graph ----
    let adapters: LoraAdapter[] = [];
    let unet = base.graphs.unet;
    if (settings.mode === 'lora') {
      const lora = addLoraAdapters(base.graphs.unet, settings.rank, settings.seed ^ 0x10ba);
      if (lora.adapters.length === 0) throw new UserError('ADAPT_NO_LAYERS', `${model.dir}: the UNet has no MatMul or 1x1/3x3 Conv with an initializer weight to put adapters on; use --mode full`);
      adapters = lora.adapters;
      unet = lora.model;
    }
    const graph = buildAdaptGraph({
      unet,
      decoder: base.graphs.vae_decoder,
      batch: settings.batch,
      latent: { channels: facts.latentChannels, ...facts.latentSize, scale: facts.latentScale },
      image: facts.imageSize,
      tokenWidth: W,
      nullContext,
      decoderWeight: settings.decoderWeight,
      predictionType: facts.schedule.predictionType,
    });
    const unetTrained = settings.mode === 'lora' ? adapters.flatMap((a) => [a.a, a.b]) : encoderWeightNames(unet);
    const decoderTrained = encoderWeightNames(base.graphs.vae_decoder);
    const inGraph = (names: Map<string, string>, name: string, what: string): string => {
      const n = names.get(name);
      if (!n) throw new Error(`adaptation graph: the ${what} weight '${name}' did not keep its name`);
      return n;
    };
    const unetNames = unetTrained.map((n) => inGraph(graph.unetNames, n, 'UNet'));
    const decoderNames = decoderTrained.map((n) => inGraph(graph.decoderNames, n, 'decoder'));

    const config = {
      modelHash: facts.contentHash,
      mode: settings.mode,
      ...(settings.mode === 'lora' ? { rank: settings.rank } : {}),
      batch: settings.batch,
      lr,
      seed: settings.seed,
      variants: settings.variants,
      heldOutFraction: settings.heldOutFraction,
      evalEvery: settings.evalEvery,
      patience: settings.patience,
      decoderWeight: settings.decoderWeight,
      augment: settings.augment,
      category: req.category ?? null,
      trainImages: split.train.map((n) => n.imageId),
      heldOutImages: split.heldOut.map((n) => n.imageId),
    };
    const key = configKey(config);
    const trainer = await composeTraining(graph.model, {
      loss: 'loss',
      train: [...unetNames, ...decoderNames],
      optimizer: new Adam({ lr, weightDecay: 0 }),
      keepOutputs: ['unet_loss', 'vae_loss'],
      ...(req.intraOpNumThreads ? { session: { intraOpNumThreads: req.intraOpNumThreads } } : {}),
    });
    try {
      // ---- resume ----
      let state: LoopState = { step: 0, lossCurve: [], evals: [], sinceBest: 0, stopped: false };
      const resume = req.resumeFrom
        ? { hash: req.resumeFrom, ckpt: readCheckpointBlob(project, req.resumeFrom) }
        : req.resume
          ? findResumeCheckpoint(project, ADAPT_JOB, key, req.jobId ?? null)
          : undefined;
      if (req.resume && !resume) log('info', 'adapt: no unfinished run with these settings to resume; starting at step 0');
      if (resume) {
        if (resume.ckpt.meta['configKey'] !== key) {
          throw new UserError('CHECKPOINT_MISMATCH', `checkpoint blob ${resume.hash}: written by a run with other settings, images or model; start a new adaptation instead`);
        }
        trainer.restore(resume.ckpt, `checkpoint blob ${resume.hash}`);
        const meta = resume.ckpt.meta;
        state = {
          step: Number(meta['step']),
          lossCurve: (meta['lossCurve'] as number[]) ?? [],
          evals: (meta['evals'] as HeldOutEval[]) ?? [],
          sinceBest: Number(meta['sinceBest'] ?? 0),
          stopped: false,
        };
        log('info', `adapt: resuming at step ${state.step} from checkpoint ${resume.hash.slice(0, 12)}`);
        if (req.jobId != null) storeCheckpoint(project, resume.ckpt, req.jobId);
      }
      const resumedFromStep = state.step;

      // ---- latent caches: augmented training normals, and the held-out normals as they are ----
      req.onProgress?.({ step: state.step, total: settings.steps, message: `encoding ${split.train.length * settings.variants} augmented normal images` });
      const { width: IW, height: IH } = facts.imageSize;
      const augmentRng = new Rng(settings.seed ^ 0x2545f491);
      const trainImages: RgbImage[] = split.train.flatMap((n) =>
        Array.from({ length: settings.variants }, () => {
          // augmentPair keeps a mask inside its crop: one random pixel lets the crop go anywhere
          const dot = new Uint8Array(n.image.width * n.image.height);
          dot[augmentRng.int(dot.length)] = 1;
          return augmentPair(n.image, dot, facts.imageSize, augmentRng, settings.augment).image;
        }),
      );
      const heldImages = split.heldOut.map((n) => resizeRgb(n.image, facts.imageSize));
      const toExamples = async (images: RgbImage[]): Promise<Example[]> => {
        const latents = await encodeImages(model, images, settings.batch, req.signal);
        return images.map((img, i) => ({ z0: latents[i]!, image: imageToTensor(img) }));
      };
      const examples = await toExamples(trainImages);
      const heldOut = await toExamples(heldImages);

      const abar = alphasCumprod(facts.schedule);
      const shapes = { B: settings.batch, C: facts.latentChannels, h: facts.latentSize.height, w: facts.latentSize.width, H: IH, W: IW };
      const evalBatches = heldOutBatches(heldOut, abar, shapes, settings.seed);
      const evaluate = async (step: number): Promise<HeldOutEval> => {
        let unetLoss = 0;
        let vaeLoss = 0;
        for (const feeds of evalBatches) {
          const r = await trainer.gradients(feeds);
          unetLoss += scalar(r.outputs['unet_loss']);
          vaeLoss += scalar(r.outputs['vae_loss']);
        }
        unetLoss /= evalBatches.length;
        vaeLoss /= evalBatches.length;
        return { step, unetLoss, vaeLoss, loss: unetLoss + settings.decoderWeight * vaeLoss };
      };

      // ---- the loop ----
      const checkpoint = (): Checkpoint =>
        trainer.checkpoint({ configKey: key, kind: ADAPT_JOB, step: state.step, lossCurve: state.lossCurve, evals: state.evals, sinceBest: state.sinceBest });
      if (state.evals.length === 0) state.evals.push(await evaluate(0));
      const started = performance.now();
      let trainedSeconds = 0;
      while (state.step < settings.steps && !state.stopped) {
        if (req.signal?.aborted) {
          storeCheckpoint(project, checkpoint(), req.jobId ?? null);
          throw new CancelledError();
        }
        const feeds = trainingBatch(examples, facts.schedule.numTrainTimesteps, abar, shapes, stepRng(settings.seed, state.step + 1));
        const result = await trainer.step(feeds);
        if (!Number.isFinite(result.loss)) throw new UserError('TRAINING_DIVERGED', `adapt: training diverged at step ${state.step + 1} (loss ${result.loss}); lower --lr`);
        state.step += 1;
        state.lossCurve.push(result.loss);
        if (state.step % settings.evalEvery === 0) {
          const e = await evaluate(state.step);
          const best = Math.min(...state.evals.map((x) => x.loss));
          state.evals.push(e);
          state.sinceBest = e.loss < best ? 0 : state.sinceBest + 1;
          if (state.sinceBest >= settings.patience) {
            state.stopped = true;
            log('info', `adapt: held-out loss has not improved for ${settings.patience} evaluations; stopping at step ${state.step}`);
          }
        }
        trainedSeconds = (performance.now() - started) / 1000;
        const done = state.step - resumedFromStep;
        req.onProgress?.({ step: state.step, total: settings.steps, loss: result.loss, etaSeconds: (trainedSeconds / done) * (settings.steps - state.step), message: `step ${state.step} of ${settings.steps}` });
        if (settings.checkpointEvery > 0 && state.step % settings.checkpointEvery === 0 && state.step < settings.steps && !state.stopped) {
          storeCheckpoint(project, checkpoint(), req.jobId ?? null);
        }
      }
      const heldOutFinal = state.evals[state.evals.length - 1]!.step === state.step ? state.evals[state.evals.length - 1]! : await evaluate(state.step);
      if (heldOutFinal !== state.evals[state.evals.length - 1]) state.evals.push(heldOutFinal);

      // ---- the adapted package ----
      req.onProgress?.({ step: state.step, total: settings.steps, message: 'writing the adapted model package' });
      const trainedValues = (names: Map<string, string>, wanted: readonly string[]): Map<string, Float32Array> =>
        new Map(wanted.map((n) => [n, trainer.params.get(names.get(n)!)!]));
      const adaptedUnet = settings.mode === 'lora' ? mergeLora(base.graphs.unet, adapters, trainedValues(graph.unetNames, unetTrained)) : withWeights(base.graphs.unet, trainedValues(graph.unetNames, unetTrained));
      const adaptedDecoder = withWeights(base.graphs.vae_decoder, trainedValues(graph.decoderNames, decoderTrained));
      const version = nextAdaptedVersion(project);
      const name = `${model.manifest.name}-adapted-${version}`;
      const dir = path.join(project.dir, ADAPTED_MODELS_DIR, name);
      const heldOutBefore = state.evals[0]!;
      const heldOutBest = state.evals.reduce((a, b) => (b.loss < a.loss ? b : a));
      const adaptation = { ...config, steps: state.step, stoppedEarly: state.stopped, heldOutBefore, heldOutFinal };
      // the version is unused (no artifact has it): a folder there is a crashed run's leftover
      const manifest = await writeAdaptedPackage({ dir, name, base, unet: adaptedUnet, decoder: adaptedDecoder, adaptation, overwrite: true });

      // ---- measured effect: VAE PSNR on the held-out normals ----
      const psnrBefore = await reconstructionPsnr(model, heldImages, req.signal);
      const adapted = await loadBuiltinModel(dir);
      let psnrAfter: number;
      let modelHash: string;
      try {
        psnrAfter = await reconstructionPsnr(adapted, heldImages, req.signal);
        modelHash = adapted.facts.contentHash;
      } finally {
        await adapted.release();
      }

      // ---- the artifact ----
      const baseId = ensureModelRow(project, { name: facts.name, kind: facts.kind, path: model.dir, contentHash: facts.contentHash, manifest: model.manifest });
      ensureModelRow(project, { name, kind: 'builtin', path: dir, contentHash: modelHash, manifest });
      const blobHash = project.blobs.put(new TextEncoder().encode(JSON.stringify(manifest, null, 2)), MANIFEST_MEDIA_TYPE);
      const stepsPerSecond = state.step > resumedFromStep && trainedSeconds > 0 ? (state.step - resumedFromStep) / trainedSeconds : 0;
      const artifact = recordAdaptedModel(project, {
        modelId: baseId,
        blobHash,
        config: { ...config, steps: state.step, packageDir: path.relative(project.dir, dir).split(path.sep).join('/'), packageName: name, adaptedModelHash: modelHash },
        metrics: { heldOutBefore, heldOutBest, heldOutFinal, evals: state.evals, lossCurve: state.lossCurve, psnrBefore, psnrAfter, stoppedEarly: state.stopped, stepsPerSecond },
        jobId: req.jobId ?? null,
      });
      log('info', `adapt: saved ${ADAPTED_MODEL_KIND} version ${artifact.version} in ${dir} (VAE PSNR ${psnrBefore.toFixed(2)} -> ${psnrAfter.toFixed(2)} dB)`);
      return {
        artifactId: artifact.id,
        version: artifact.version,
        modelDir: dir,
        modelHash,
        baseModelHash: facts.contentHash,
        mode: settings.mode,
        steps: state.step,
        stoppedEarly: state.stopped,
        resumedFromStep,
        trainImages: split.train.length,
        heldOutImages: split.heldOut.length,
        heldOutBefore,
        heldOutBest,
        heldOutFinal,
        psnrBefore,
        psnrAfter,
        stepsPerSecond,
      };
    } finally {
      await trainer.release();
    }
  } finally {
    await base.model.release();
  }
}

function scalar(t: HostTensor | undefined): number {
  return (t!.data as Float32Array)[0]!;
}

/** `model` with some float32 initializers replaced (names as in the model). */
function withWeights(model: Model, values: ReadonlyMap<string, Float32Array>): Model {
  const out = copyModel(model);
  for (const [name, data] of values) {
    const t = out.graph.initializers.get(name)!;
    out.graph.initializers.set(name, { ...t, data: data.slice() });
  }
  return out;
}

interface Shapes {
  B: number;
  C: number;
  h: number;
  w: number;
  H: number;
  W: number;
}

function feedsOf(items: { ex: Example; t: number; noise: Float32Array }[], abar: Float64Array, s: Shapes): Record<string, HostTensor> {
  const per = s.C * s.h * s.w;
  const imagePer = 3 * s.H * s.W;
  const z0 = new Float32Array(s.B * per);
  const noise = new Float32Array(s.B * per);
  const image = new Float32Array(s.B * imagePer);
  const sa = new Float32Array(s.B);
  const sb = new Float32Array(s.B);
  const timestep = new Float32Array(s.B);
  items.forEach(({ ex, t, noise: n }, k) => {
    z0.set(ex.z0, k * per);
    noise.set(n, k * per);
    image.set(ex.image, k * imagePer);
    sa[k] = Math.sqrt(abar[t]!);
    sb[k] = Math.sqrt(1 - abar[t]!);
    timestep[k] = t;
  });
  return {
    z0: f32([s.B, s.C, s.h, s.w], z0),
    noise: f32([s.B, s.C, s.h, s.w], noise),
    sqrt_abar: f32([s.B, 1, 1, 1], sa),
    sqrt_one_minus_abar: f32([s.B, 1, 1, 1], sb),
    timestep: f32([s.B], timestep),
    image: f32([s.B, 3, s.H, s.W], image),
  };
}

/** One training batch: examples, t ~ U{0..T-1} and eps ~ N(0, I), all from the step's Rng. */
function trainingBatch(examples: readonly Example[], T: number, abar: Float64Array, s: Shapes, rng: Rng): Record<string, HostTensor> {
  const per = s.C * s.h * s.w;
  const items = Array.from({ length: s.B }, () => ({ ex: examples[rng.int(examples.length)]!, t: rng.int(T), noise: rng.normals(per) }));
  return feedsOf(items, abar, s);
}

/**
 * The fixed held-out evaluation: each held-out image at 4 stratified timesteps (t_k = (k + 1/2)
 * T / 4, low-variance coverage of the schedule) with noise drawn once from the seed, cycled into
 * whole batches. The same batches every evaluation, so the curve moves only with the weights.
 */
function heldOutBatches(heldOut: readonly Example[], abar: Float64Array, s: Shapes, seed: number): Record<string, HostTensor>[] {
  const per = s.C * s.h * s.w;
  const T = abar.length;
  const levels = 4;
  const rng = new Rng((seed ^ 0x3c6ef372) >>> 0);
  const items = heldOut.flatMap((ex) => Array.from({ length: levels }, (_, k) => ({ ex, t: Math.floor(((k + 0.5) * T) / levels), noise: rng.normals(per) })));
  const batches: Record<string, HostTensor>[] = [];
  for (let start = 0; start < items.length; start += s.B) {
    batches.push(feedsOf(Array.from({ length: s.B }, (_, k) => items[(start + k) % items.length]!), abar, s));
  }
  return batches;
}

function checkSettings(s: AdaptSettings): void {
  const int = (name: keyof AdaptSettings, min: number, max: number): void => {
    const v = s[name];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) throw new UserError('BAD_PARAMS', `adapt: ${name} must be an integer in [${min}, ${max}] (got ${JSON.stringify(v)})`);
  };
  if (s.mode !== 'full' && s.mode !== 'lora') throw new UserError('BAD_PARAMS', `adapt: mode must be 'full' or 'lora' (got ${JSON.stringify(s.mode)})`);
  int('rank', 1, 256);
  int('steps', 1, 1_000_000);
  int('batch', 1, 64);
  int('seed', 0, 2 ** 32 - 1);
  int('variants', 1, 256);
  int('evalEvery', 1, 1_000_000);
  int('patience', 1, 1000);
  int('checkpointEvery', 0, 1_000_000);
  if (s.lr !== undefined && !(s.lr > 0 && s.lr < 10)) throw new UserError('BAD_PARAMS', `adapt: lr must be in (0, 10) (got ${s.lr})`);
  if (!(s.heldOutFraction > 0 && s.heldOutFraction < 1)) throw new UserError('BAD_PARAMS', `adapt: heldOutFraction must be in (0, 1) (got ${s.heldOutFraction})`);
  if (!(s.decoderWeight >= 0 && Number.isFinite(s.decoderWeight))) throw new UserError('BAD_PARAMS', `adapt: decoderWeight must be >= 0 (got ${s.decoderWeight})`);
}
