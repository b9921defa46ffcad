// Classifier-free guidance and its rescaling.
//   guided = u + w (c - u)                                    (Ho & Salimans 2022)
// With a zero-terminal-SNR schedule (Lin et al. 2024, section 3.4) a large w over-exposes: the
// guided prediction's spread grows with w. Rescaling pulls it back to the conditional one's:
//   rescaled = guided * std(c) / std(guided),   out = phi * rescaled + (1 - phi) * guided
// per item, over all its values (diffusers' guidance_rescale; the paper uses phi = 0.7).

/** One item's guided prediction from its unconditional `u` and conditional `c` outputs. */
export function guide(u: Float32Array, c: Float32Array, scale: number, rescale = 0): Float32Array {
  if (u.length !== c.length) throw new RangeError(`guidance: ${u.length} unconditional values, ${c.length} conditional`);
  if (!(rescale >= 0 && rescale <= 1)) throw new RangeError(`guidance rescale must be in [0, 1], got ${rescale}`);
  const guided = new Float32Array(c.length);
  for (let j = 0; j < c.length; j++) guided[j] = u[j]! + scale * (c[j]! - u[j]!);
  if (rescale === 0) return guided;
  const spread = standardDeviation(guided);
  if (spread === 0) return guided;
  const factor = rescale * (standardDeviation(c) / spread) + (1 - rescale);
  for (let j = 0; j < guided.length; j++) guided[j] = guided[j]! * factor;
  return guided;
}

function standardDeviation(x: Float32Array): number {
  let mean = 0;
  for (let j = 0; j < x.length; j++) mean += x[j]!;
  mean /= x.length;
  let sq = 0;
  for (let j = 0; j < x.length; j++) sq += (x[j]! - mean) ** 2;
  return Math.sqrt(sq / x.length);
}
