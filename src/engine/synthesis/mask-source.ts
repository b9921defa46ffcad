// The mask source the synthesis job uses until learned masks land (src/engine/anomaly): the
// defect type's real training masks, each drawn with a random horizontal and vertical flip, so
// N pairs get up to 4x as many distinct defect shapes and places as there are real masks.
// A choice is plain JSON (it goes into the lineage) and renders the same mask every time.
import type { Rng } from '../../shared/random';

export interface RealMaskRef {
  maskId: number;
  /** the image the mask belongs to */
  imageId: number;
  blob: string;
}

export interface MaskChoice extends RealMaskRef {
  kind: 'real-flip';
  flipX: boolean;
  flipY: boolean;
}

export function chooseRealMask(masks: readonly RealMaskRef[], rng: Rng): MaskChoice {
  if (masks.length === 0) throw new RangeError('chooseRealMask: no masks to choose from');
  const m = masks[rng.int(masks.length)]!;
  const flipX = rng.uniform() < 0.5;
  const flipY = rng.uniform() < 0.5;
  return { kind: 'real-flip', maskId: m.maskId, imageId: m.imageId, blob: m.blob, flipX, flipY };
}

/** Mirrors a one-byte-per-pixel mask left-right and/or top-bottom (a new array). */
export function flipMask(data: Uint8Array, width: number, height: number, flipX: boolean, flipY: boolean): Uint8Array {
  if (data.length !== width * height) throw new RangeError(`flipMask: ${data.length} values for ${width}x${height}`);
  const out = new Uint8Array(data.length);
  for (let y = 0; y < height; y++) {
    const sy = flipY ? height - 1 - y : y;
    for (let x = 0; x < width; x++) out[y * width + x] = data[sy * width + (flipX ? width - 1 - x : x)]!;
  }
  return out;
}

/**
 * Resizes a binary mask so that no defect is lost: a target pixel is defect (255) when any source
 * pixel under its footprint is. Source columns [floor(x sw/tw), ceil((x+1) sw/tw)) map to target
 * column x (likewise rows), so downscaling takes the max over each box and upscaling is nearest.
 * A thin scratch stays at least one pixel wide at any scale.
 */
export function resizeMaskAny(data: Uint8Array, sw: number, sh: number, tw: number, th: number): Uint8Array {
  if (data.length !== sw * sh) throw new RangeError(`resizeMaskAny: ${data.length} values for ${sw}x${sh}`);
  if (sw === tw && sh === th) return Uint8Array.from(data, (v) => (v > 0 ? 255 : 0));
  const span = (i: number, s: number, t: number): [number, number] => {
    const lo = Math.floor((i * s) / t);
    return [lo, Math.max(lo + 1, Math.ceil(((i + 1) * s) / t))];
  };
  const out = new Uint8Array(tw * th);
  for (let y = 0; y < th; y++) {
    const [y0, y1] = span(y, sh, th);
    for (let x = 0; x < tw; x++) {
      const [x0, x1] = span(x, sw, tw);
      let hit = false;
      for (let sy = y0; sy < y1 && !hit; sy++) for (let sx = x0; sx < x1 && !hit; sx++) hit = data[sy * sw + sx]! > 0;
      out[y * tw + x] = hit ? 255 : 0;
    }
  }
  return out;
}
