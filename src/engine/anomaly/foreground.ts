// The product's foreground: where on a normal image a defect may go (beyond the paper: a mask
// off the object - on the conveyor, in the background - makes a useless training pair). Either
// drawn by the user (any 0 / non-zero mask) or found by Otsu's threshold on the grey image.
// Which side of the threshold is the object: 'bright' or 'dark', or 'auto', which takes the side
// that covers less of the image border (the object sits inside the frame; the background
// surrounds it). Otsu (1979): the threshold that maximises the between-class variance
//   sigma_b^2(k) = (mu_T w(k) - mu(k))^2 / (w(k) (1 - w(k)))
// over the 256-bin grey histogram (w: class-0 probability, mu: class-0 first moment).

import type { RawImage } from '../imaging';

export type ForegroundPolarity = 'auto' | 'bright' | 'dark';

/** Grey value (Rec. 601 luma for RGB) of each pixel. */
export function greyLevels(image: RawImage): Uint8Array {
  const n = image.width * image.height;
  if (image.channels === 1) return image.data.slice(0, n);
  const out = new Uint8Array(n);
  for (let p = 0; p < n; p++) out[p] = Math.round(0.299 * image.data[p * 3]! + 0.587 * image.data[p * 3 + 1]! + 0.114 * image.data[p * 3 + 2]!);
  return out;
}

/** Otsu's threshold t: class 0 = values <= t, class 1 = values > t. */
export function otsuThreshold(values: ArrayLike<number>): number {
  const hist = new Float64Array(256);
  for (let k = 0; k < values.length; k++) hist[values[k]!]!++;
  const total = values.length;
  let muT = 0;
  for (let i = 0; i < 256; i++) muT += i * hist[i]!;
  muT /= total;
  let w = 0;
  let mu = 0;
  let best = -1;
  let threshold = 0;
  for (let k = 0; k < 255; k++) {
    w += hist[k]! / total;
    mu += (k * hist[k]!) / total;
    if (w <= 0 || w >= 1) continue;
    const between = (muT * w - mu) ** 2 / (w * (1 - w));
    if (between > best) {
      best = between;
      threshold = k;
    }
  }
  return threshold;
}

/** The object's mask (0 / 255) of a normal image by Otsu's threshold. */
export function otsuForeground(image: RawImage, polarity: ForegroundPolarity = 'auto'): Uint8Array {
  const grey = greyLevels(image);
  const t = otsuThreshold(grey);
  const bright = Uint8Array.from(grey, (v) => (v > t ? 255 : 0));
  let side = polarity;
  if (side === 'auto') {
    const { width: W, height: H } = image;
    const borderPixels: number[] = [];
    for (let x = 0; x < W; x++) borderPixels.push(x, (H - 1) * W + x);
    for (let y = 1; y < H - 1; y++) borderPixels.push(y * W, y * W + W - 1);
    const brightOnBorder = borderPixels.filter((k) => bright[k]! > 0).length;
    side = brightOnBorder * 2 <= borderPixels.length ? 'bright' : 'dark';
  }
  return side === 'bright' ? bright : Uint8Array.from(bright, (v) => 255 - v);
}

/** mask AND foreground (both 0 / non-zero, same size) as 0 / 255. */
export function intersectMasks(mask: ArrayLike<number>, foreground: ArrayLike<number>): Uint8Array {
  if (mask.length !== foreground.length) throw new RangeError(`mask has ${mask.length} pixels, the foreground ${foreground.length}`);
  const out = new Uint8Array(mask.length);
  for (let k = 0; k < out.length; k++) out[k] = mask[k]! > 0 && foreground[k]! > 0 ? 255 : 0;
  return out;
}
