// One interface for every sampler. Levels are indexed by step: level i is the noise level of the
// sample that goes INTO step i (timesteps[i]); level N (= timesteps.length) is the clean sample.
// Blended generation needs exactly this: after step i, the sample is at level i+1, and the
// normal image's latent is noised to level i+1 (noiseTo) and pasted outside the mask.

import type { Rng } from '../../../shared/random';
import type { PredictionType } from '../schedule';

export interface StepResult {
  /** the sample at level i+1 */
  prevSample: Float32Array;
  /** the model's estimate of the clean sample */
  predOriginal: Float32Array;
}

export interface Scheduler {
  readonly name: string;
  /** the model's timestep at each step, descending */
  readonly timesteps: readonly number[];
  /** std of the starting noise in this sampler's sample space */
  readonly initNoiseSigma: number;
  /** what the model sees at step i (identity for DDIM/DDPM; Euler divides by sqrt(sigma^2 + 1)) */
  scaleModelInput(sample: Float32Array, i: number): Float32Array;
  /** x0 estimate from the model output at step i (AAR and previews use it) */
  predictOriginal(i: number, modelOutput: Float32Array, sample: Float32Array): Float32Array;
  /** one denoising step; stochastic samplers draw their noise from rng */
  step(i: number, modelOutput: Float32Array, sample: Float32Array, rng: Rng): StepResult;
  /** x0 brought to level i with the given noise (level N returns x0) */
  noiseTo(x0: Float32Array, noise: Float32Array, i: number): Float32Array;
}

/** Converts a model output (eps or v) at cumulative alpha `abar` into (x0, eps) estimates. */
export function splitPrediction(
  prediction: PredictionType,
  abar: number,
  modelOutput: Float32Array,
  sample: Float32Array,
): { x0: Float32Array; eps: Float32Array } {
  const sa = Math.sqrt(abar);
  const sb = Math.sqrt(1 - abar);
  const n = sample.length;
  const x0 = new Float32Array(n);
  const eps = new Float32Array(n);
  if (prediction === 'epsilon') {
    // z_t = sa x0 + sb eps
    for (let k = 0; k < n; k++) {
      eps[k] = modelOutput[k]!;
      x0[k] = (sample[k]! - sb * modelOutput[k]!) / sa;
    }
  } else {
    // v = sa eps - sb x0  =>  x0 = sa z - sb v, eps = sa v + sb z
    for (let k = 0; k < n; k++) {
      x0[k] = sa * sample[k]! - sb * modelOutput[k]!;
      eps[k] = sa * modelOutput[k]! + sb * sample[k]!;
    }
  }
  return { x0, eps };
}

/** sqrt(abar) x0 + sqrt(1 - abar) noise: the forward process q(z_t | z_0). */
export function noiseWithAlpha(x0: Float32Array, noise: Float32Array, abar: number): Float32Array {
  if (noise.length !== x0.length) throw new RangeError(`noise has ${noise.length} values, sample ${x0.length}`);
  const sa = Math.sqrt(abar);
  const sb = Math.sqrt(1 - abar);
  const out = new Float32Array(x0.length);
  for (let k = 0; k < x0.length; k++) out[k] = sa * x0[k]! + sb * noise[k]!;
  return out;
}

export function checkStepIndex(name: string, i: number, steps: number, allowEnd = false): void {
  const max = allowEnd ? steps : steps - 1;
  if (!Number.isInteger(i) || i < 0 || i > max) throw new RangeError(`${name}: step index ${i} outside 0..${max}`);
}
