// The feeds of the adaptation graph (./adapt-graph.ts): training batches drawn from a step's Rng,
// and the fixed held-out evaluation. Each item is a cached example (latent z0 and image), a
// timestep t and noise eps; the graph forms x_t = sqrt(abar_t) z0 + sqrt(1 - abar_t) eps itself.

import { Rng } from '../../shared/random';
import type { HostTensor } from '../runtime';

export interface Example {
  /** scaled latent [C, h, w] */
  z0: Float32Array;
  /** the image [3, H, W] in [-1, 1] */
  image: Float32Array;
}

/** batch, latent channels and size, image size */
export interface Shapes {
  B: number;
  C: number;
  h: number;
  w: number;
  H: number;
  W: number;
}

export interface BatchItem<E = Example> {
  ex: E;
  t: number;
  noise: Float32Array;
}

const f32 = (dims: number[], data: Float32Array): HostTensor => ({ dtype: 'float32', dims, data });

function feedsOf(items: readonly BatchItem[], abar: Float64Array, s: Shapes): Record<string, HostTensor> {
  const per = s.C * s.h * s.w;
  const imagePer = 3 * s.H * s.W;
  const z0 = new Float32Array(s.B * per);
  const noise = new Float32Array(s.B * per);
  const image = new Float32Array(s.B * imagePer);
  const sa = new Float32Array(s.B);
  const sb = new Float32Array(s.B);
  const timestep = new Float32Array(s.B);
  items.forEach(({ ex, t, noise: n }, k) => {
    z0.set(ex.z0, k * per);
    noise.set(n, k * per);
    image.set(ex.image, k * imagePer);
    sa[k] = Math.sqrt(abar[t]!);
    sb[k] = Math.sqrt(1 - abar[t]!);
    timestep[k] = t;
  });
  return {
    z0: f32([s.B, s.C, s.h, s.w], z0),
    noise: f32([s.B, s.C, s.h, s.w], noise),
    sqrt_abar: f32([s.B, 1, 1, 1], sa),
    sqrt_one_minus_abar: f32([s.B, 1, 1, 1], sb),
    timestep: f32([s.B], timestep),
    image: f32([s.B, 3, s.H, s.W], image),
  };
}

/** One training batch: examples, t ~ U{0..T-1} and eps ~ N(0, I), all from the step's Rng. */
export function trainingBatch(examples: readonly Example[], T: number, abar: Float64Array, s: Shapes, rng: Rng): Record<string, HostTensor> {
  const per = s.C * s.h * s.w;
  const items = Array.from({ length: s.B }, () => ({ ex: examples[rng.int(examples.length)]!, t: rng.int(T), noise: rng.normals(per) }));
  return feedsOf(items, abar, s);
}

/** timesteps per held-out image */
export const HELD_OUT_LEVELS = 4;

/**
 * The held-out items: each held-out example at HELD_OUT_LEVELS stratified timesteps
 * (t_k = (k + 1/2) T / levels, low-variance coverage of the schedule) with noise drawn once from
 * the seed (`perLatent` values each), image by image.
 */
export function heldOutItems<E>(heldOut: readonly E[], T: number, perLatent: number, seed: number): BatchItem<E>[] {
  const rng = new Rng((seed ^ 0x3c6ef372) >>> 0);
  const L = HELD_OUT_LEVELS;
  return heldOut.flatMap((ex) => Array.from({ length: L }, (_, k) => ({ ex, t: Math.floor(((k + 0.5) * T) / L), noise: rng.normals(perLatent) })));
}

/**
 * The fixed held-out evaluation: heldOutItems cycled into whole batches. The same batches every
 * evaluation, so the curve moves only with the weights.
 */
export function heldOutBatches(heldOut: readonly Example[], abar: Float64Array, s: Shapes, seed: number): Record<string, HostTensor>[] {
  const items = heldOutItems(heldOut, abar.length, s.C * s.h * s.w, seed);
  const batches: Record<string, HostTensor>[] = [];
  for (let start = 0; start < items.length; start += s.B) {
    batches.push(feedsOf(Array.from({ length: s.B }, (_, k) => items[(start + k) % items.length]!), abar, s));
  }
  return batches;
}
