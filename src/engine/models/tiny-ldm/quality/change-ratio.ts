// Where blended generation changes an image (issue 5): with y the original normal image, x the
// decoded output BEFORE paste-back (after it, everything outside the seam is y's bytes, so the
// outside change would be zero by construction), m the pixel mask and dist(p) the Euclidean
// distance from pixel p to the nearest mask pixel,
//   inside  = mean over p in m, c in RGB         of |x(p,c) - y(p,c)|     (8-bit units)
//   outside = mean over p with dist(p) > D, c    of |x(p,c) - y(p,c)|
// Pixels with 0 < dist <= D (the seam) are in neither. D covers what legitimately changes near
// the mask: the latent mask takes every latent cell the pixel mask touches (up to one cell, f px,
// beyond the mask), and paste-back keeps generated pixels up to dilate + feather px beyond it;
// so D = f + dilate + feather (8 + 2 + 3 = 13 px for the tiny LDM at 256 px).
// A family's figure: ratio = (mean of the samples' inside) / (mean of the samples' outside).

import { squaredDistanceToMask, type PasteBackSettings } from '../../../diffusion/paste-back';
import { Rng } from '../../../../shared/random';

export interface ChangeMeasure {
  /** mean absolute 8-bit change over mask pixels and channels */
  inside: number;
  /** the same over pixels farther than D from the mask */
  outside: number;
  insidePixels: number;
  outsidePixels: number;
}

/** The distance D: one latent cell plus paste-back's dilation and feather. */
export function outsideDistance(imageWidth: number, latentWidth: number, paste: PasteBackSettings): number {
  return imageWidth / latentWidth + paste.dilate + paste.feather;
}

/**
 * Inside/outside change of one image. `original` and `generated` are interleaved 8-bit with
 * `channels` channels; `mask` is 0 / non-zero, width x height.
 */
export function measureChange(
  original: Uint8Array,
  generated: Uint8Array,
  mask: ArrayLike<number>,
  image: { width: number; height: number; channels: number },
  distance: number,
): ChangeMeasure {
  const { width, height, channels } = image;
  const pixels = width * height;
  if (original.length !== pixels * channels || generated.length !== original.length) {
    throw new RangeError(`change measure: images of ${original.length} and ${generated.length} values for ${width}x${height}x${channels}`);
  }
  if (mask.length !== pixels) throw new RangeError(`change measure: mask of ${mask.length} pixels for a ${width}x${height} image`);
  if (!(distance >= 0)) throw new RangeError(`change measure: the outside distance must be >= 0, got ${distance}`);
  const dist2 = squaredDistanceToMask(mask, width, height);
  const limit2 = distance * distance;
  let inSum = 0;
  let inCount = 0;
  let outSum = 0;
  let outCount = 0;
  for (let p = 0; p < pixels; p++) {
    const isInside = mask[p]! > 0;
    const isOutside = !isInside && dist2[p]! > limit2;
    if (!isInside && !isOutside) continue;
    let d = 0;
    for (let c = 0; c < channels; c++) d += Math.abs(generated[p * channels + c]! - original[p * channels + c]!);
    if (isInside) {
      inSum += d;
      inCount++;
    } else {
      outSum += d;
      outCount++;
    }
  }
  return {
    inside: inCount ? inSum / (inCount * channels) : Number.NaN,
    outside: outCount ? outSum / (outCount * channels) : Number.NaN,
    insidePixels: inCount,
    outsidePixels: outCount,
  };
}

/** Mean of the finite values (NaN when there is none). */
export function meanOf(values: readonly number[]): number {
  const finite = values.filter((v) => Number.isFinite(v));
  return finite.length ? finite.reduce((a, v) => a + v, 0) / finite.length : Number.NaN;
}

export interface ChangeSummary {
  samples: number;
  inside: number;
  outside: number;
  /** inside / outside (Infinity when nothing changed outside) */
  ratio: number;
}

/** A family's figure over its samples: mean inside over mean outside (samples without an outside region are skipped for it). */
export function summariseChange(measures: readonly ChangeMeasure[]): ChangeSummary {
  const inside = meanOf(measures.map((m) => m.inside));
  const outside = meanOf(measures.map((m) => m.outside));
  return { samples: measures.length, inside, outside, ratio: outside === 0 ? (inside > 0 ? Infinity : Number.NaN) : inside / outside };
}

/**
 * A percentile bootstrap interval of a family's ratio: `resamples` times, draw the family's
 * samples with replacement (as many as it has), take mean inside / mean outside of the draw; the
 * interval is the (1 - level) / 2 and (1 + level) / 2 quantiles of those ratios (nearest rank).
 * Even over 32 samples per family it is wide (the shipped weights' scratch: 5.0, interval 3.9-6.4),
 * so a ratio near the target says little about which side of it a family is on; the quality run
 * reports the interval beside the ratio.
 */
export function bootstrapRatioInterval(measures: readonly ChangeMeasure[], options: { resamples: number; level: number; seed: number }): [number, number] {
  const usable = measures.filter((m) => Number.isFinite(m.inside) && Number.isFinite(m.outside));
  if (usable.length === 0) return [Number.NaN, Number.NaN];
  const { resamples, level } = options;
  if (!(Number.isInteger(resamples) && resamples >= 1)) throw new RangeError(`bootstrap: resamples must be a positive integer, got ${resamples}`);
  if (!(level > 0 && level < 1)) throw new RangeError(`bootstrap: the level must lie in (0, 1), got ${level}`);
  const rng = new Rng(options.seed);
  const ratios = new Float64Array(resamples);
  for (let r = 0; r < resamples; r++) {
    let inside = 0;
    let outside = 0;
    for (let k = 0; k < usable.length; k++) {
      const m = usable[rng.int(usable.length)]!;
      inside += m.inside;
      outside += m.outside;
    }
    ratios[r] = outside === 0 ? (inside > 0 ? Infinity : Number.NaN) : inside / outside;
  }
  ratios.sort();
  const rank = (q: number): number => ratios[Math.min(resamples - 1, Math.max(0, Math.ceil(q * resamples) - 1))]!;
  return [rank((1 - level) / 2), rank((1 + level) / 2)];
}
