// The sampler factory: one name per file in this folder.
import type { ScheduleConfig } from '../schedule';
import { DdimScheduler } from './ddim';
import { DdpmScheduler } from './ddpm';
import { EulerScheduler } from './euler';
import type { Scheduler } from './scheduler';

export type SamplerName = 'ddim' | 'ddpm' | 'euler';
export const SAMPLERS: readonly SamplerName[] = ['ddim', 'ddpm', 'euler'];

export interface SamplerSettings {
  sampler: SamplerName;
  steps: number;
  /** DDIM only: 0 deterministic .. 1 ancestral */
  eta?: number;
}

export function createScheduler(config: ScheduleConfig, settings: SamplerSettings): Scheduler {
  switch (settings.sampler) {
    case 'ddim':
      return new DdimScheduler(config, settings.steps, settings.eta ?? 0);
    case 'ddpm':
      return new DdpmScheduler(config, settings.steps);
    case 'euler':
      return new EulerScheduler(config, settings.steps);
    default:
      throw new Error(`unknown sampler '${String((settings as { sampler: unknown }).sampler)}'; known: ${SAMPLERS.join(', ')}`);
  }
}

export type { Scheduler, StepResult } from './scheduler';
