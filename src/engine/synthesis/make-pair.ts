// Makes one pair from its recipe: the ONE generation path shared by the synthesis job and
// regenerate, so a regenerated sample goes through exactly the same steps as the original.
import { generateBlended, type BlendedResult } from '../diffusion/blended';
import type { LineageConditioning } from '../diffusion/lineage';
import { encodePng } from '../imaging';
import type { Size2 } from '../models/types';
import { resolveConditioning, type ConditionableModel, type EmbeddingCache } from './conditioning';
import type { MaskOrigin, ProjectMasks } from './mask-source';
import { normalAtSize, type BlobReader } from './pair-inputs';
import type { PairRecipe } from './recipe';

export const GENERATOR = 'anomaly-diffusion/blended';

export interface MadePair {
  imagePng: Uint8Array;
  maskPng: Uint8Array;
  result: BlendedResult;
  conditioning: LineageConditioning;
  /** what made the mask (the mask source's origin record) */
  maskOrigin: MaskOrigin;
  resizedFrom?: Size2;
}

export async function makePair(model: ConditionableModel, blobs: BlobReader, recipe: PairRecipe, embeddings: EmbeddingCache, masks: ProjectMasks, signal?: AbortSignal): Promise<MadePair> {
  const size = model.facts.imageSize;
  const normal = await normalAtSize(blobs, recipe.normal.blob, size);
  const sourced = await masks.mask(recipe.mask, normal.image, signal);
  const mask = sourced.data;
  const { conditioning, summary } = await resolveConditioning(model, recipe.conditioning, mask, embeddings);
  const result = await generateBlended(
    model,
    {
      normal: normal.image,
      mask,
      conditioning,
      seed: recipe.seed,
      sampler: recipe.sampler,
      strength: recipe.strength,
      guidanceScale: recipe.guidance,
      aar: recipe.aar,
    },
    signal ? { signal } : {},
  );
  const imagePng = await encodePng(result.image);
  const maskPng = await encodePng({ width: size.width, height: size.height, channels: 1, data: result.mask });
  return { imagePng, maskPng, result, conditioning: summary, maskOrigin: sourced.origin, ...(normal.resizedFrom ? { resizedFrom: normal.resizedFrom } : {}) };
}
