// Euler discrete sampler (Karras et al. 2022, as diffusers' EulerDiscreteScheduler) for fast
// previews. Samples live in the variance-exploding space x = z_t / sqrt(abar_t) = x0 + sigma eps,
// sigma_t = sqrt((1 - abar_t) / abar_t); one Euler step of dx/dsigma = eps:
//   x_next = x + (sigma_next - sigma) * eps,   eps = (x - x0_hat) / sigma

import { alphasCumprod, spacedTimesteps, type ScheduleConfig } from '../schedule';
import { checkStepIndex, splitPrediction, type Scheduler, type StepResult } from './scheduler';

/** the smallest abar Euler works with (sigma ~ 4096) */
const MIN_ABAR = 2 ** -24;

export class EulerScheduler implements Scheduler {
  readonly name = 'euler';
  readonly timesteps: readonly number[];
  readonly initNoiseSigma: number;
  /** sigma per level; sigmas[N] = 0 (clean) */
  readonly sigmas: Float64Array;

  constructor(
    private readonly config: ScheduleConfig,
    steps: number,
  ) {
    const abar = alphasCumprod(config);
    this.timesteps = spacedTimesteps(config, steps);
    this.sigmas = new Float64Array(this.timesteps.length + 1);
    // a zero-terminal-SNR schedule's abar_T = 0 is an infinite sigma; diffusers' Euler clamps it to 2^-24
    this.timesteps.forEach((t, i) => {
      const a = Math.max(abar[t]!, MIN_ABAR);
      this.sigmas[i] = Math.sqrt((1 - a) / a);
    });
    this.initNoiseSigma = Math.sqrt(this.sigmas[0]! ** 2 + 1);
  }

  scaleModelInput(sample: Float32Array, i: number): Float32Array {
    checkStepIndex(this.name, i, this.timesteps.length);
    const s = 1 / Math.sqrt(this.sigmas[i]! ** 2 + 1);
    return sample.map((v) => v * s);
  }

  predictOriginal(i: number, modelOutput: Float32Array, sample: Float32Array): Float32Array {
    checkStepIndex(this.name, i, this.timesteps.length);
    const sigma = this.sigmas[i]!;
    // the model saw z = x / sqrt(sigma^2 + 1), whose abar is 1 / (sigma^2 + 1)
    return splitPrediction(this.config.predictionType, 1 / (sigma * sigma + 1), modelOutput, this.scaleModelInput(sample, i)).x0;
  }

  step(i: number, modelOutput: Float32Array, sample: Float32Array): StepResult {
    const x0 = this.predictOriginal(i, modelOutput, sample);
    const sigma = this.sigmas[i]!;
    const next = this.sigmas[i + 1]!;
    const prev = new Float32Array(sample.length);
    for (let k = 0; k < sample.length; k++) {
      const eps = (sample[k]! - x0[k]!) / sigma;
      prev[k] = sample[k]! + (next - sigma) * eps;
    }
    return { prevSample: prev, predOriginal: x0 };
  }

  noiseTo(x0: Float32Array, noise: Float32Array, i: number): Float32Array {
    checkStepIndex(this.name, i, this.timesteps.length, true);
    const sigma = this.sigmas[i]!;
    const out = new Float32Array(x0.length);
    for (let k = 0; k < x0.length; k++) out[k] = x0[k]! + sigma * noise[k]!;
    return out;
  }
}
