// Held-out procedural samples for the quality measurements: a normal image of a family the
// defect suits, the same image with a real defect of the family painted in, and its exact mask,
// at the model's image size. Every sample is a pure function of (seed, stream, defect, index)
// through deriveSeed with the tag 'tiny-ldm-quality'; pretraining derives its samples with the
// tag 'tiny-ldm' (train/data.ts), so no sample here was ever drawn in training.

import { CORPUS_SIZE, DEFECT_FAMILIES, applyDefect, deriveSeed, generateNormal } from '../../../corpus';
import { UserError } from '../../../../shared/errors';
import { Rng } from '../../../../shared/random';
import type { RgbImage } from '../../../diffusion/image-tensor';
import { downscale } from '../train/data';

/** 'eval': what generation is measured on; 'inversion': textual inversion's pairs; 'classifier': its real training defects */
export type QualityStream = 'eval' | 'inversion' | 'classifier';

export interface QualitySample {
  defect: string;
  /** the normal family the image shows */
  family: string;
  normal: RgbImage;
  /** the same image with a real defect of `defect` (the corpus' own) */
  reference: RgbImage;
  /** 0/255, size x size */
  mask: Uint8Array;
}

export function qualitySample(seed: number, stream: QualityStream, defect: string, index: number, size: number): QualitySample {
  const info = DEFECT_FAMILIES.find((d) => d.name === defect);
  if (!info) throw new UserError('UNKNOWN_DEFECT', `no corpus defect family '${defect}'; known: ${DEFECT_FAMILIES.map((d) => d.name).join(', ')}`);
  if (!(Number.isInteger(size) && size > 0 && CORPUS_SIZE % size === 0)) throw new RangeError(`quality samples: size ${size} does not divide the corpus size ${CORPUS_SIZE}`);
  const rng = new Rng(deriveSeed(seed, 'tiny-ldm-quality', stream, defect, index));
  const family = info.suits[rng.int(info.suits.length)]!;
  const normal = generateNormal(family, rng);
  const painted = applyDefect(defect, normal, rng);
  const factor = CORPUS_SIZE / size;
  const rgb = (data: Uint8Array): RgbImage => ({ width: size, height: size, channels: 3, data: downscale(data, CORPUS_SIZE, 3, factor) });
  return { defect, family, normal: rgb(normal.image.data), reference: rgb(painted.image.data), mask: binariseCoverage(downscale(painted.mask, CORPUS_SIZE, 1, factor)) };
}

/** Averaged mask -> 0/255 at half coverage; any coverage when half coverage loses the whole defect (as pretraining's data does). */
function binariseCoverage(mask: Uint8Array): Uint8Array {
  const half = mask.map((v) => (v >= 128 ? 255 : 0));
  return half.some((v) => v > 0) ? half : mask.map((v) => (v > 0 ? 255 : 0));
}
