// DDPM (Ho et al. 2020): the forward process used for training noise, and ancestral sampling
// with the posterior q(z_p | z_t, x0) ("fixed_small" variance) over spaced timesteps:
//   mean = sqrt(a_p) b / (1 - a_t) x0 + sqrt(alpha) (1 - a_p) / (1 - a_t) z_t
//   var  = (1 - a_p) / (1 - a_t) b,   alpha = a_t / a_p,  b = 1 - alpha

import type { Rng } from '../../../shared/random';
import type { ScheduleConfig } from '../schedule';
import { AlphaSpaceScheduler } from './alpha-space';
import { checkStepIndex, noiseWithAlpha, splitPrediction, type StepResult } from './scheduler';

export class DdpmScheduler extends AlphaSpaceScheduler {
  readonly name = 'ddpm';

  constructor(config: ScheduleConfig, steps: number = config.numTrainTimesteps) {
    super(config, steps, () => 1);
  }

  /** q(z_t | z_0) at any training timestep t: how training batches are noised. */
  addNoise(x0: Float32Array, noise: Float32Array, t: number): Float32Array {
    if (!Number.isInteger(t) || t < 0 || t >= this.abar.length) throw new RangeError(`timestep ${t} outside 0..${this.abar.length - 1}`);
    return noiseWithAlpha(x0, noise, this.abar[t]!);
  }

  step(i: number, modelOutput: Float32Array, sample: Float32Array, rng: Rng): StepResult {
    checkStepIndex(this.name, i, this.timesteps.length);
    const at = this.levelAbar(i);
    const ap = this.levelAbar(i + 1);
    const alpha = at / ap;
    const beta = 1 - alpha;
    const { x0 } = splitPrediction(this.config.predictionType, at, modelOutput, sample);
    const cx0 = (Math.sqrt(ap) * beta) / (1 - at);
    const cxt = (Math.sqrt(alpha) * (1 - ap)) / (1 - at);
    const std = i + 1 < this.timesteps.length ? Math.sqrt(Math.max(((1 - ap) / (1 - at)) * beta, 1e-20)) : 0;
    const prev = new Float32Array(sample.length);
    for (let k = 0; k < sample.length; k++) {
      prev[k] = cx0 * x0[k]! + cxt * sample[k]! + (std > 0 ? std * rng.normal() : 0);
    }
    return { prevSample: prev, predOriginal: x0 };
  }
}
