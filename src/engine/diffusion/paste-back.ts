// After decoding, the original pixels go back outside a slightly dilated, feathered mask, so the
// background is bit-exact (not a VAE reconstruction). With dist(p) = Euclidean distance from
// pixel p to the nearest mask pixel:
//   alpha(p) = 1                                  dist <= dilate
//            = 1 - (dist - dilate) / feather      dilate < dist < dilate + feather
//            = 0                                  beyond (the original bytes are copied)

export interface PasteBackSettings {
  /** pixels of full generated content around the mask */
  dilate: number;
  /** width in pixels of the linear seam beyond the dilated mask */
  feather: number;
  /**
   * Before compositing, add the original's detail layer to the decoded image (restoreDetail):
   * the generated region keeps the photo's fine texture and noise, which the autoencoder does
   * not reproduce. Absent (settings recorded before session 12): off.
   */
  restoreDetail?: boolean;
}

/**
 * Generation's paste-back since session 12: 2 px dilation, 3 px feather, the original's detail
 * restored. Measured on the default model (`npm run model:quality`, 32 samples per family, 10
 * families; /work/experiments/s12): mean distance to the real defect 43.5 -> 43.2 with the detail
 * restored, family classifier 38.1% -> 37.8% (within the run-to-run spread), and the generated
 * region no longer shows as a blurred patch (the decoder's 30 dB reconstruction) inside a sharp
 * photo: a seam an inspection model trained on the pairs could learn instead of the defect.
 */
export const DEFAULT_PASTE_BACK: PasteBackSettings = { dilate: 2, feather: 3, restoreDetail: true };

/** Whether new generations restore the detail when their request does not say (every entry point's default). */
export const RESTORE_DETAIL_BY_DEFAULT = DEFAULT_PASTE_BACK.restoreDetail === true;

/** Paste-back as pairs recorded before restoreDetail existed were made (it is absent there: off). */
export function pasteBackOf(restore: boolean | undefined): PasteBackSettings {
  return { ...DEFAULT_PASTE_BACK, restoreDetail: restore === true };
}

/**
 * decoded + (original - decodedOriginal), rounded and clamped to 8 bits, where decodedOriginal
 * is the autoencoder's reconstruction of the original (decode(encode(original))): the
 * original's detail layer, everything the autoencoder loses (fine texture, sensor noise, sharp
 * edges), is carried over to the generated image. Where generation left the latent alone the
 * result is the original itself (decoded = decodedOriginal there); inside a generated defect it
 * is the defect as decoded plus the surface's detail, so the generated region is as sharp as
 * its surroundings and paste-back leaves no blur step at the seam. All three images are
 * interleaved 8-bit of the same size.
 */
export function restoreDetail(decoded: Uint8Array, decodedOriginal: Uint8Array, original: Uint8Array): Uint8Array {
  if (decodedOriginal.length !== decoded.length || original.length !== decoded.length) {
    throw new RangeError(`restore detail: images of ${decoded.length}, ${decodedOriginal.length} and ${original.length} bytes`);
  }
  const out = new Uint8Array(decoded.length);
  for (let k = 0; k < out.length; k++) out[k] = Math.min(255, Math.max(0, decoded[k]! + original[k]! - decodedOriginal[k]!));
  return out;
}

/**
 * Squared Euclidean distance to the nearest non-zero pixel (Felzenszwalb & Huttenlocher's exact
 * two-pass transform). Pixels with no mask pixel anywhere get Infinity.
 */
export function squaredDistanceToMask(mask: ArrayLike<number>, width: number, height: number): Float64Array {
  const INF = 1e20;
  const grid = new Float64Array(width * height);
  for (let i = 0; i < grid.length; i++) grid[i] = mask[i]! > 0 ? 0 : INF;
  const n = Math.max(width, height);
  const f = new Float64Array(n);
  const d = new Float64Array(n);
  const v = new Int32Array(n);
  const z = new Float64Array(n + 1);
  // 1-D lower envelope of parabolas
  const transform1d = (len: number): void => {
    let k = 0;
    v[0] = 0;
    z[0] = -Infinity;
    z[1] = Infinity;
    for (let q = 1; q < len; q++) {
      let s = (f[q]! + q * q - (f[v[k]!]! + v[k]! * v[k]!)) / (2 * q - 2 * v[k]!);
      while (s <= z[k]!) {
        k--;
        s = (f[q]! + q * q - (f[v[k]!]! + v[k]! * v[k]!)) / (2 * q - 2 * v[k]!);
      }
      k++;
      v[k] = q;
      z[k] = s;
      z[k + 1] = Infinity;
    }
    k = 0;
    for (let q = 0; q < len; q++) {
      while (z[k + 1]! < q) k++;
      d[q] = (q - v[k]!) ** 2 + f[v[k]!]!;
    }
  };
  for (let x = 0; x < width; x++) {
    for (let y = 0; y < height; y++) f[y] = grid[y * width + x]!;
    transform1d(height);
    for (let y = 0; y < height; y++) grid[y * width + x] = d[y]!;
  }
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) f[x] = grid[y * width + x]!;
    transform1d(width);
    for (let x = 0; x < width; x++) grid[y * width + x] = d[x]! >= INF / 2 ? Infinity : d[x]!;
  }
  return grid;
}

/** The blend weight of the generated image per pixel (1 inside, 0 far away). */
export function pasteBackAlpha(mask: ArrayLike<number>, width: number, height: number, settings: PasteBackSettings): Float32Array {
  const dist2 = squaredDistanceToMask(mask, width, height);
  const alpha = new Float32Array(width * height);
  for (let i = 0; i < alpha.length; i++) {
    const dist = Math.sqrt(dist2[i]!);
    if (dist <= settings.dilate) alpha[i] = 1;
    else if (settings.feather > 0 && dist < settings.dilate + settings.feather) alpha[i] = 1 - (dist - settings.dilate) / settings.feather;
  }
  return alpha;
}

/**
 * Composites generated pixels over the original (both interleaved 8-bit, same size and channels).
 * Where alpha is 0 the original bytes are copied unchanged.
 */
export function pasteBack(
  original: Uint8Array,
  generated: Uint8Array,
  mask: ArrayLike<number>,
  image: { width: number; height: number; channels: number },
  settings: PasteBackSettings = DEFAULT_PASTE_BACK,
): Uint8Array {
  const { width, height, channels } = image;
  if (original.length !== width * height * channels || generated.length !== original.length) {
    throw new RangeError(`paste-back: images of ${original.length} and ${generated.length} bytes for ${width}x${height}x${channels}`);
  }
  const alpha = pasteBackAlpha(mask, width, height, settings);
  const out = Uint8Array.from(original);
  for (let p = 0; p < alpha.length; p++) {
    const a = alpha[p]!;
    if (a === 0) continue;
    for (let c = 0; c < channels; c++) {
      const k = p * channels + c;
      out[k] = Math.round(a * generated[k]! + (1 - a) * original[k]!);
    }
  }
  return out;
}
