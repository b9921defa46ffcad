// Adaptive attention re-weighting (METHOD.md, AAR). At a step with x0_hat predicted from eps_hat:
//   d(p)   = mean over channels of (y(p) - x0_hat(p))^2                  for p inside the mask
//   w_m(p) = |m|_1 * softmax_{p in mask}(1 / d(p)),  w_m = 1 outside the mask
// so the weights average 1 over the mask and are largest where the generated defect still looks
// like the normal image; then clamped (the public code: [1, 1.5]). Cross-attention layers multiply
// the attention probabilities of the anomaly-token columns by w_m resized to their grid.
// Computed in latent space (the public code's choice, cheap); decoding x0_hat to pixels is the
// paper's variant and can feed the same function at pixel resolution.

export interface AarSettings {
  enabled: boolean;
  /** [min, max] clamp of the weights; the public code uses [1, 1.5] */
  clamp: [number, number];
  /** latent cells of extra mask at the first step, shrinking linearly to 0 (the public code dilates early) */
  dilationRadius: number;
}

export const DEFAULT_AAR: AarSettings = { enabled: true, clamp: [1, 1.5], dilationRadius: 0 };

/** Guards 1/d when the prediction equals the normal image exactly. */
const MIN_DISTANCE = 1e-8;

/**
 * @param y      the normal image's clean latent, [C, H*W]
 * @param x0Hat  the predicted clean latent, [C, H*W]
 * @param mask   0/1 latent mask, [H*W]
 * @returns      weights per latent cell, [H*W]
 */
export function aarWeights(y: Float32Array, x0Hat: Float32Array, mask: Float32Array, clamp: [number, number]): Float32Array {
  const cells = mask.length;
  if (y.length !== x0Hat.length || y.length % cells !== 0) {
    throw new RangeError(`AAR: latents of ${y.length} and ${x0Hat.length} values do not match a ${cells}-cell mask`);
  }
  const channels = y.length / cells;
  const weights = new Float32Array(cells).fill(1);
  const inside: number[] = [];
  const logits: number[] = [];
  for (let p = 0; p < cells; p++) {
    if (mask[p]! <= 0) continue;
    let d = 0;
    for (let c = 0; c < channels; c++) {
      const diff = y[c * cells + p]! - x0Hat[c * cells + p]!;
      d += diff * diff;
    }
    inside.push(p);
    logits.push(1 / Math.max(d / channels, MIN_DISTANCE));
  }
  if (inside.length === 0) return weights;
  // numerically stable softmax over the mask's cells
  const max = Math.max(...logits);
  let sum = 0;
  const exps = logits.map((l) => {
    const e = Math.exp(l - max);
    sum += e;
    return e;
  });
  const [lo, hi] = clamp;
  inside.forEach((p, j) => {
    const w = (inside.length * exps[j]!) / sum;
    weights[p] = Math.min(hi, Math.max(lo, w));
  });
  return weights;
}

/** Dilation radius (latent cells) at step i of n: maxRadius at the first step, 0 at the last. */
export function aarDilationAt(i: number, steps: number, maxRadius: number): number {
  if (steps <= 1 || maxRadius <= 0) return 0;
  return Math.round(maxRadius * (1 - i / (steps - 1)));
}
