// Masks on the latent grid. A latent cell covers f x f pixels (f = 8 for SD-class VAEs).
//  - generation: a cell is inside when ANY of its pixels is (max-pool), so a defect smaller than a
//    cell still gets painted; the pixel paste-back keeps the background exact anyway;
//  - training loss: METHOD.md's m' = mask resized to the latent grid, thresholded at 0.5
//    (area average >= 0.5), so the loss looks only at cells that are mostly defect.

export interface Grid {
  width: number;
  height: number;
}

/** Binary pixel mask (0/1 or 0/255, row-major) -> latent-grid mask of 0/1 floats. */
export function maskToLatent(mask: ArrayLike<number>, pixels: Grid, latent: Grid, mode: 'any' | 'majority'): Float32Array {
  if (mask.length !== pixels.width * pixels.height) {
    throw new RangeError(`mask has ${mask.length} values for ${pixels.width}x${pixels.height} pixels`);
  }
  const out = new Float32Array(latent.width * latent.height);
  for (let ly = 0; ly < latent.height; ly++) {
    const y0 = Math.floor((ly * pixels.height) / latent.height);
    const y1 = Math.max(y0 + 1, Math.floor(((ly + 1) * pixels.height) / latent.height));
    for (let lx = 0; lx < latent.width; lx++) {
      const x0 = Math.floor((lx * pixels.width) / latent.width);
      const x1 = Math.max(x0 + 1, Math.floor(((lx + 1) * pixels.width) / latent.width));
      let inside = 0;
      for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) if (mask[y * pixels.width + x]! > 0) inside++;
      const area = (y1 - y0) * (x1 - x0);
      out[ly * latent.width + lx] = mode === 'any' ? (inside > 0 ? 1 : 0) : inside * 2 >= area ? 1 : 0;
    }
  }
  return out;
}

/** Dilates a 0/1 grid mask by a square of the given radius (cells). */
export function dilateGrid(mask: Float32Array, grid: Grid, radius: number): Float32Array {
  if (radius <= 0) return Float32Array.from(mask);
  const { width: w, height: h } = grid;
  // separable max filter: rows, then columns
  const rows = new Float32Array(mask.length);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let m = 0;
      for (let dx = -radius; dx <= radius && m === 0; dx++) {
        const xx = x + dx;
        if (xx >= 0 && xx < w && mask[y * w + xx]! > 0) m = 1;
      }
      rows[y * w + x] = m;
    }
  }
  const out = new Float32Array(mask.length);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let m = 0;
      for (let dy = -radius; dy <= radius && m === 0; dy++) {
        const yy = y + dy;
        if (yy >= 0 && yy < h && rows[yy * w + x]! > 0) m = 1;
      }
      out[y * w + x] = m;
    }
  }
  return out;
}

/**
 * Blends per channel: inside (m = 1) takes `inside`, outside takes `outside`. Latents are
 * [C, H, W] (one image); the mask is [H, W].
 */
export function blendLatents(inside: Float32Array, outside: Float32Array, mask: Float32Array): Float32Array {
  const plane = mask.length;
  if (inside.length !== outside.length || inside.length % plane !== 0) {
    throw new RangeError(`cannot blend latents of ${inside.length} and ${outside.length} values with a ${plane}-cell mask`);
  }
  const out = new Float32Array(inside.length);
  for (let k = 0; k < inside.length; k++) {
    const m = mask[k % plane]!;
    out[k] = m * inside[k]! + (1 - m) * outside[k]!;
  }
  return out;
}
