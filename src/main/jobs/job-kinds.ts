// Job kinds the manager accepts, and the engine method each one runs. Later issues add
// training, synthesis and evaluation kinds here.
import type { EngineMethod } from '../../shared/engine-protocol';
// the learning methods' protocol entries (declaration merging into EngineMethods)
import type {} from '../../engine/host/methods/learn-protocol';
import type {} from '../../engine/host/methods/adapt';
import { UserError } from '../../shared/errors';

export interface JobKindSpec {
  /** engine method that does the work; it reports progress and honours cancel */
  method: EngineMethod;
  /** one line for lists and logs */
  title: string;
}

export const JOB_KINDS = {
  sleep: { method: 'sleepJob', title: 'test job (sleeps in steps)' },
  'learn-defect': { method: 'learnDefect', title: 'learn a defect type (anomaly embedding + spatial encoder)' },
  'learn-mask': { method: 'learnMask', title: 'learn a defect type\'s masks (mask embedding)' },
  synthesize: { method: 'synthesizeJob', title: 'synthesize defect image/mask pairs' },
  adapt: { method: 'adaptModel', title: 'adapt the model to the project\'s normal images (fine-tune UNet + VAE decoder)' },
} as const satisfies Record<string, JobKindSpec>;

export type JobKind = keyof typeof JOB_KINDS;

export function jobKindSpec(kind: string): JobKindSpec {
  if (!Object.hasOwn(JOB_KINDS, kind)) {
    throw new UserError('UNKNOWN_JOB_KIND', `unknown job kind ${JSON.stringify(kind)}; known: ${Object.keys(JOB_KINDS).join(', ')}`);
  }
  return JOB_KINDS[kind as JobKind];
}
