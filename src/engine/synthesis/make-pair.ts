// Makes one pair from its recipe: the ONE generation path shared by the synthesis job, regenerate
// and eval, so a regenerated sample goes through exactly the same steps as the original.
// A pair has the normal image's own size. When that is the model's size, the model generates on
// the whole image (blended.ts pastes the original back). Otherwise the mask is made at full size,
// the model generates on a window around it (./pair-window.ts) resized to the model's size, and
// the decoded window, resized back, is composited into the full-resolution normal image with the
// full-resolution mask by paste-back: outside the dilated, feathered mask the pair is the normal
// image's bytes exactly, and the stored mask is the full-resolution mask. With the recipe's
// restoreDetail the normal image's detail layer is added before paste-back (at full resolution).
import { generateBlended, type BlendedResult } from '../diffusion/blended';
import type { RgbImage } from '../diffusion/image-tensor';
import type { LineageConditioning } from '../diffusion/lineage';
import { DEFAULT_PASTE_BACK, pasteBack, pasteBackOf, restoreDetail } from '../diffusion/paste-back';
import { encodePng } from '../imaging';
import type { Size2 } from '../models/types';
import { resolveConditioning, type ConditionableModel, type EmbeddingCache } from './conditioning';
import type { MaskOrigin, ProjectMasks } from './mask-source';
import { normalFull, type BlobReader } from './pair-inputs';
import { cropPixels, lanczosRgb, pairWindow, placePixels, resizeMaskToModel, type PairWindow } from './pair-window';
import { ReconstructionCache } from './reconstruction-cache';
import type { PairRecipe } from './recipe';

export const GENERATOR = 'anomaly-diffusion/blended';

export interface MadePair {
  imagePng: Uint8Array;
  maskPng: Uint8Array;
  /** the pair at the normal image's size */
  image: RgbImage;
  /** 0 / 255, image.width x image.height */
  mask: Uint8Array;
  /** the model-size generation (its image and mask are the window's, at the model's size) */
  result: BlendedResult;
  conditioning: LineageConditioning;
  /** what made the mask (the mask source's origin record) */
  maskOrigin: MaskOrigin;
  /** the normal image's size, when it is not the model's */
  resizedFrom?: Size2;
  /** where the model generated, when the normal image is not the model's size */
  window?: PairWindow;
}

/**
 * `reconstructions`: the decoder's reconstructions of normal images from earlier pairs (restoring
 * the detail needs one per pair); without it each pair decodes its own, the same computation.
 */
export async function makePair(
  model: ConditionableModel,
  blobs: BlobReader,
  recipe: PairRecipe,
  embeddings: EmbeddingCache,
  masks: ProjectMasks,
  signal?: AbortSignal,
  reconstructions?: ReconstructionCache,
): Promise<MadePair> {
  const size = model.facts.imageSize;
  const normal = await normalFull(blobs, recipe.normal.blob);
  const sourced = await masks.mask(recipe.mask, normal, signal);
  const fullMask = sourced.data;
  const atModelSize = normal.width === size.width && normal.height === size.height;
  const generate = async (image: RgbImage, mask: Uint8Array, keepDecoded: boolean, window?: PairWindow): Promise<{ result: BlendedResult; conditioning: LineageConditioning }> => {
    const { conditioning, summary } = await resolveConditioning(model, recipe.conditioning, mask, embeddings);
    const key = ReconstructionCache.key(recipe.normal.blob, window);
    const reconstruction = recipe.restoreDetail === true ? reconstructions?.get(key) : undefined;
    const result = await generateBlended(
      model,
      {
        normal: image,
        mask,
        conditioning,
        seed: recipe.seed,
        sampler: recipe.sampler,
        strength: recipe.strength,
        guidanceScale: recipe.guidance,
        aar: recipe.aar,
        pasteBack: pasteBackOf(recipe.restoreDetail),
        ...(reconstruction ? { reconstruction } : {}),
      },
      { ...(signal ? { signal } : {}), ...(keepDecoded ? { keepDecoded } : {}) },
    );
    if (result.decodedNormal && !reconstruction) reconstructions?.set(key, result.decodedNormal);
    return { result, conditioning: summary };
  };

  if (atModelSize) {
    const { result, conditioning } = await generate(normal, fullMask, false);
    return { ...(await encoded(result.image, result.mask)), image: result.image, mask: result.mask, result, conditioning, maskOrigin: sourced.origin };
  }

  const full: Size2 = { width: normal.width, height: normal.height };
  const window = pairWindow(fullMask, full, size, DEFAULT_PASTE_BACK);
  const windowSize: Size2 = { width: window.width, height: window.height };
  const windowNormal: RgbImage = { ...windowSize, channels: 3, data: cropPixels(normal.data, full, 3, window) };
  const windowMask = cropPixels(fullMask, full, 1, window);
  const { result, conditioning } = await generate(await lanczosRgb(windowNormal, size), resizeMaskToModel(windowMask, windowSize, size), true, window);
  // the decoder's window (not the model-size paste-back) goes back at full resolution, so the
  // seam is feathered once, in full-resolution pixels; the detail restored there is the
  // full-resolution image's (window - its reconstruction, resized), which a model-size
  // restoration could not carry: the generated region keeps the photo's own sharpness
  const decoded = await lanczosRgb(result.decoded!, windowSize);
  const unpasted = result.decodedNormal ? restoreDetail(decoded.data, (await lanczosRgb(result.decodedNormal, windowSize)).data, windowNormal.data) : decoded.data;
  const composited = pasteBack(windowNormal.data, unpasted, windowMask, { ...windowSize, channels: 3 }, result.settings.pasteBack);
  const image: RgbImage = { ...full, channels: 3, data: placePixels(normal.data, full, 3, window, composited) };
  const mask = Uint8Array.from(fullMask, (v) => (v > 0 ? 255 : 0));
  return { ...(await encoded(image, mask)), image, mask, result, conditioning, maskOrigin: sourced.origin, resizedFrom: full, window };
}

async function encoded(image: RgbImage, mask: Uint8Array): Promise<{ imagePng: Uint8Array; maskPng: Uint8Array }> {
  return { imagePng: await encodePng(image), maskPng: await encodePng({ width: image.width, height: image.height, channels: 1, data: mask }) };
}
