// learnMask: the mask embedding of one defect type (engine/anomaly/learn-mask.ts) in the engine
// process; checkpoints on the job, progress per step, cancel between steps.
import type { MethodHandler } from '../handler';
import { paramsObject } from '../params';
import type { LearnMaskParams } from './learn-protocol';
import { defined, optionalBoolean, optionalInteger, optionalNumber, requiredString } from './learn-params';

const M = 'learnMask';

export function parseLearnMaskParams(raw: unknown): LearnMaskParams {
  const p = paramsObject(M, raw);
  return {
    project: requiredString(M, p, 'project'),
    type: requiredString(M, p, 'type'),
    model: requiredString(M, p, 'model'),
    ...defined({
      steps: optionalInteger(M, p, 'steps', 1, 1_000_000),
      batch: optionalInteger(M, p, 'batch', 1, 64),
      lr: optionalNumber(M, p, 'lr', (v) => v > 0 && v < 10, 'in (0, 10)'),
      seed: optionalInteger(M, p, 'seed', 0, 2 ** 32 - 1),
      variants: optionalInteger(M, p, 'variants', 1, 256),
      checkpointEvery: optionalInteger(M, p, 'checkpointEvery', 0, 1_000_000),
      resume: optionalBoolean(M, p, 'resume'),
    }),
  };
}

export const learnMask: MethodHandler<'learnMask'> = async (raw, ctx) => {
  const p = parseLearnMaskParams(raw);
  const started = performance.now();
  const [{ learnMask: learn }, { openProject }] = await Promise.all([import('../../anomaly/learn-mask'), import('../../../main/store/project')]);
  const project = openProject(p.project);
  try {
    const { project: _project, type, model, resume, ...settings } = p;
    ctx.log('info', `learnMask: ${type} with ${model}`);
    const result = await learn({
      project,
      type,
      modelDir: model,
      settings,
      resume: resume ?? false,
      jobId: ctx.jobId,
      signal: ctx.signal,
      onProgress: (e) => ctx.progress(e),
      log: (level, message) => ctx.log(level, message),
    });
    return { ...result, seconds: (performance.now() - started) / 1000 };
  } finally {
    project.close();
  }
};
