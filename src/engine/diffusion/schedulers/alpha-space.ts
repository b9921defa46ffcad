// Shared by the samplers that work on z_t = sqrt(abar_t) x0 + sqrt(1 - abar_t) eps directly
// (DDIM, DDPM): level bookkeeping, x0 estimates and forward noising. Subclasses add `step`.

import type { Rng } from '../../../shared/random';
import { alphasCumprod, spacedTimesteps, type ScheduleConfig } from '../schedule';
import { checkStepIndex, noiseWithAlpha, splitPrediction, type Scheduler, type StepResult } from './scheduler';

export abstract class AlphaSpaceScheduler implements Scheduler {
  abstract readonly name: string;
  readonly timesteps: readonly number[];
  readonly initNoiseSigma = 1;
  protected readonly abar: Float64Array;

  constructor(
    protected readonly config: ScheduleConfig,
    steps: number,
    /** abar after the last step */
    private readonly finalAbar: (abar: Float64Array) => number,
  ) {
    this.abar = alphasCumprod(config);
    this.timesteps = spacedTimesteps(config, steps);
  }

  /** abar at level i (level N = after the last step) */
  levelAbar(i: number): number {
    return i >= this.timesteps.length ? this.finalAbar(this.abar) : this.abar[this.timesteps[i]!]!;
  }

  scaleModelInput(sample: Float32Array): Float32Array {
    return sample;
  }

  predictOriginal(i: number, modelOutput: Float32Array, sample: Float32Array): Float32Array {
    checkStepIndex(this.name, i, this.timesteps.length);
    return splitPrediction(this.config.predictionType, this.levelAbar(i), modelOutput, sample).x0;
  }

  abstract step(i: number, modelOutput: Float32Array, sample: Float32Array, rng: Rng): StepResult;

  noiseTo(x0: Float32Array, noise: Float32Array, i: number): Float32Array {
    checkStepIndex(this.name, i, this.timesteps.length, true);
    return i >= this.timesteps.length ? Float32Array.from(x0) : noiseWithAlpha(x0, noise, this.levelAbar(i));
  }
}
