// Binarising defect masks. A pixel is defect when its value is >= 128 (for a colour mask: when any
// channel is, so red or green annotations on black count as defect). The result is 1 channel,
// 0 = background, 255 = defect. Pixels that were neither 0 nor 255 are counted, so the importer
// can warn about masks that were resized or saved as JPEG.
import type { RawImage } from './types';

export const MASK_THRESHOLD = 128;

export interface BinaryMask {
  mask: RawImage & { channels: 1 };
  /** Defect pixels (255 after thresholding). */
  areaPx: number;
  /** Pixels whose value (the maximum over channels) was neither 0 nor 255 before thresholding. */
  nonBinaryPx: number;
}

export function binariseMask(img: RawImage): BinaryMask {
  const n = img.width * img.height;
  const c = img.channels;
  const out = new Uint8Array(n);
  let area = 0;
  let nonBinary = 0;
  for (let i = 0; i < n; i++) {
    let v = img.data[i * c]!;
    for (let k = 1; k < c; k++) v = Math.max(v, img.data[i * c + k]!);
    if (v !== 0 && v !== 255) nonBinary++;
    if (v >= MASK_THRESHOLD) {
      out[i] = 255;
      area++;
    }
  }
  return { mask: { width: img.width, height: img.height, channels: 1, data: out }, areaPx: area, nonBinaryPx: nonBinary };
}
