// Few-shot defect learning (METHOD.md, masked textual inversion): for one defect type, train its
// anomaly embedding e_a (defectTokens vectors) together with the project's spatial encoder E on
// the type's training pairs, with
//   L = mean over latent cells of m' * (eps - eps_theta(z_t, t, [family | e_a | E(m)]))^2
// in ONE ONNX graph (E + context + frozen UNet + loss, differentiated by the composer), Adam
// (lr 0.02, batch 4, no weight decay). The pairs are augmented K times each (flips, rotation,
// crops keeping the whole mask) and encoded once (latent cache). Progress after every step, a
// preview (a short blended generation) every N steps, checkpoints every N steps and on cancel,
// resume from the last checkpoint of an unfinished job, and at the end a versioned artifact (the
// embedding file: e_a, E's weights, config, loss curve, model hash) in the project.
//
// The model-specific parts (which E, which context layout, which frozen networks between the
// context rows and eps: a built-in package's UNet, or an SD 1.x folder's text encoder + UNet) come
// from ./defect-backend; this file is the same for both.
//
// E is shared by the project's defect types: it starts from the newest anomaly embedding of the
// project trained against the same model (any type), else from the model's own encoder; each
// type's artifact keeps the E it was trained with, so its generations never change afterwards.

import path from 'node:path';
import { UserError } from '../../shared/errors';
import { Rng } from '../../shared/random';
import { ensureModelRow, latestArtifact, listArtifacts, recordArtifact } from '../../main/store/artifacts';
import type { Project } from '../../main/store/project';
import { composeTraining } from '../autodiff/composer';
import { Adam } from '../autodiff/optim';
import { DEFAULT_AAR } from '../diffusion/aar';
import { generateBlended } from '../diffusion/blended';
import { maskToLatent } from '../diffusion/latent-mask';
import { encodePng } from '../imaging';
import { checkImageSize } from '../models/load';
import type { Size2 } from '../models/types';
import { augmentPair, DEFAULT_AUGMENT, resizeRgb, type AugmentSettings } from './augment';
import { openDefectBackend } from './defect-backend';
import { createEncoderRunner } from './encoder-session';
import { decodeEmbedding, encodeEmbedding } from './embedding-file';
import { probeLoss, runInversionLoop, type CachedExample, type LoopSettings, type LoopShapes, type LoopState } from './inversion-loop';
import { configKey, EMBEDDING_MEDIA_TYPE, encodeImages, resumeLearning, storeCheckpoint } from './learn-common';
import { findDefectType, loadNormalImage, loadTrainingPairs } from './training-set';

export const LEARN_DEFECT_JOB = 'learn-defect';
/** the project's folder for training models written to disk (relative to the project folder) */
export const TRAINING_WORK_DIR = path.join('cache', 'training');

export interface LearnDefectSettings {
  steps: number;
  batch: number;
  lr: number;
  /** the spatial encoder's learning rate (e_a uses `lr`) */
  encoderLr: number;
  seed: number;
  /** augmented variants encoded per training pair (the latent cache) */
  variants: number;
  augment: AugmentSettings;
  /** a family label of the model for the context's first slot ('<null>' when absent); built-in packages only */
  family?: string;
  checkpointEvery: number;
  /** a preview image every N steps (0: none) */
  previewEvery: number;
  previewSteps: number;
  /**
   * SD 1.x folders whose export leaves the image size symbolic: the pixel size to learn at
   * (default 512x512); the same as the request's imageSize (a setting, so the engine's job
   * params carry it)
   */
  imageSize?: Size2;
}

export const DEFAULT_LEARN_DEFECT: LearnDefectSettings = {
  steps: 500,
  batch: 4,
  lr: 0.02,
  encoderLr: 0.002,
  seed: 0,
  variants: 8,
  augment: DEFAULT_AUGMENT,
  checkpointEvery: 50,
  previewEvery: 100,
  previewSteps: 10,
};

export interface LearnProgress {
  step: number;
  total: number;
  loss?: number;
  etaSeconds?: number;
  message?: string;
  /** blob hash of a preview PNG */
  preview?: string;
}

export interface LearnDefectRequest {
  project: Project;
  /** 'category/name' */
  type: string;
  modelDir: string;
  settings?: Partial<LearnDefectSettings>;
  /** resume from the newest matching checkpoint of an unfinished learn-defect job */
  resume?: boolean;
  /** resume from this checkpoint blob */
  resumeFrom?: string;
  jobId?: number | null;
  signal?: AbortSignal;
  onProgress?: (p: LearnProgress) => void;
  log?: (level: 'info' | 'warn', message: string) => void;
  /** ORT threads for the training session */
  intraOpNumThreads?: number;
  /** SD 1.x folders whose export leaves the image size symbolic: the pixel size to learn at (default 512x512) */
  imageSize?: Size2;
}

export interface LearnDefectResult {
  defectType: string;
  artifactId: number;
  version: number;
  blobHash: string;
  modelHash: string;
  steps: number;
  /** mean loss of the last tenth of the steps */
  finalLoss: number;
  /** training steps per second of this session (the latent cache and previews excluded) */
  stepsPerSecond: number;
  resumedFromStep: number;
  trainingPairs: number;
  /** the probe loss (inversion-loop.ts) of the starting and the final parameters */
  probeLoss: { start: number; end: number };
}

/**
 * A final probe loss above this multiple of the starting one means learning made the fit of the
 * training pairs worse: the run diverged (measured: the spatial encoder at lr 0.02 on a UNet
 * trained in session 4 tripled the loss and disturbed the whole image), and the user is warned.
 */
export const PROBE_RISE_WARNING = 1.25;

export async function learnDefect(req: LearnDefectRequest): Promise<LearnDefectResult> {
  const settings: LearnDefectSettings = { ...DEFAULT_LEARN_DEFECT, ...req.settings };
  checkSettings(settings);
  const imageSize = req.imageSize ?? settings.imageSize;
  if (imageSize !== undefined) checkImageSize('learn-defect: imageSize', imageSize);
  const { project } = req;
  const log = req.log ?? (() => {});
  const type = findDefectType(project, req.type);
  const { pairs, skipped } = await loadTrainingPairs(project, type);
  if (skipped.length) log('warn', `${type.label}: ${skipped.length} training image(s) have no mask and are skipped: ${skipped.join(', ')}`);

  // SD 1.x training models go to disk under the project's cache (removed when the trainer is released)
  const backend = await openDefectBackend(req.modelDir, { family: settings.family, imageSize, trainingWorkDir: path.join(project.dir, TRAINING_WORK_DIR) });
  try {
    const { model } = backend;
    const facts = model.facts;
    const { anomalyTokens: k, spatialTokens: n, tokenWidth: W } = backend;
    const modelId = ensureModelRow(project, backend.modelRow);

    // ---- the one training graph ----
    const graph = await backend.trainingGraph(settings.batch);
    const encoderNames = [...graph.encoderWeights.keys()];
    // E starts from the project's newest encoder for this model, else from the model's own (SD 1.x: DefectForge's initial E)
    const shared = listArtifacts(project, 'anomaly-embedding', modelId)[0];
    const initial: Record<string, Float32Array> = { e_a: backend.initialAnomaly(settings.seed) };
    if (shared) {
      const saved = decodeEmbedding(project.blobs.read(shared.blobHash), `artifact ${shared.id}`);
      for (const [trainingName, name] of graph.encoderWeights) {
        const w = saved.spatialEncoder?.[name];
        if (w) initial[trainingName] = w.data;
      }
    }
    const encoderInit = shared ? `artifact ${shared.id}` : 'model';
    const config = {
      defectType: type.label,
      defectTypeId: type.id,
      modelHash: facts.contentHash,
      batch: settings.batch,
      lr: settings.lr,
      encoderLr: settings.encoderLr,
      seed: settings.seed,
      variants: settings.variants,
      augment: settings.augment,
      ...backend.layoutConfig,
      encoderInit,
      trainingImages: pairs.map((p) => p.imageId),
    };
    const key = configKey(config);
    const trainer = await composeTraining(graph.model, {
      loss: 'loss',
      train: ['e_a', ...encoderNames],
      optimizer: new Adam({ lr: settings.lr, groups: [{ names: encoderNames, lr: settings.encoderLr }], weightDecay: 0 }),
      initial,
      ...backend.trainingStorage(),
      ...(req.intraOpNumThreads ? { session: { intraOpNumThreads: req.intraOpNumThreads } } : {}),
    });
    const encoder = backend.encoder(1);
    const runner = await createEncoderRunner(encoder, [...graph.encoderWeights.values()], backend.encoderImage);
    try {
      // ---- resume ----
      const state: LoopState = resumeLearning(project, trainer, req, { jobKind: LEARN_DEFECT_JOB, key, label: type.label, what: '', recordOnJob: true }, log);

      // ---- latent cache: K augmented variants per pair, encoded once ----
      req.onProgress?.({ step: state.step, total: settings.steps, message: `encoding ${pairs.length * settings.variants} augmented training images` });
      const augmentRng = new Rng(settings.seed ^ 0x2545f491);
      const variants = pairs.flatMap((p) => Array.from({ length: settings.variants }, () => augmentPair(p.image, p.mask, facts.imageSize, augmentRng, settings.augment)));
      const latents = await encodeImages(model, variants.map((v) => v.image), settings.batch, req.signal);
      const examples: CachedExample[] = variants.map((v, i) => {
        let lossMask = maskToLatent(v.mask, facts.imageSize, facts.latentSize, 'majority');
        // a defect thinner than half a latent cell: the cells it touches
        if (!lossMask.some((x) => x > 0)) lossMask = maskToLatent(v.mask, facts.imageSize, facts.latentSize, 'any');
        return { z0: latents[i]!, lossMask, encoderMask: backend.encoderInput(v.mask) };
      });

      // ---- preview: a short blended generation with the current e_a and E ----
      const normal = await loadNormalImage(project, type.category);
      const previewImage = resizeRgb(normal?.image ?? pairs[0]!.image, facts.imageSize);
      const previewMask = variants[0]!.mask;
      const previewEncoderMask = backend.encoderInput(previewMask);
      const preview = async (): Promise<string> => {
        const weights = new Map([...graph.encoderWeights].map(([trainingName, name]) => [name, trainer.params.get(trainingName)!]));
        const spatial = await runner.tokens(previewEncoderMask, weights);
        const injected = new Float32Array((k + n) * W);
        injected.set(trainer.params.get('e_a')!, 0);
        injected.set(spatial, k * W);
        const result = await generateBlended(model, {
          normal: previewImage,
          mask: previewMask,
          conditioning: backend.previewConditioning(injected),
          seed: settings.seed,
          sampler: { sampler: 'ddim', steps: settings.previewSteps, eta: 0 },
          guidanceScale: 1,
          aar: { ...DEFAULT_AAR, enabled: false },
        }, req.signal ? { signal: req.signal } : {});
        return project.blobs.put(await encodePng(result.image), 'image/png');
      };

      const shapes: LoopShapes = { latent: { channels: facts.latentChannels, ...facts.latentSize }, image: backend.encoderImage };
      const loopSettings: LoopSettings = { ...settings, sharedTimestep: backend.sharedTimestep };
      // a checkpoint without it (written before the probe existed) probes where it resumes
      const probeStart = state.probeStart ?? (await probeLoss(trainer, examples, facts.schedule, shapes, loopSettings));

      let lastSeconds = 0;
      let previewSeconds = 0;
      const final = await runInversionLoop(
        trainer,
        examples,
        facts.schedule,
        shapes,
        loopSettings,
        state,
        { configKey: key, kind: LEARN_DEFECT_JOB, probeStart },
        {
          ...(req.signal ? { signal: req.signal } : {}),
          onCheckpoint: (ckpt) => {
            storeCheckpoint(project, ckpt, req.jobId ?? null);
          },
          onStep: async (step, loss, seconds) => {
            // steps/s counts training only; the ETA includes the previews still to come
            lastSeconds = seconds - previewSeconds;
            const done = step - state.step;
            const eta = (seconds / done) * (settings.steps - step);
            const wantPreview = settings.previewEvery > 0 && step % settings.previewEvery === 0;
            const previewStart = performance.now();
            const previewHash = wantPreview ? await preview() : undefined;
            previewSeconds += (performance.now() - previewStart) / 1000;
            req.onProgress?.({ step, total: settings.steps, loss, etaSeconds: eta, message: `step ${step} of ${settings.steps}`, ...(previewHash ? { preview: previewHash } : {}) });
          },
        },
      );
      const trainedSteps = final.step - state.step;
      const probeEnd = await probeLoss(trainer, examples, facts.schedule, shapes, loopSettings);
      if (probeEnd > PROBE_RISE_WARNING * probeStart) {
        log('warn', `${type.label}: learning made the fit of the training pairs worse (probe loss ${probeStart.toPrecision(3)} -> ${probeEnd.toPrecision(3)}): the embedding has probably diverged and may change the image outside the mask; learn again with a lower lr or encoderLr`);
      }

      // ---- the artifact ----
      const spatialEncoder: Record<string, { dims: number[]; data: Float32Array }> = {};
      for (const [trainingName, name] of graph.encoderWeights) {
        spatialEncoder[name] = { dims: [...encoder.graph.initializers.get(name)!.dims], data: trainer.params.get(trainingName)!.slice() };
      }
      const tail = final.lossCurve.slice(-Math.max(1, Math.floor(final.lossCurve.length / 10)));
      const finalLoss = tail.reduce((a, b) => a + b, 0) / tail.length;
      const seconds = trainedSteps > 0 ? lastSeconds : 0;
      const stepsPerSecond = seconds > 0 ? trainedSteps / seconds : 0;
      const artifactConfig = { ...config, steps: settings.steps, encoderTokens: n, anomalyTokens: k };
      const bytes = encodeEmbedding({
        defectType: type.label,
        anomaly: { dims: [k, W], data: trainer.params.get('e_a')!.slice() },
        spatialEncoder,
        config: { ...artifactConfig, lossCurve: final.lossCurve },
        modelHash: facts.contentHash,
      });
      const blobHash = project.blobs.put(bytes, EMBEDDING_MEDIA_TYPE);
      const artifact = recordArtifact(project, {
        kind: 'anomaly-embedding',
        defectTypeId: type.id,
        modelId,
        blobHash,
        config: artifactConfig,
        metrics: { finalLoss, lossCurve: final.lossCurve, stepsPerSecond, probeLoss: { start: probeStart, end: probeEnd } },
        jobId: req.jobId ?? null,
      });
      log('info', `${type.label}: saved anomaly embedding version ${artifact.version} (final loss ${finalLoss.toFixed(5)})`);
      return {
        defectType: type.label,
        artifactId: artifact.id,
        version: artifact.version,
        blobHash,
        modelHash: facts.contentHash,
        steps: final.step,
        finalLoss,
        stepsPerSecond,
        resumedFromStep: state.step,
        trainingPairs: pairs.length,
        probeLoss: { start: probeStart, end: probeEnd },
      };
    } finally {
      await runner.release();
      await trainer.release();
    }
  } finally {
    await backend.release();
  }
}

function checkSettings(s: LearnDefectSettings): void {
  const int = (name: keyof LearnDefectSettings, min: number, max: number): void => {
    const v = s[name];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) throw new UserError('BAD_PARAMS', `learn-defect: ${name} must be an integer in [${min}, ${max}] (got ${JSON.stringify(v)})`);
  };
  int('steps', 1, 1_000_000);
  int('batch', 1, 64);
  int('seed', 0, 2 ** 32 - 1);
  int('variants', 1, 256);
  int('checkpointEvery', 0, 1_000_000);
  int('previewEvery', 0, 1_000_000);
  int('previewSteps', 1, 1000);
  if (!(s.lr > 0 && s.lr < 10)) throw new UserError('BAD_PARAMS', `learn-defect: lr must be in (0, 10) (got ${s.lr})`);
  if (!(s.encoderLr >= 0 && s.encoderLr < 10)) throw new UserError('BAD_PARAMS', `learn-defect: encoderLr must be in [0, 10) (got ${s.encoderLr})`);
}

/** The newest anomaly embedding of a type, decoded; undefined when it has none. */
export function latestAnomalyEmbedding(project: Project, defectTypeId: number) {
  const row = latestArtifact(project, 'anomaly-embedding', defectTypeId);
  return row && { artifact: row, embedding: decodeEmbedding(project.blobs.read(row.blobHash), `artifact ${row.id}`) };
}
