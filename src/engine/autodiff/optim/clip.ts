// Gradient clipping by global norm (torch.nn.utils.clip_grad_norm_): with
//   n = sqrt(sum over all gradients of g^2),
// every gradient is scaled by min(1, maxNorm / (n + 1e-6)). Returns n before clipping.

export function clipGradNorm(grads: Iterable<Float32Array>, maxNorm: number): number {
  if (!(maxNorm > 0)) throw new Error(`gradient clipping: max norm must be positive, got ${maxNorm}`);
  const all = [...grads];
  const norm = globalNorm(all);
  const coef = maxNorm / (norm + 1e-6);
  if (coef < 1) for (const g of all) for (let i = 0; i < g.length; i++) g[i] = g[i]! * coef;
  return norm;
}

/** The global L2 norm of a set of gradients. */
export function globalNorm(grads: Iterable<Float32Array>): number {
  let sumSquares = 0;
  for (const g of grads) for (let i = 0; i < g.length; i++) sumSquares += g[i]! * g[i]!;
  return Math.sqrt(sumSquares);
}
