// regenerate: makes a stored sample again from its lineage alone (the recipe: normal image blob,
// mask source and seed, conditioning, seed, sampler settings) with the model of the recorded content hash,
// and reports whether the new image and mask are bit-identical to the stored blobs. On the same
// execution provider they must be (CPU: always); a difference means the model, the runtime or the
// app changed, and the report says which recorded versions differ from the current ones.
import { createHash } from 'node:crypto';
import path from 'node:path';
import { UserError } from '../../shared/errors';
import type { Project } from '../../main/store/project';
import { getSample, modelPathByHash } from '../../main/store/samples';
import type { LoadBuiltinOptions } from '../models/builtin/load';
import type { Size2 } from '../models/types';
import { onnxruntimeVersion } from '../runtime';
import { openSynthesisModel } from './open-model';
import { checkImageSize } from './recipe';
import { EmbeddingCache } from './conditioning';
import { makePair } from './make-pair';
import { ProjectMasks } from './mask-source';
import type { PairRecipe } from './recipe';

export interface RegenerateReport {
  sampleId: number;
  identical: boolean;
  image: { stored: string; regenerated: string; identical: boolean };
  mask: { stored: string; regenerated: string; identical: boolean };
  model: { path: string; contentHash: string };
  /** recorded vs current, for the facts that can explain a difference */
  recorded: { executionProvider: string; onnxruntime: string; app: string };
  current: { executionProvider: string; onnxruntime: string; app: string };
  /** whether the mask source gave the recorded origin again (else its inputs changed: new training masks...) */
  maskOrigin: { identical: boolean; recorded: Record<string, unknown>; regenerated: Record<string, unknown> };
  seconds: number;
}

/** JSON with sorted keys: origins compare by content, not by key order. */
function canonical(value: unknown): string {
  const sort = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(sort);
    if (v && typeof v === 'object') return Object.fromEntries(Object.keys(v).sort().map((k) => [k, sort((v as Record<string, unknown>)[k])]));
    return v;
  };
  return JSON.stringify(sort(value));
}

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

export function recipeOf(sampleId: number, sampler: Record<string, unknown>): PairRecipe {
  const recipe = sampler['recipe'];
  if (typeof recipe !== 'object' || recipe === null) {
    throw new UserError('LINEAGE_INCOMPLETE', `sample ${sampleId}: its lineage holds no generation recipe (it was not made by the synthesis job)`);
  }
  return recipe as PairRecipe;
}

/** sampler.model.imageSize of the lineage (absent in lineages written before it was recorded). */
function recordedImageSize(sampleId: number, sampler: Record<string, unknown>): Size2 | undefined {
  const model = sampler['model'] as Record<string, unknown> | undefined;
  const size = model?.['imageSize'];
  if (size === undefined) return undefined;
  checkImageSize(`sample ${sampleId}: the lineage's model image size`, size);
  return size;
}

export async function regenerateSample(
  project: Project,
  sampleId: number,
  options: { model?: string; appVersion: string; load?: LoadBuiltinOptions; signal?: AbortSignal },
): Promise<RegenerateReport> {
  const started = performance.now();
  const sample = getSample(project, sampleId);
  const lineage = sample.lineage;
  if (!lineage) throw new UserError('LINEAGE_MISSING', `sample ${sampleId} has no lineage record; it cannot be made again`);
  const recipe = recipeOf(sampleId, lineage.sampler);
  if (!lineage.modelHash) throw new UserError('LINEAGE_INCOMPLETE', `sample ${sampleId}: no model hash recorded`);
  const modelDir = options.model !== undefined ? path.resolve(options.model) : modelPathByHash(project, lineage.modelHash);
  if (modelDir === null) {
    throw new UserError('MODEL_NOT_FOUND', `sample ${sampleId} was made with model ${lineage.modelHash.slice(0, 12)}, which this project has no path for; pass --model <dir>`);
  }
  // the size the pair was made at: an SD 1.x folder with a symbolic size is opened at it again
  const imageSize = recordedImageSize(sampleId, lineage.sampler);
  const model = await openSynthesisModel(modelDir, { threads: options.load?.intraOpNumThreads, provider: options.load?.provider, imageSize });
  try {
    if (model.facts.contentHash !== lineage.modelHash) {
      throw new UserError('MODEL_MISMATCH', `${modelDir}: this model's content hash is ${model.facts.contentHash.slice(0, 12)}; sample ${sampleId} was made with ${lineage.modelHash.slice(0, 12)}`);
    }
    const blobs = { read: (h: string) => project.blobs.read(h), path: (h: string) => project.blobs.path(h) };
    const masks = new ProjectMasks(project, model);
    let pair;
    try {
      pair = await makePair(model, blobs, recipe, new EmbeddingCache(blobs), masks, options.signal);
    } finally {
      await masks.release();
    }
    const image = { stored: sample.imageBlob, regenerated: sha(pair.imagePng) };
    const mask = { stored: sample.maskBlob, regenerated: sha(pair.maskPng) };
    const imageSame = image.stored === image.regenerated;
    const maskSame = mask.stored === mask.regenerated;
    return {
      sampleId,
      identical: imageSame && maskSame,
      image: { ...image, identical: imageSame },
      mask: { ...mask, identical: maskSame },
      model: { path: modelDir, contentHash: model.facts.contentHash },
      recorded: { executionProvider: lineage.executionProvider, onnxruntime: lineage.onnxruntimeVersion, app: lineage.appVersion },
      current: { executionProvider: model.provider, onnxruntime: onnxruntimeVersion(), app: options.appVersion },
      maskOrigin: { identical: canonical(pair.maskOrigin) === canonical(lineage.maskSource), recorded: lineage.maskSource, regenerated: pair.maskOrigin },
      seconds: (performance.now() - started) / 1000,
    };
  } finally {
    await model.release();
  }
}
