// Where in a full-resolution normal image the model generates, when the image is not the model's
// size. The model sees a square window around the mask, resized to its own size: at native scale
// (side = the model's) when the mask fits, larger only as far as the mask needs, so the defect is
// never squeezed. Only when the mask (with its margin) does not fit in a min(W, H) square, or the
// model is not square, does the whole image go to the model, aspect squeezed. Either way the
// generated window is resized back and composited into the full-resolution image
// (./make-pair.ts). The window is a pure function of the mask and the sizes, so a recipe gives the
// same window again (regenerate).
import sharp from 'sharp';
import type { RgbImage } from '../diffusion/image-tensor';
import type { PasteBackSettings } from '../diffusion/paste-back';
import type { Size2 } from '../models/types';

/** The share of the mask's bounding-box size added as context on each side. */
export const WINDOW_MARGIN = 0.25;

export interface PairWindow {
  /** top-left corner and size in the full-resolution image */
  x: number;
  y: number;
  width: number;
  height: number;
  /** true: the whole image, aspect squeezed to the model's size (the mask did not fit a square window) */
  squeezed: boolean;
}

export interface MaskBox {
  x0: number;
  y0: number;
  /** exclusive */
  x1: number;
  y1: number;
}

/** The bounding box of the non-zero pixels, or null for an empty mask. */
export function maskBox(mask: ArrayLike<number>, size: Size2): MaskBox | null {
  let x0 = size.width;
  let y0 = size.height;
  let x1 = -1;
  let y1 = -1;
  for (let y = 0; y < size.height; y++) {
    for (let x = 0; x < size.width; x++) {
      if (!(mask[y * size.width + x]! > 0)) continue;
      if (x < x0) x0 = x;
      if (x > x1) x1 = x;
      if (y < y0) y0 = y;
      if (y > y1) y1 = y;
    }
  }
  return x1 < 0 ? null : { x0, y0, x1: x1 + 1, y1: y1 + 1 };
}

/**
 * The generation window of a mask in a full x full image for a model of `model` size. The margin
 * around the box is max(WINDOW_MARGIN x the box side, dilate + feather + 1): the second term keeps
 * every pixel paste-back touches (alpha > 0, within dilate + feather of the mask) inside the
 * window, so compositing the window alone equals compositing the whole image.
 * Side s = max(model side, grown box width, grown box height); the window starts where the grown
 * box is centred in it, clamped inside the image (the grown box, cut to the image, stays inside).
 */
export function pairWindow(mask: ArrayLike<number>, full: Size2, model: Size2, paste: PasteBackSettings): PairWindow {
  const whole: PairWindow = { x: 0, y: 0, width: full.width, height: full.height, squeezed: true };
  const box = maskBox(mask, full);
  if (!box || model.width !== model.height) return whole;
  const reach = Math.ceil(paste.dilate + paste.feather) + 1;
  const bw = box.x1 - box.x0;
  const bh = box.y1 - box.y0;
  const mx = Math.max(Math.ceil(WINDOW_MARGIN * bw), reach);
  const my = Math.max(Math.ceil(WINDOW_MARGIN * bh), reach);
  const grownW = bw + 2 * mx;
  const grownH = bh + 2 * my;
  const side = Math.max(model.width, grownW, grownH);
  if (side > Math.min(full.width, full.height)) return whole;
  const place = (start: number, grown: number, extent: number): number => Math.min(Math.max(start - Math.floor((side - grown) / 2), 0), extent - side);
  return { x: place(box.x0 - mx, grownW, full.width), y: place(box.y0 - my, grownH, full.height), width: side, height: side, squeezed: false };
}

/** The window's pixels of an interleaved image with `channels` channels. */
export function cropPixels(data: Uint8Array, full: Size2, channels: number, w: PairWindow): Uint8Array {
  const out = new Uint8Array(w.width * w.height * channels);
  for (let y = 0; y < w.height; y++) {
    const from = ((w.y + y) * full.width + w.x) * channels;
    out.set(data.subarray(from, from + w.width * channels), y * w.width * channels);
  }
  return out;
}

/** Writes window pixels back into (a copy of) the full image. */
export function placePixels(full: Uint8Array, fullSize: Size2, channels: number, w: PairWindow, pixels: Uint8Array): Uint8Array {
  const out = Uint8Array.from(full);
  for (let y = 0; y < w.height; y++) out.set(pixels.subarray(y * w.width * channels, (y + 1) * w.width * channels), ((w.y + y) * fullSize.width + w.x) * channels);
  return out;
}

/** sharp's lanczos3 resize of 8-bit RGB (the resize normal images get everywhere in the project); same size: a copy. */
export async function lanczosRgb(image: RgbImage, size: Size2): Promise<RgbImage> {
  if (image.width === size.width && image.height === size.height) return { ...image, data: Uint8Array.from(image.data) };
  const out = await sharp(image.data, { raw: { width: image.width, height: image.height, channels: 3 } })
    .resize(size.width, size.height, { fit: 'fill', kernel: 'lanczos3' })
    .raw()
    .toBuffer();
  return { width: size.width, height: size.height, channels: 3, data: new Uint8Array(out.buffer, out.byteOffset, out.length) };
}

/**
 * A binary mask resized to the model's grid (0 / 255): an output pixel is set when any source
 * pixel whose centre falls in it is set, or, upscaling, when its own centre's source pixel is
 * (nearest). Downscaling keeps a thin scratch's trace, so the model is asked to paint every
 * place the stored full-resolution mask marks.
 */
export function resizeMaskToModel(mask: ArrayLike<number>, size: Size2, out: Size2): Uint8Array {
  const result = new Uint8Array(out.width * out.height);
  if (size.width === out.width && size.height === out.height) {
    for (let i = 0; i < result.length; i++) result[i] = mask[i]! > 0 ? 255 : 0;
    return result;
  }
  // nearest: each output centre reads its source pixel
  for (let v = 0; v < out.height; v++) {
    const y = Math.min(size.height - 1, Math.floor(((v + 0.5) * size.height) / out.height));
    for (let u = 0; u < out.width; u++) {
      const x = Math.min(size.width - 1, Math.floor(((u + 0.5) * size.width) / out.width));
      if (mask[y * size.width + x]! > 0) result[v * out.width + u] = 255;
    }
  }
  // any coverage: each source pixel marks the output pixel its centre falls in
  for (let y = 0; y < size.height; y++) {
    const v = Math.min(out.height - 1, Math.floor(((y + 0.5) * out.height) / size.height));
    for (let x = 0; x < size.width; x++) {
      if (!(mask[y * size.width + x]! > 0)) continue;
      result[v * out.width + Math.min(out.width - 1, Math.floor(((x + 0.5) * out.width) / size.width))] = 255;
    }
  }
  return result;
}
