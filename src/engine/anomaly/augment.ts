// Augmentation of an image-mask pair for few-shot learning (METHOD.md: flips, small rotations,
// random crops that keep the whole mask), resampled to the model's image size in one pass.
//
// Geometry, in continuous pixel coordinates (pixel i covers [i, i+1)):
//   canvas point q = R(theta) (F(p) - c) + c     F: optional horizontal/vertical flip, c: centre
//   the crop is a rectangle of the canvas with the output's aspect ratio that contains the
//   transformed mask's bounding box; output pixel (u, v) samples the canvas at the crop point it
//   covers, mapped back to the source by the inverse transform.
// Pixels outside the source repeat the border (a rotation's corners are filled, not black).
// Downscaling averages an s x s grid of bilinear samples per output pixel (s = the scale factor,
// at most 4), so a 1024 px photo is not aliased down to 64 px. The mask is resampled the same way
// and kept where at least half of an output pixel is defect; if that leaves nothing (a defect
// thinner than an output pixel) any coverage counts, so a pair never loses its defect.

import { Rng } from '../../shared/random';
import type { RgbImage } from '../diffusion/image-tensor';
import type { RawImage } from '../imaging';

export interface AugmentSettings {
  /** random horizontal and vertical flips (each with probability 1/2) */
  flips: boolean;
  /** rotation angle drawn uniformly from [-max, max] degrees */
  maxRotationDeg: number;
  /** the smallest crop side, as a fraction of the largest crop of the output's aspect (the mask may force a larger one) */
  minCropFraction: number;
}

export const DEFAULT_AUGMENT: AugmentSettings = { flips: true, maxRotationDeg: 20, minCropFraction: 0.5 };
/** no augmentation: the whole image, resized */
export const NO_AUGMENT: AugmentSettings = { flips: false, maxRotationDeg: 0, minCropFraction: 1 };

export interface AugmentedPair {
  image: RgbImage;
  /** 0 / 255, output size */
  mask: Uint8Array;
  /** what was drawn, for logs and tests */
  transform: { flipX: boolean; flipY: boolean; rotationDeg: number; crop: { x: number; y: number; width: number; height: number } };
}

interface Transform {
  flipX: boolean;
  flipY: boolean;
  cos: number;
  sin: number;
  cx: number;
  cy: number;
  W: number;
  H: number;
}

function forward(t: Transform, x: number, y: number): [number, number] {
  const fx = (t.flipX ? t.W - x : x) - t.cx;
  const fy = (t.flipY ? t.H - y : y) - t.cy;
  return [t.cos * fx - t.sin * fy + t.cx, t.sin * fx + t.cos * fy + t.cy];
}

function inverse(t: Transform, qx: number, qy: number): [number, number] {
  const dx = qx - t.cx;
  const dy = qy - t.cy;
  const x = t.cos * dx + t.sin * dy + t.cx;
  const y = -t.sin * dx + t.cos * dy + t.cy;
  return [t.flipX ? t.W - x : x, t.flipY ? t.H - y : y];
}

/** Bounding box of the mask's pixel centres after the transform; null for an empty mask. */
function maskBounds(mask: ArrayLike<number>, t: Transform): { x0: number; y0: number; x1: number; y1: number } | null {
  let x0 = Infinity;
  let y0 = Infinity;
  let x1 = -Infinity;
  let y1 = -Infinity;
  for (let y = 0; y < t.H; y++) {
    for (let x = 0; x < t.W; x++) {
      if (!(mask[y * t.W + x]! > 0)) continue;
      // the pixel's four corners, so the box covers whole pixels
      for (const [px, py] of [
        [x, y],
        [x + 1, y],
        [x, y + 1],
        [x + 1, y + 1],
      ] as const) {
        const [qx, qy] = forward(t, px, py);
        x0 = Math.min(x0, qx);
        y0 = Math.min(y0, qy);
        x1 = Math.max(x1, qx);
        y1 = Math.max(y1, qy);
      }
    }
  }
  return x0 === Infinity ? null : { x0, y0, x1, y1 };
}

/** Bilinear sample of channel c at continuous (x, y) (pixel centres at i + 0.5), border repeated. */
function bilinear(img: RawImage, c: number, x: number, y: number): number {
  const fx = Math.min(Math.max(x - 0.5, 0), img.width - 1);
  const fy = Math.min(Math.max(y - 0.5, 0), img.height - 1);
  const x0 = Math.floor(fx);
  const y0 = Math.floor(fy);
  const x1 = Math.min(x0 + 1, img.width - 1);
  const y1 = Math.min(y0 + 1, img.height - 1);
  const ax = fx - x0;
  const ay = fy - y0;
  const ch = img.channels;
  const at = (xx: number, yy: number): number => img.data[(yy * img.width + xx) * ch + Math.min(c, ch - 1)]!;
  const top = at(x0, y0) + ax * (at(x1, y0) - at(x0, y0));
  const bottom = at(x0, y1) + ax * (at(x1, y1) - at(x0, y1));
  return top + ay * (bottom - top);
}

function maskAt(mask: ArrayLike<number>, W: number, H: number, x: number, y: number): number {
  const xi = Math.floor(x);
  const yi = Math.floor(y);
  if (xi < 0 || yi < 0 || xi >= W || yi >= H) return 0;
  return mask[yi * W + xi]! > 0 ? 1 : 0;
}

/**
 * One augmented copy of (image, mask) at `out` size. `mask` is row-major at the image's size
 * (non-zero = defect) and must not be empty.
 */
export function augmentPair(image: RawImage, mask: ArrayLike<number>, out: { width: number; height: number }, rng: Rng, settings: AugmentSettings): AugmentedPair {
  const W = image.width;
  const H = image.height;
  if (mask.length !== W * H) throw new RangeError(`mask has ${mask.length} pixels; the image is ${W}x${H}`);
  const flipX = settings.flips && rng.uniform() < 0.5;
  const flipY = settings.flips && rng.uniform() < 0.5;
  let rotationDeg = settings.maxRotationDeg > 0 ? (rng.uniform() * 2 - 1) * settings.maxRotationDeg : 0;
  const make = (deg: number): Transform => {
    const r = (deg * Math.PI) / 180;
    return { flipX, flipY, cos: Math.cos(r), sin: Math.sin(r), cx: W / 2, cy: H / 2, W, H };
  };
  let t = make(rotationDeg);
  let box = maskBounds(mask, t);
  if (!box) throw new RangeError('cannot augment a pair with an empty mask');
  if (box.x0 < 0 || box.y0 < 0 || box.x1 > W || box.y1 > H) {
    // the rotation would push part of the defect off the canvas: keep it upright
    rotationDeg = 0;
    t = make(0);
    box = maskBounds(mask, t)!;
  }

  // crop of the output's aspect a = w/h containing the box; side ranges in canvas pixels
  const aspect = out.width / out.height;
  const maxH = Math.min(H, W / aspect);
  const needH = Math.max(box.y1 - box.y0, (box.x1 - box.x0) / aspect);
  let crop: { x: number; y: number; width: number; height: number };
  if (needH > maxH) {
    crop = { x: 0, y: 0, width: W, height: H }; // the defect spans more than any crop: whole canvas
  } else {
    const lo = Math.max(needH, settings.minCropFraction * maxH);
    const ch = lo >= maxH ? maxH : lo + rng.uniform() * (maxH - lo);
    const cw = ch * aspect;
    const xLo = Math.max(0, box.x1 - cw);
    const xHi = Math.min(box.x0, W - cw);
    const yLo = Math.max(0, box.y1 - ch);
    const yHi = Math.min(box.y0, H - ch);
    crop = { x: xLo + rng.uniform() * Math.max(0, xHi - xLo), y: yLo + rng.uniform() * Math.max(0, yHi - yLo), width: cw, height: ch };
  }

  const sx = crop.width / out.width;
  const sy = crop.height / out.height;
  const ssX = Math.min(4, Math.max(1, Math.ceil(sx)));
  const ssY = Math.min(4, Math.max(1, Math.ceil(sy)));
  const samples = ssX * ssY;
  const rgb = new Uint8Array(out.width * out.height * 3);
  const coverage = new Float32Array(out.width * out.height);
  for (let v = 0; v < out.height; v++) {
    for (let u = 0; u < out.width; u++) {
      let r = 0;
      let g = 0;
      let bl = 0;
      let m = 0;
      for (let j = 0; j < ssY; j++) {
        for (let i = 0; i < ssX; i++) {
          const qx = crop.x + (u + (i + 0.5) / ssX) * sx;
          const qy = crop.y + (v + (j + 0.5) / ssY) * sy;
          const [px, py] = inverse(t, qx, qy);
          r += bilinear(image, 0, px, py);
          g += bilinear(image, 1, px, py);
          bl += bilinear(image, 2, px, py);
          m += maskAt(mask, W, H, px, py);
        }
      }
      const k = v * out.width + u;
      rgb[k * 3] = Math.round(r / samples);
      rgb[k * 3 + 1] = Math.round(g / samples);
      rgb[k * 3 + 2] = Math.round(bl / samples);
      coverage[k] = m / samples;
    }
  }
  let outMask = Uint8Array.from(coverage, (c) => (c >= 0.5 ? 255 : 0));
  if (!outMask.some((x) => x > 0)) outMask = Uint8Array.from(coverage, (c) => (c > 0 ? 255 : 0));
  if (!outMask.some((x) => x > 0)) {
    // thinner than every sample point: mark the output pixel nearest the defect's centre
    const [qx, qy] = [(box.x0 + box.x1) / 2, (box.y0 + box.y1) / 2];
    const u = Math.min(out.width - 1, Math.max(0, Math.floor((qx - crop.x) / sx)));
    const v = Math.min(out.height - 1, Math.max(0, Math.floor((qy - crop.y) / sy)));
    outMask[v * out.width + u] = 255;
  }
  return {
    image: { width: out.width, height: out.height, channels: 3, data: rgb },
    mask: outMask,
    transform: { flipX, flipY, rotationDeg, crop },
  };
}

/** The whole image resized to `out` (no augmentation): previews and normal images. */
export function resizeRgb(image: RawImage, out: { width: number; height: number }): RgbImage {
  // a mask covering everything forces the crop to the whole image; NO_AUGMENT draws nothing
  const full = new Uint8Array(image.width * image.height).fill(1);
  return augmentPair(image, full, out, new Rng(0), NO_AUGMENT).image;
}

/** A binary mask (non-zero = 1) resized to `out` by coverage >= 1/2; 0 / 255. */
export function resizeMask(mask: ArrayLike<number>, size: { width: number; height: number }, out: { width: number; height: number }): Uint8Array {
  const result = new Uint8Array(out.width * out.height);
  const sx = size.width / out.width;
  const sy = size.height / out.height;
  const ssX = Math.min(4, Math.max(1, Math.ceil(sx)));
  const ssY = Math.min(4, Math.max(1, Math.ceil(sy)));
  for (let v = 0; v < out.height; v++) {
    for (let u = 0; u < out.width; u++) {
      let m = 0;
      for (let j = 0; j < ssY; j++) for (let i = 0; i < ssX; i++) m += maskAt(mask, size.width, size.height, (u + (i + 0.5) / ssX) * sx, (v + (j + 0.5) / ssY) * sy);
      result[v * out.width + u] = m * 2 >= ssX * ssY ? 255 : 0;
    }
  }
  return result;
}
