// learnDefect: few-shot learning of one defect type of a project (engine/anomaly/learn-defect.ts)
// in the engine process. The engine opens the project itself (SQLite in WAL mode takes the main
// process's writes at the same time); the checkpoint is recorded on the job, progress carries the
// loss, an ETA and preview blobs, and a cancel stops between steps after a checkpoint.
import type { MethodHandler } from '../handler';
import { paramsObject } from '../params';
import type { LearnDefectParams } from './learn-protocol';
import { defined, optionalBoolean, optionalInteger, optionalNumber, requiredString } from './learn-params';

const M = 'learnDefect';

export function parseLearnDefectParams(raw: unknown): LearnDefectParams {
  const p = paramsObject(M, raw);
  const family = p['family'];
  if (family !== undefined && typeof family !== 'string') requiredString(M, p, 'family');
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
      family: typeof family === 'string' && family !== '' ? family : undefined,
      checkpointEvery: optionalInteger(M, p, 'checkpointEvery', 0, 1_000_000),
      previewEvery: optionalInteger(M, p, 'previewEvery', 0, 1_000_000),
      previewSteps: optionalInteger(M, p, 'previewSteps', 1, 1000),
      resume: optionalBoolean(M, p, 'resume'),
    }),
  };
}

export const learnDefect: MethodHandler<'learnDefect'> = async (raw, ctx) => {
  const p = parseLearnDefectParams(raw);
  const started = performance.now();
  const [{ learnDefect: learn }, { openProject }] = await Promise.all([import('../../anomaly/learn-defect'), import('../../../main/store/project')]);
  const project = openProject(p.project);
  try {
    const { project: _project, type, model, resume, ...settings } = p;
    ctx.log('info', `learnDefect: ${type} with ${model}`);
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
