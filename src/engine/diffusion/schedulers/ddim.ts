// DDIM (Song et al. 2021), the paper's sampler. eta = 0 is deterministic; eta = 1 matches DDPM's
// posterior variance (the AnomalyDiffusion code samples with eta = 1).
//   x0 = (z_t - sqrt(1 - a_t) eps) / sqrt(a_t)
//   sigma = eta * sqrt((1 - a_p) / (1 - a_t)) * sqrt(1 - a_t / a_p)
//   z_p = sqrt(a_p) x0 + sqrt(1 - a_p - sigma^2) eps + sigma * noise
// with a_t = abar at this step's timestep and a_p = abar at the next step's (1 or abar_0 at the end).

import type { Rng } from '../../../shared/random';
import type { ScheduleConfig } from '../schedule';
import { AlphaSpaceScheduler } from './alpha-space';
import { checkStepIndex, splitPrediction, type StepResult } from './scheduler';

export class DdimScheduler extends AlphaSpaceScheduler {
  readonly name = 'ddim';

  constructor(
    config: ScheduleConfig,
    steps: number,
    readonly eta = 0,
  ) {
    super(config, steps, (abar) => (config.setAlphaToOne ? 1 : abar[0]!));
    if (!(eta >= 0 && eta <= 1)) throw new RangeError(`DDIM eta must be in [0, 1], got ${eta}`);
  }

  step(i: number, modelOutput: Float32Array, sample: Float32Array, rng: Rng): StepResult {
    checkStepIndex(this.name, i, this.timesteps.length);
    const at = this.levelAbar(i);
    const ap = this.levelAbar(i + 1);
    const { x0, eps } = splitPrediction(this.config.predictionType, at, modelOutput, sample);
    const variance = ((1 - ap) / (1 - at)) * (1 - at / ap);
    const sigma = this.eta * Math.sqrt(Math.max(variance, 0));
    const dirCoef = Math.sqrt(Math.max(1 - ap - sigma * sigma, 0));
    const sap = Math.sqrt(ap);
    const prev = new Float32Array(sample.length);
    for (let k = 0; k < sample.length; k++) {
      prev[k] = sap * x0[k]! + dirCoef * eps[k]! + (sigma > 0 ? sigma * rng.normal() : 0);
    }
    return { prevSample: prev, predOriginal: x0 };
  }
}
