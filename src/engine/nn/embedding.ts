// Sinusoidal timestep embedding (as in DDPM / diffusers' get_timestep_embedding with
// flip_sin_to_cos=false, downscale_freq_shift=1): for dim = 2*half,
//   freq_i = exp(-ln(maxPeriod) * i / (half - 1)),  i = 0..half-1
//   emb(t) = [sin(t * freq_0..), cos(t * freq_0..)]
// followed by the usual Linear -> SiLU -> Linear projection.

import { silu } from './activation';
import { linear } from './linear';
import type { Net, Value } from './net';

export function sinusoidalFrequencies(dim: number, maxPeriod = 10000): Float32Array {
  if (dim % 2 !== 0 || dim < 4) throw new Error(`timestep embedding width must be even and >= 4, got ${dim}`);
  const half = dim / 2;
  return Float32Array.from({ length: half }, (_, i) => Math.exp((-Math.log(maxPeriod) * i) / (half - 1)));
}

/** t: [B] float timesteps -> [B, dim] sin/cos features (no parameters). */
export function timestepFeatures(net: Net, t: Value, dim: number, maxPeriod = 10000): Value {
  if (t.shape.length !== 1) throw new Error(`timestep input '${t.name}' must have shape [B], got [${t.shape}]`);
  const batch = t.shape[0]!;
  const half = dim / 2;
  const freqs = net.constant(sinusoidalFrequencies(dim, maxPeriod), [1, half], 'timestep_freqs');
  const column = net.op('Unsqueeze', [t.name, net.b.ints([1])], [batch, 1]);
  const args = net.op('Mul', [column.name, freqs.name], [batch, half]);
  const sin = net.op('Sin', [args.name], args.shape);
  const cos = net.op('Cos', [args.name], args.shape);
  return net.op('Concat', [sin.name, cos.name], [batch, dim], { axis: 1 });
}

/** t: [B] -> [B, outDim] learned embedding: Linear(features) -> SiLU -> Linear. */
export function timestepEmbedding(net: Net, name: string, t: Value, featureDim: number, outDim: number): Value {
  const features = timestepFeatures(net, t, featureDim);
  return linear(net, `${name}.linear_2`, silu(net, linear(net, `${name}.linear_1`, features, outDim)), outDim);
}
