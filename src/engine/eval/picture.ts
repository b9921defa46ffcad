// The working image types of evaluation and the baselines: float RGB in [0, 1] and binary masks,
// both row-major at the inspector's resolution, plus loading (decode + resize), resampling,
// flips and PNG encoding.
//
// Masks are reduced to the working resolution by area coverage: a target pixel is defect when at
// least MASK_COVERAGE of the source pixels it covers are. Nearest-neighbour sampling would drop
// thin scratches (1-3 source pixels wide) whenever the sample grid misses them.
import sharp from 'sharp';
import { UserError } from '../../shared/errors';
import { binariseMask, decodeImage, encodePng } from '../imaging';

/** RGB interleaved, values in [0, 1]. */
export interface Picture {
  width: number;
  height: number;
  data: Float32Array;
}

/** 1 = defect, 0 = background. */
export interface Mask {
  width: number;
  height: number;
  data: Uint8Array;
}

export const MASK_COVERAGE = 0.25;

export function blankPicture(width: number, height: number): Picture {
  return { width, height, data: new Float32Array(width * height * 3) };
}

export function blankMask(width: number, height: number): Mask {
  return { width, height, data: new Uint8Array(width * height) };
}

export function clonePicture(p: Picture): Picture {
  return { width: p.width, height: p.height, data: p.data.slice() };
}

/** Decodes an image file's bytes and resizes it to width x height RGB (aspect not kept). */
export async function loadPicture(bytes: Uint8Array, path: string, width: number, height: number): Promise<Picture> {
  let data: Buffer;
  try {
    data = await sharp(bytes, { failOn: 'truncated' }).removeAlpha().toColourspace('srgb').resize(width, height, { fit: 'fill', kernel: 'lanczos3' }).raw().toBuffer();
  } catch (e) {
    throw new UserError('IMAGE_UNREADABLE', `${path}: ${(e as Error).message}`);
  }
  if (data.length !== width * height * 3) throw new UserError('IMAGE_UNREADABLE', `${path}: decoded to ${data.length} bytes, expected ${width * height * 3}`);
  const out = blankPicture(width, height);
  for (let i = 0; i < data.length; i++) out.data[i] = data[i]! / 255;
  return out;
}

/** Decodes a mask file (>= 128 is defect) and reduces it to width x height by area coverage. */
export async function loadMask(bytes: Uint8Array, path: string, width: number, height: number): Promise<Mask> {
  const full = binariseMask(await decodeImage(bytes, path)).mask;
  return coverageResize({ width: full.width, height: full.height, data: full.data.map((v) => (v ? 1 : 0)) }, width, height);
}

/** Area-coverage resize of a binary mask (see the header). */
export function coverageResize(mask: Mask, width: number, height: number): Mask {
  const out = blankMask(width, height);
  const sx = mask.width / width;
  const sy = mask.height / height;
  for (let y = 0; y < height; y++) {
    const y0 = y * sy;
    const y1 = y0 + sy;
    for (let x = 0; x < width; x++) {
      const x0 = x * sx;
      const x1 = x0 + sx;
      let covered = 0;
      // exact overlap of the target cell [x0,x1)x[y0,y1) with each source pixel
      for (let v = Math.floor(y0); v < Math.min(mask.height, Math.ceil(y1)); v++) {
        const oy = Math.min(y1, v + 1) - Math.max(y0, v);
        for (let u = Math.floor(x0); u < Math.min(mask.width, Math.ceil(x1)); u++) {
          if (mask.data[v * mask.width + u]) covered += oy * (Math.min(x1, u + 1) - Math.max(x0, u));
        }
      }
      out.data[y * width + x] = covered >= MASK_COVERAGE * sx * sy ? 1 : 0;
    }
  }
  return out;
}

/** Bilinear sample of channel c at (x, y) in pixel-centre coordinates, clamped at the border. */
export function sampleBilinear(p: Picture, x: number, y: number, c: number): number {
  const fx = Math.min(Math.max(x, 0), p.width - 1);
  const fy = Math.min(Math.max(y, 0), p.height - 1);
  const x0 = Math.floor(fx);
  const y0 = Math.floor(fy);
  const x1 = Math.min(x0 + 1, p.width - 1);
  const y1 = Math.min(y0 + 1, p.height - 1);
  const ax = fx - x0;
  const ay = fy - y0;
  const at = (xx: number, yy: number): number => p.data[(yy * p.width + xx) * 3 + c]!;
  return (1 - ay) * ((1 - ax) * at(x0, y0) + ax * at(x1, y0)) + ay * ((1 - ax) * at(x0, y1) + ax * at(x1, y1));
}

/** Bilinear resize (pixel centres aligned, as align_corners=False). */
export function resizePicture(p: Picture, width: number, height: number): Picture {
  const out = blankPicture(width, height);
  const sx = p.width / width;
  const sy = p.height / height;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      for (let c = 0; c < 3; c++) out.data[(y * width + x) * 3 + c] = sampleBilinear(p, (x + 0.5) * sx - 0.5, (y + 0.5) * sy - 0.5, c);
    }
  }
  return out;
}

/** Mirrors a picture and its mask together (horizontal and/or vertical). */
export function flipPair(p: Picture, m: Mask, horizontal: boolean, vertical: boolean): { picture: Picture; mask: Mask } {
  if (!horizontal && !vertical) return { picture: p, mask: m };
  const { width, height } = p;
  const picture = blankPicture(width, height);
  const mask = blankMask(width, height);
  for (let y = 0; y < height; y++) {
    const sy = vertical ? height - 1 - y : y;
    for (let x = 0; x < width; x++) {
      const sx = horizontal ? width - 1 - x : x;
      const s = sy * width + sx;
      const d = y * width + x;
      mask.data[d] = m.data[s]!;
      for (let c = 0; c < 3; c++) picture.data[d * 3 + c] = p.data[s * 3 + c]!;
    }
  }
  return { picture, mask };
}

/** 8-bit RGB bytes (rounded) of a picture. */
export function pictureBytes(p: Picture): Uint8Array {
  const out = new Uint8Array(p.data.length);
  for (let i = 0; i < out.length; i++) out[i] = Math.round(Math.min(1, Math.max(0, p.data[i]!)) * 255);
  return out;
}

export function encodePicturePng(p: Picture): Promise<Buffer> {
  return encodePng({ width: p.width, height: p.height, channels: 3, data: pictureBytes(p) });
}

export function encodeMaskPng(m: Mask): Promise<Buffer> {
  return encodePng({ width: m.width, height: m.height, channels: 1, data: m.data.map((v) => (v ? 255 : 0)) });
}

export function maskArea(m: Mask): number {
  let n = 0;
  for (let i = 0; i < m.data.length; i++) n += m.data[i] ? 1 : 0;
  return n;
}
