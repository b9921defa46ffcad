// Mask learning (METHOD.md, mask generation): a mask embedding e_m (4 tokens) per defect type,
// trained by plain textual inversion on the type's training masks treated as images (mask -> 3
// channels in [-1, 1]; no masked loss: the whole mask image is the target). Same loop, checkpoints
// and resume as defect learning; the result is a versioned 'mask-embedding' artifact in the
// embedding-file format (e_m in the 'e_a' slot, config.kind = 'mask').
// Augmentation keeps the masks' placement statistics: flips only (no rotation, no zoom), since
// where and how large a defect is belongs to what the embedding learns.

import { UserError } from '../../shared/errors';
import { Rng } from '../../shared/random';
import { ensureModelRow, latestArtifact, recordArtifact } from '../../main/store/artifacts';
import type { Project } from '../../main/store/project';
import { composeTraining } from '../autodiff/composer';
import { Adam } from '../autodiff/optim';
import { NULL_LABEL } from '../models/builtin/token-table';
import { augmentPair, type AugmentSettings } from './augment';
import { decodeEmbedding, encodeEmbedding, type AnomalyEmbedding } from './embedding-file';
import { buildInversionGraph } from './inversion-graph';
import { runInversionLoop, type LoopState } from './inversion-loop';
import { configKey, EMBEDDING_MEDIA_TYPE, encodeImages, openLearningModel, resumeLearning, storeCheckpoint } from './learn-common';
import type { LearnProgress } from './learn-defect';
import { maskAsImage, maskLayout, maskSegments } from './mask-context';
import { findDefectType, loadTrainingPairs } from './training-set';

export const LEARN_MASK_JOB = 'learn-mask';
const MASK_AUGMENT: AugmentSettings = { flips: true, maxRotationDeg: 0, minCropFraction: 1 };

export interface LearnMaskSettings {
  steps: number;
  batch: number;
  lr: number;
  seed: number;
  variants: number;
  checkpointEvery: number;
}

export const DEFAULT_LEARN_MASK: LearnMaskSettings = { steps: 500, batch: 4, lr: 0.02, seed: 0, variants: 4, checkpointEvery: 50 };

export interface LearnMaskRequest {
  project: Project;
  type: string;
  modelDir: string;
  settings?: Partial<LearnMaskSettings>;
  resume?: boolean;
  resumeFrom?: string;
  jobId?: number | null;
  signal?: AbortSignal;
  onProgress?: (p: LearnProgress) => void;
  log?: (level: 'info' | 'warn', message: string) => void;
}

export interface LearnMaskResult {
  defectType: string;
  artifactId: number;
  version: number;
  blobHash: string;
  modelHash: string;
  steps: number;
  finalLoss: number;
  resumedFromStep: number;
  trainingMasks: number;
}

export async function learnMask(req: LearnMaskRequest): Promise<LearnMaskResult> {
  const settings: LearnMaskSettings = { ...DEFAULT_LEARN_MASK, ...req.settings };
  for (const [name, min] of [['steps', 1], ['batch', 1], ['seed', 0], ['variants', 1], ['checkpointEvery', 0]] as const) {
    const v = settings[name];
    if (!Number.isInteger(v) || v < min) throw new UserError('BAD_PARAMS', `learn-mask: ${name} must be an integer >= ${min} (got ${JSON.stringify(v)})`);
  }
  if (!(settings.lr > 0 && settings.lr < 10)) throw new UserError('BAD_PARAMS', `learn-mask: lr must be in (0, 10) (got ${settings.lr})`);
  const { project } = req;
  const log = req.log ?? (() => {});
  const type = findDefectType(project, req.type);
  const { pairs } = await loadTrainingPairs(project, type);
  const { model, unet } = await openLearningModel(req.modelDir);
  try {
    const facts = model.facts;
    const W = model.manifest.tokens.width;
    const layout = maskLayout(model);
    const modelId = ensureModelRow(project, { name: facts.name, kind: facts.kind, path: model.dir, contentHash: facts.contentHash, manifest: model.manifest });
    const graph = buildInversionGraph({
      unet,
      batch: settings.batch,
      latent: { channels: facts.latentChannels, ...facts.latentSize },
      image: facts.imageSize,
      tokenWidth: W,
      segments: maskSegments(model, layout, 'e_m'),
      maskedLoss: false,
      predictionType: facts.schedule.predictionType,
    });
    // e_m starts at '<null>' plus a small seeded perturbation (the model has no word for "mask shape")
    const nullRow = model.tokens.row(NULL_LABEL);
    const jitter = new Rng(settings.seed ^ 0x6d2b79f5).normals(layout.maskTokens * W, 0.05);
    const init = Float32Array.from(jitter, (v, j) => nullRow[j % W]! + v);
    const config = {
      kind: 'mask',
      defectType: type.label,
      defectTypeId: type.id,
      modelHash: facts.contentHash,
      batch: settings.batch,
      lr: settings.lr,
      seed: settings.seed,
      variants: settings.variants,
      maskTokens: layout.maskTokens,
      familyLabel: layout.familyLabel,
      trainingImages: pairs.map((p) => p.imageId),
    };
    const key = configKey(config);
    const trainer = await composeTraining(graph.model, { loss: 'loss', train: ['e_m'], optimizer: new Adam({ lr: settings.lr, weightDecay: 0 }), initial: { e_m: init } });
    try {
      const state: LoopState = resumeLearning(project, trainer, req, { jobKind: LEARN_MASK_JOB, key, label: type.label, what: 'mask learning ', recordOnJob: false }, log);
      const rng = new Rng(settings.seed ^ 0x1b873593);
      const images = pairs.flatMap((p) =>
        Array.from({ length: settings.variants }, () => {
          const asImage = { ...maskAsImage(p.mask, p.image.width, p.image.height) };
          return augmentPair(asImage, p.mask, facts.imageSize, rng, MASK_AUGMENT).image;
        }),
      );
      const latents = await encodeImages(model, images, settings.batch, req.signal);
      const final = await runInversionLoop(
        trainer,
        latents.map((z0) => ({ z0 })),
        facts.schedule,
        { latent: { channels: facts.latentChannels, ...facts.latentSize }, image: facts.imageSize },
        { steps: settings.steps, batch: settings.batch, seed: settings.seed, checkpointEvery: settings.checkpointEvery },
        state,
        { configKey: key, kind: LEARN_MASK_JOB },
        {
          ...(req.signal ? { signal: req.signal } : {}),
          onCheckpoint: (ckpt) => {
            storeCheckpoint(project, ckpt, req.jobId ?? null);
          },
          onStep: (step, loss, seconds) => {
            const eta = (seconds / (step - state.step)) * (settings.steps - step);
            req.onProgress?.({ step, total: settings.steps, loss, etaSeconds: eta, message: `mask step ${step} of ${settings.steps}` });
          },
        },
      );
      const tail = final.lossCurve.slice(-Math.max(1, Math.floor(final.lossCurve.length / 10)));
      const finalLoss = tail.reduce((a, b) => a + b, 0) / tail.length;
      const artifactConfig = { ...config, steps: settings.steps };
      const blobHash = project.blobs.put(
        encodeEmbedding({
          defectType: type.label,
          anomaly: { dims: [layout.maskTokens, W], data: trainer.params.get('e_m')!.slice() },
          config: { ...artifactConfig, lossCurve: final.lossCurve },
          modelHash: facts.contentHash,
        }),
        EMBEDDING_MEDIA_TYPE,
      );
      const artifact = recordArtifact(project, { kind: 'mask-embedding', defectTypeId: type.id, modelId, blobHash, config: artifactConfig, metrics: { finalLoss, lossCurve: final.lossCurve }, jobId: req.jobId ?? null });
      log('info', `${type.label}: saved mask embedding version ${artifact.version}`);
      return { defectType: type.label, artifactId: artifact.id, version: artifact.version, blobHash, modelHash: facts.contentHash, steps: final.step, finalLoss, resumedFromStep: state.step, trainingMasks: pairs.length };
    } finally {
      await trainer.release();
    }
  } finally {
    await model.release();
  }
}

/** The newest mask embedding of a type, decoded; undefined when none was trained. */
export function latestMaskEmbedding(project: Project, defectTypeId: number): { artifactId: number; version: number; embedding: AnomalyEmbedding } | undefined {
  const row = latestArtifact(project, 'mask-embedding', defectTypeId);
  if (!row) return undefined;
  return { artifactId: row.id, version: row.version, embedding: decodeEmbedding(project.blobs.read(row.blobHash), `artifact ${row.id} (mask embedding)`) };
}
