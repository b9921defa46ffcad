// learnDefect: few-shot learning of one defect type of a project (engine/anomaly/learn-defect.ts)
// in the engine process. The engine opens the project itself (SQLite in WAL mode takes the main
// process's writes at the same time); the checkpoint is recorded on the job, progress carries the
// loss, an ETA and preview blobs, and a cancel stops between steps after a checkpoint.
import { checkImageSize } from '../../models/sd1/image-size';
import type { MethodHandler } from '../handler';
import { paramsObject } from '../params';
import type { LearnDefectParams } from './learn-protocol';
import { commonLearnParams, defined, optionalInteger, optionalNumber, requiredString, runLearning } from './learn-params';

const M = 'learnDefect';

export function parseLearnDefectParams(raw: unknown): LearnDefectParams {
  const p = paramsObject(M, raw);
  const family = p['family'];
  if (family !== undefined && typeof family !== 'string') requiredString(M, p, 'family');
  const imageSize = p['imageSize'];
  if (imageSize !== undefined) checkImageSize(`${M}: imageSize`, imageSize);
  return {
    ...commonLearnParams(M, p),
    ...defined({
      family: typeof family === 'string' && family !== '' ? family : undefined,
      imageSize,
      encoderLr: optionalNumber(M, p, 'encoderLr', (v) => v >= 0 && v < 10, 'in [0, 10)'),
      previewEvery: optionalInteger(M, p, 'previewEvery', 0, 1_000_000),
      previewSteps: optionalInteger(M, p, 'previewSteps', 1, 1000),
    }),
  };
}

export const learnDefect: MethodHandler<'learnDefect'> = (raw, ctx) =>
  runLearning(M, parseLearnDefectParams(raw), ctx, async () => (await import('../../anomaly/learn-defect')).learnDefect);
