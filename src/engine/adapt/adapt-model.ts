// Product adaptation (issue 6, part 2): before defect learning, fine-tune a built-in model on the
// project's train/good images, so that a small model's weak prior learns the product.
//   - the UNet with the plain diffusion loss (eps-MSE, unconditional context), either all its
//     weights ('full') or low-rank adapters on its MatMuls and 1x1/3x3 convs ('lora', ./lora.ts)
//   - the VAE decoder with L1 reconstruction of the same images
// in one training graph (./adapt-graph.ts), one Adam with two learning rates (parameter groups:
// the UNet's `lr`, the decoder's much lower `decoderLr`; both warmed up over `warmupSteps`), on a
// latent cache of augmented copies (flips, crops) of the training normals. A seeded held-out slice
// of the normals is evaluated every `evalEvery` steps on fixed noise and timesteps. The two parts
// share no parameter, so each keeps its own best weights (./best-weights.ts; the base weights at
// step 0 are a candidate): the package gets the best UNet and the best decoder, and a part that
// never improved on the held-out images is the base's, unchanged. Training stops when neither part
// has improved for `patience` evaluations (or after `steps`). Checkpoints, cancel and resume work
// as in defect learning (anomaly/learn-common.ts), the selection travels in the checkpoints, and
// every random draw of step s comes from stepRng(seed, s), so a resumed run repeats the
// uninterrupted one bit for bit.
// The result is a new model package in <project>/models/<name>-adapted-<version>/ (the selected
// weights; LoRA merged into them; when neither part improved it holds the base's weights, so
// augmentation's reuse of an adapted package keeps working and never re-runs a futile adaptation)
// and an 'adapted-model' artifact row whose metrics hold the held-out losses, the selection, and
// the VAE PSNR on the held-out normals before and after.

import path from 'node:path';
import { UserError } from '../../shared/errors';
import { Rng } from '../../shared/random';
import { ensureModelRow } from '../../main/store/artifacts';
import type { Project } from '../../main/store/project';
import type { Checkpoint } from '../autodiff/checkpoint';
import { composeTraining } from '../autodiff/composer';
import { Adam, linearWarmup } from '../autodiff/optim';
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
import { BestWeights, type AdaptPart, type BestByPart } from './best-weights';
import { addLoraAdapters, mergeLora, type LoraAdapter } from './lora';
import { loadTrainNormals, splitNormals } from './normals';
import { openBasePackage, writeAdaptedPackage } from './package';
import { heldOutBatches, trainingBatch, type Example } from './batches';
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
  /** the UNet's Adam learning rate; default 1e-4 for 'full', DEFAULT_LORA_LR for 'lora' */
  lr?: number;
  /** the VAE decoder's Adam learning rate (every decoder weight is trained, so far below the LoRA one) */
  decoderLr: number;
  /** linear learning-rate warm-up of both parts over the first N steps (0: none) */
  warmupSteps: number;
  seed: number;
  /** augmented copies encoded per training normal (the latent cache) */
  variants: number;
  /** share of the normals held out for early stopping and the PSNR figure */
  heldOutFraction: number;
  /** evaluate the held-out loss every N steps */
  evalEvery: number;
  /** stop after this many evaluations in which neither the UNet nor the decoder improved */
  patience: number;
  /** weight of the decoder's L1 term in the summed loss */
  decoderWeight: number;
  checkpointEvery: number;
  augment: AugmentSettings;
}

// Defaults measured on tiny-ldm (issue 6; ball_screw's 28 real normals and the procedural demo's
// wood + hex_nut, 3 and 2 held out): LoRA at 1e-3 lowered the held-out UNet loss on both
// (ball_screw -5.9 % at step 30 of 40; 3e-3 reached -5.2 % and did not improve the demo at all),
// the decoder at 1e-4 lowered its held-out L1 on both (ball_screw 0.0286 -> 0.0242 and PSNR 33.18
// -> 34.51 dB in 80 steps; 3e-5 a little less) while the former shared 1e-3 wrecked it within 2
// steps (0.0286 -> 0.0958). At about 0.5 steps/s, 300 steps is some ten minutes; evaluating every 25 steps costs
// about a tenth of that, and 4 evaluations without progress in either part end the run early.
export const DEFAULT_LORA_LR = 1e-3;
export const DEFAULT_FULL_LR = 1e-4;

export const DEFAULT_ADAPT: AdaptSettings = {
  mode: 'lora',
  rank: 4,
  steps: 300,
  batch: 4,
  decoderLr: 1e-4,
  warmupSteps: 20,
  seed: 0,
  variants: 4,
  heldOutFraction: 0.1,
  evalEvery: 25,
  patience: 4,
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

/** Which weights the package got: each part's best held-out step (0: the base's) and loss. */
export interface AdaptSelection extends BestByPart {
  /** the parts whose held-out loss went below the base's */
  improved: AdaptPart[];
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
  /** held-out loss at step 0 */
  heldOutBefore: HeldOutEval;
  /**
   * the held-out losses of the package written: the best UNet's and the best decoder's, each at
   * its own step (`selection`); `step` is the later of the two
   */
  heldOutBest: HeldOutEval;
  selection: AdaptSelection;
  heldOutFinal: HeldOutEval;
  psnrBefore: number;
  psnrAfter: number;
  stepsPerSecond: number;
}

interface LoopState {
  step: number;
  lossCurve: number[];
  evals: HeldOutEval[];
  /** evaluations since either part last improved */
  sinceBest: number;
  stopped: boolean;
  /** null until the base's held-out losses are measured (step 0) */
  best: BestWeights | null;
}

export async function adaptModel(req: AdaptRequest): Promise<AdaptResult> {
  const settings: AdaptSettings = { ...DEFAULT_ADAPT, ...req.settings };
  checkSettings(settings);
  const lr = settings.lr ?? (settings.mode === 'full' ? DEFAULT_FULL_LR : DEFAULT_LORA_LR);
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
    const partNames: Record<AdaptPart, readonly string[]> = { unet: unetNames, decoder: decoderNames };

    const config = {
      modelHash: facts.contentHash,
      mode: settings.mode,
      ...(settings.mode === 'lora' ? { rank: settings.rank } : {}),
      batch: settings.batch,
      lr,
      decoderLr: settings.decoderLr,
      warmupSteps: settings.warmupSteps,
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
      // the UNet's rate for the UNet (LoRA factors or all its weights), the decoder's for the decoder
      optimizer: new Adam({ lr: linearWarmup(lr, settings.warmupSteps), groups: [{ names: decoderNames, lr: linearWarmup(settings.decoderLr, settings.warmupSteps) }], weightDecay: 0 }),
      keepOutputs: ['unet_loss', 'vae_loss'],
      ...(req.intraOpNumThreads ? { session: { intraOpNumThreads: req.intraOpNumThreads } } : {}),
    });
    try {
      // ---- resume ----
      let state: LoopState = { step: 0, lossCurve: [], evals: [], sinceBest: 0, stopped: false, best: null };
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
        const source = `checkpoint blob ${resume.hash}`;
        const taken = BestWeights.takeFrom(resume.ckpt, partNames, source);
        trainer.restore(taken.trainer, source);
        const meta = resume.ckpt.meta;
        state = {
          step: Number(meta['step']),
          lossCurve: (meta['lossCurve'] as number[]) ?? [],
          evals: (meta['evals'] as HeldOutEval[]) ?? [],
          sinceBest: Number(meta['sinceBest'] ?? 0),
          stopped: false,
          best: taken.best,
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
        state.best!.addTo(trainer.checkpoint({ configKey: key, kind: ADAPT_JOB, step: state.step, lossCurve: state.lossCurve, evals: state.evals, sinceBest: state.sinceBest }));
      if (!state.best) {
        const before = await evaluate(0);
        state.evals.push(before);
        state.best = new BestWeights(partNames, { unet: before.unetLoss, decoder: before.vaeLoss });
      }
      const best = state.best;
      const offer = (e: HeldOutEval): AdaptPart[] => best.offer(e.step, { unet: e.unetLoss, decoder: e.vaeLoss }, trainer.params);
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
          state.evals.push(e);
          state.sinceBest = offer(e).length > 0 ? 0 : state.sinceBest + 1;
          if (state.sinceBest >= settings.patience) {
            state.stopped = true;
            log('info', `adapt: neither the UNet's nor the decoder's held-out loss has improved for ${settings.patience} evaluations; stopping at step ${state.step}`);
          }
        }
        trainedSeconds = (performance.now() - started) / 1000;
        const done = state.step - resumedFromStep;
        req.onProgress?.({ step: state.step, total: settings.steps, loss: result.loss, etaSeconds: (trainedSeconds / done) * (settings.steps - state.step), message: `step ${state.step} of ${settings.steps}` });
        if (settings.checkpointEvery > 0 && state.step % settings.checkpointEvery === 0 && state.step < settings.steps && !state.stopped) {
          storeCheckpoint(project, checkpoint(), req.jobId ?? null);
        }
      }
      let heldOutFinal = state.evals[state.evals.length - 1]!;
      if (heldOutFinal.step !== state.step) {
        // the final weights are a candidate too
        heldOutFinal = await evaluate(state.step);
        state.evals.push(heldOutFinal);
        offer(heldOutFinal);
      }
      const chosen = best.current;
      const selection: AdaptSelection = { ...chosen, improved: (['unet', 'decoder'] as const).filter((p) => chosen[p].step > 0) };
      if (selection.improved.length === 0) {
        log('warn', `adapt: neither the UNet's nor the decoder's held-out loss went below the base model's in ${state.step} steps; the adapted package keeps the base weights`);
      } else {
        for (const part of (['unet', 'decoder'] as const).filter((p) => chosen[p].step === 0)) log('info', `adapt: the ${part}'s held-out loss never went below the base's; the package keeps the base ${part}`);
      }

      // ---- the adapted package ----
      req.onProgress?.({ step: state.step, total: settings.steps, message: 'writing the adapted model package' });
      // each part's selected tensors by their name in its own graph; null: the base's are kept
      const selectedValues = (part: AdaptPart, names: Map<string, string>, wanted: readonly string[]): Map<string, Float32Array> | null => {
        const values = best.values(part);
        return values && new Map(wanted.map((n) => [n, values.get(names.get(n)!)!]));
      };
      const unetValues = selectedValues('unet', graph.unetNames, unetTrained);
      const decoderValues = selectedValues('decoder', graph.decoderNames, decoderTrained);
      const adaptedUnet = !unetValues ? base.graphs.unet : settings.mode === 'lora' ? mergeLora(base.graphs.unet, adapters, unetValues) : withWeights(base.graphs.unet, unetValues);
      const adaptedDecoder = decoderValues ? withWeights(base.graphs.vae_decoder, decoderValues) : base.graphs.vae_decoder;
      const version = nextAdaptedVersion(project);
      const name = `${model.manifest.name}-adapted-${version}`;
      const dir = path.join(project.dir, ADAPTED_MODELS_DIR, name);
      const heldOutBefore = state.evals[0]!;
      const heldOutBest: HeldOutEval = {
        step: Math.max(chosen.unet.step, chosen.decoder.step),
        unetLoss: chosen.unet.loss,
        vaeLoss: chosen.decoder.loss,
        loss: chosen.unet.loss + settings.decoderWeight * chosen.decoder.loss,
      };
      const adaptation = { ...config, steps: state.step, stoppedEarly: state.stopped, heldOutBefore, heldOutBest, heldOutFinal, selection };
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
        metrics: { heldOutBefore, heldOutBest, heldOutFinal, selection, evals: state.evals, lossCurve: state.lossCurve, psnrBefore, psnrAfter, stoppedEarly: state.stopped, stepsPerSecond },
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
        selection,
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
  int('warmupSteps', 0, 1_000_000);
  int('patience', 1, 1000);
  int('checkpointEvery', 0, 1_000_000);
  if (s.lr !== undefined && !(s.lr > 0 && s.lr < 10)) throw new UserError('BAD_PARAMS', `adapt: lr must be in (0, 10) (got ${s.lr})`);
  if (!(s.decoderLr > 0 && s.decoderLr < 10)) throw new UserError('BAD_PARAMS', `adapt: decoderLr must be in (0, 10) (got ${s.decoderLr})`);
  if (!(s.heldOutFraction > 0 && s.heldOutFraction < 1)) throw new UserError('BAD_PARAMS', `adapt: heldOutFraction must be in (0, 1) (got ${s.heldOutFraction})`);
  if (!(s.decoderWeight >= 0 && Number.isFinite(s.decoderWeight))) throw new UserError('BAD_PARAMS', `adapt: decoderWeight must be >= 0 (got ${s.decoderWeight})`);
}
