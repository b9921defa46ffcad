// adaptModel: product adaptation of a built-in model on a project's train/good images
// (engine/adapt/adapt-model.ts) in the engine process. The engine opens the project itself; the
// checkpoint is recorded on the job, progress carries the loss and an ETA, a cancel stops between
// steps after a checkpoint. Its params and result are merged into the protocol's EngineMethods
// here (they belong in shared/engine-protocol.ts, like the learning methods' in learn-protocol.ts).
import { jobHooks, type MethodHandler } from '../handler';
import { paramsObject } from '../params';
import { UserError } from '../../../shared/errors';
import type { AdaptResult } from '../../adapt/adapt-model';
import { defined, optionalBoolean, optionalInteger, optionalNumber, requiredString } from './learn-params';

export interface AdaptParams {
  /** project folder */
  project: string;
  /** the base model package */
  model: string;
  /** 'full' (every UNet weight) or 'lora' (low-rank adapters); default 'lora' */
  mode?: 'full' | 'lora';
  rank?: number;
  steps?: number;
  batch?: number;
  /** the UNet's Adam learning rate */
  lr?: number;
  /** the VAE decoder's Adam learning rate */
  decoderLr?: number;
  /** linear warm-up of both learning rates */
  warmupSteps?: number;
  seed?: number;
  variants?: number;
  heldOutFraction?: number;
  evalEvery?: number;
  patience?: number;
  checkpointEvery?: number;
  /** only this category's normal images */
  category?: string;
  resume?: boolean;
}

export interface AdaptMethodResult extends AdaptResult {
  seconds: number;
}

declare module '../../../shared/engine-protocol' {
  interface EngineMethods {
    adaptModel: { params: AdaptParams; result: AdaptMethodResult };
  }
}

const M = 'adaptModel';

export function parseAdaptParams(raw: unknown): AdaptParams {
  const p = paramsObject(M, raw);
  const mode = p['mode'];
  if (mode !== undefined && mode !== 'full' && mode !== 'lora') throw new UserError('BAD_PARAMS', `${M}: mode must be 'full' or 'lora' (got ${JSON.stringify(mode)})`);
  const category = p['category'];
  if (category !== undefined && typeof category !== 'string') requiredString(M, p, 'category');
  return {
    project: requiredString(M, p, 'project'),
    model: requiredString(M, p, 'model'),
    ...defined({
      mode: mode as 'full' | 'lora' | undefined,
      rank: optionalInteger(M, p, 'rank', 1, 256),
      steps: optionalInteger(M, p, 'steps', 1, 1_000_000),
      batch: optionalInteger(M, p, 'batch', 1, 64),
      lr: optionalNumber(M, p, 'lr', (v) => v > 0 && v < 10, 'in (0, 10)'),
      decoderLr: optionalNumber(M, p, 'decoderLr', (v) => v > 0 && v < 10, 'in (0, 10)'),
      warmupSteps: optionalInteger(M, p, 'warmupSteps', 0, 1_000_000),
      seed: optionalInteger(M, p, 'seed', 0, 2 ** 32 - 1),
      variants: optionalInteger(M, p, 'variants', 1, 256),
      heldOutFraction: optionalNumber(M, p, 'heldOutFraction', (v) => v > 0 && v < 1, 'in (0, 1)'),
      evalEvery: optionalInteger(M, p, 'evalEvery', 1, 1_000_000),
      patience: optionalInteger(M, p, 'patience', 1, 1000),
      checkpointEvery: optionalInteger(M, p, 'checkpointEvery', 0, 1_000_000),
      category: typeof category === 'string' && category !== '' ? category : undefined,
      resume: optionalBoolean(M, p, 'resume'),
    }),
  };
}

export const adaptModel: MethodHandler<'adaptModel'> = async (raw, ctx) => {
  const p = parseAdaptParams(raw);
  const started = performance.now();
  const [{ adaptModel: adapt }, { openProject }] = await Promise.all([import('../../adapt/adapt-model'), import('../../../main/store/project')]);
  const project = openProject(p.project);
  try {
    const { project: _project, model, resume, category, ...settings } = p;
    ctx.log('info', `adaptModel: ${model} (${settings.mode ?? 'lora'})`);
    const result = await adapt({
      project,
      modelDir: model,
      settings,
      ...(category ? { category } : {}),
      resume: resume ?? false,
      ...jobHooks(ctx),
    });
    return { ...result, seconds: (performance.now() - started) / 1000 };
  } finally {
    project.close();
  }
};
