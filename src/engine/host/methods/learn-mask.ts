// learnMask: the mask embedding of one defect type (engine/anomaly/learn-mask.ts) in the engine
// process; checkpoints on the job, progress per step, cancel between steps.
import type { MethodHandler } from '../handler';
import { paramsObject } from '../params';
import type { LearnMaskParams } from './learn-protocol';
import { commonLearnParams, runLearning } from './learn-params';

const M = 'learnMask';

export function parseLearnMaskParams(raw: unknown): LearnMaskParams {
  return commonLearnParams(M, paramsObject(M, raw));
}

export const learnMask: MethodHandler<'learnMask'> = (raw, ctx) =>
  runLearning(M, parseLearnMaskParams(raw), ctx, async () => (await import('../../anomaly/learn-mask')).learnMask);
