// Pretraining data from the procedural corpus (src/engine/corpus): every sample is a pure
// function of (seed, index), so a resumed run and a fresh run see the same data.
//
// A sample is one of
//   'normal'      a defect-free image of a normal family; labels: family token, '<null>' anomaly
//                 slots; mask: empty
//   'defect'      the same with one defect family painted in (its exact mask); labels: family
//                 token and the defect family's 8 rows
//   'mask-image'  the mask of a defect sample shown as an image (mask -> 3 channels, 0/255, i.e.
//                 -1/1 after normalisation); labels: 'family:mask' and the defect's 8 rows; the
//                 prior for mask generation by textual inversion (METHOD.md, Mask generation)
// Defect families in HELD_OUT_DEFECTS never appear (kept for a later textual-inversion test).

import { DEFECT_FAMILIES, NORMAL_FAMILIES, applyDefect, deriveSeed, generateNormal, CORPUS_SIZE } from '../../../corpus';
import { Rng } from '../../../../shared/random';
import { MASK_FAMILY_TOKEN, NULL_TOKEN, defectToken, familyToken } from '../tokens';

/** Defect families kept out of pretraining (recorded in the package's training block). */
export const HELD_OUT_DEFECTS: readonly string[] = ['crack', 'glue'];

export type SampleKind = 'normal' | 'defect' | 'mask-image';

export interface CorpusSample {
  kind: SampleKind;
  family: string;
  defect: string | null;
  /** RGB, size x size */
  image: Uint8Array;
  /** 0/255, size x size (empty for normal samples and mask images: no spatial conditioning) */
  mask: Uint8Array;
}

export interface SampleMix {
  /** probability of a defect sample */
  defect: number;
  /** probability of a mask image */
  maskImage: number;
}

export const DEFAULT_MIX: SampleMix = { defect: 0.55, maskImage: 0.1 };

/** Box-filter downscale of an RGB or gray square image by an integer factor. */
export function downscale(data: Uint8Array, size: number, channels: number, factor: number): Uint8Array {
  if (factor === 1) return data;
  const out = size / factor;
  const result = new Uint8Array(out * out * channels);
  const area = factor * factor;
  for (let y = 0; y < out; y++) {
    for (let x = 0; x < out; x++) {
      for (let c = 0; c < channels; c++) {
        let sum = 0;
        for (let dy = 0; dy < factor; dy++) for (let dx = 0; dx < factor; dx++) sum += data[((y * factor + dy) * size + x * factor + dx) * channels + c]!;
        result[(y * out + x) * channels + c] = Math.round(sum / area);
      }
    }
  }
  return result;
}

/** Deterministic sample `index` of the stream `stream` (e.g. 'train', 'heldout'). */
export function corpusSample(seed: number, stream: string, index: number, size: number, mix: SampleMix = DEFAULT_MIX): CorpusSample {
  if (CORPUS_SIZE % size !== 0) throw new Error(`corpus samples: size ${size} does not divide the corpus size ${CORPUS_SIZE}`);
  const rng = new Rng(deriveSeed(seed, 'tiny-ldm', stream, index));
  const family = NORMAL_FAMILIES[rng.int(NORMAL_FAMILIES.length)]!;
  const u = rng.uniform();
  const defects = family.defects.filter((d) => !HELD_OUT_DEFECTS.includes(d));
  const kind: SampleKind = defects.length === 0 || u >= mix.defect + mix.maskImage ? 'normal' : u < mix.maskImage ? 'mask-image' : 'defect';
  const normal = generateNormal(family.name, rng);
  const factor = CORPUS_SIZE / size;
  const emptyMask = new Uint8Array(size * size);
  if (kind === 'normal') return { kind, family: family.name, defect: null, image: downscale(normal.image.data, CORPUS_SIZE, 3, factor), mask: emptyMask };
  const defect = defects[rng.int(defects.length)]!;
  const result = applyDefect(defect, normal, rng);
  // a mask downscaled by averaging, then thresholded at half coverage (any coverage for thin defects)
  const mask = binarise(downscale(result.mask, CORPUS_SIZE, 1, factor));
  if (kind === 'defect') return { kind, family: family.name, defect, image: downscale(result.image.data, CORPUS_SIZE, 3, factor), mask };
  const image = new Uint8Array(size * size * 3);
  for (let i = 0; i < size * size; i++) image.fill(mask[i]!, i * 3, i * 3 + 3);
  return { kind, family: family.name, defect, image, mask: emptyMask };
}

/** Averaged mask -> 0/255 at half coverage; when that loses the whole defect (thinner than the
 *  downscale factor), any coverage counts instead. */
function binarise(mask: Uint8Array): Uint8Array {
  const half = mask.map((v) => (v >= 128 ? 255 : 0));
  return half.some((v) => v > 0) ? half : mask.map((v) => (v > 0 ? 255 : 0));
}

/** The context labels of a sample: the family slot then the anomaly slots. */
export function sampleLabels(s: Pick<CorpusSample, 'kind' | 'family' | 'defect'>, defectTokens: number): string[] {
  const family = s.kind === 'mask-image' ? MASK_FAMILY_TOKEN : familyToken(s.family);
  const anomaly = Array.from({ length: defectTokens }, (_, i) => (s.defect === null ? NULL_TOKEN : defectToken(s.defect, i)));
  return [family, ...anomaly];
}

/** Trained defect families (all corpus families minus the held-out ones). */
export function trainedDefects(): string[] {
  return DEFECT_FAMILIES.map((d) => d.name).filter((d) => !HELD_OUT_DEFECTS.includes(d));
}

/** RGB bytes -> CHW floats in [-1, 1], written at `offset` of `out`. */
export function toCHW(rgb: Uint8Array, size: number, out: Float32Array, offset: number): void {
  const plane = size * size;
  for (let i = 0; i < plane; i++) for (let c = 0; c < 3; c++) out[offset + c * plane + i] = rgb[i * 3 + c]! / 127.5 - 1;
}

/** A random square crop (with a random horizontal flip) of an RGB image, as CHW floats in [-1, 1] at `offset` of `out`. */
export function cropToCHW(rgb: Uint8Array, size: number, crop: number, rng: Rng, out: Float32Array, offset: number): void {
  const x0 = rng.int(size - crop + 1);
  const y0 = rng.int(size - crop + 1);
  const flip = rng.uniform() < 0.5;
  const plane = crop * crop;
  for (let y = 0; y < crop; y++) {
    for (let x = 0; x < crop; x++) {
      const sx = flip ? x0 + crop - 1 - x : x0 + x;
      const src = ((y0 + y) * size + sx) * 3;
      for (let c = 0; c < 3; c++) out[offset + c * plane + y * crop + x] = rgb[src + c]! / 127.5 - 1;
    }
  }
}
