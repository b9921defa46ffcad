// Turning a generated mask image into a binary mask, and the rules that reject unusable masks
// (METHOD.md, mask generation, after the public code): average the three channels, keep pixels
// above 0.8 on the [-1, 1] scale; reject a mask that is empty, or that runs along the image
// border (more than a third of any border row or column is defect: such masks come from the
// model painting the frame, not a defect).

export const DEFAULT_MASK_THRESHOLD = 0.8;
export const BORDER_LIMIT = 1 / 3;

export type MaskRejection = 'empty' | 'border';

/** [3, H, W] image in [-1, 1] -> 0 / 255 mask: channel mean > threshold. */
export function thresholdMaskImage(image: Float32Array, width: number, height: number, threshold = DEFAULT_MASK_THRESHOLD): Uint8Array {
  const plane = width * height;
  if (image.length !== 3 * plane) throw new RangeError(`mask image has ${image.length} values; 3x${height}x${width} needs ${3 * plane}`);
  const out = new Uint8Array(plane);
  for (let p = 0; p < plane; p++) {
    const mean = (image[p]! + image[plane + p]! + image[2 * plane + p]!) / 3;
    out[p] = mean > threshold ? 255 : 0;
  }
  return out;
}

/** Why a mask (0 / non-zero, row-major) must be rejected, or null when it is usable. */
export function maskRejection(mask: ArrayLike<number>, width: number, height: number, borderLimit = BORDER_LIMIT): MaskRejection | null {
  if (mask.length !== width * height) throw new RangeError(`mask has ${mask.length} pixels for ${width}x${height}`);
  let any = false;
  for (let k = 0; k < mask.length && !any; k++) any = mask[k]! > 0;
  if (!any) return 'empty';
  const rowShare = (y: number): number => {
    let n = 0;
    for (let x = 0; x < width; x++) if (mask[y * width + x]! > 0) n++;
    return n / width;
  };
  const columnShare = (x: number): number => {
    let n = 0;
    for (let y = 0; y < height; y++) if (mask[y * width + x]! > 0) n++;
    return n / height;
  };
  if (rowShare(0) > borderLimit || rowShare(height - 1) > borderLimit || columnShare(0) > borderLimit || columnShare(width - 1) > borderLimit) return 'border';
  return null;
}

export function maskArea(mask: ArrayLike<number>): number {
  let n = 0;
  for (let k = 0; k < mask.length; k++) if (mask[k]! > 0) n++;
  return n;
}
