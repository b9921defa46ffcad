// synthesizeJob: the synthesis job (job kind 'synthesize') in the engine process. It opens the
// project itself (SQLite in WAL mode takes the engine's writes beside the app's), loads the model
// and makes every pair of the plan the run has not committed yet, reporting progress after each
// pair; a cancel stops it at the next sampler step. Resuming a stopped run is a new job with
// `runJobId` set to the stopped one: its committed pairs are kept and the rest are made.
import { UserError } from '../../../shared/errors';
import type { SynthesisPlan } from '../../synthesis/recipe';
import type { MethodHandler } from '../handler';
import { optionalIntegerParam, optionalStringParam, paramsObject } from '../params';

export interface SynthesizeJobParams {
  /** project folder */
  project: string;
  /** model folder (a built-in package or an SD 1.x ONNX folder; plan.imageSize: its size when symbolic) */
  model: string;
  plan: SynthesisPlan;
  /** the job whose samples this run continues; default: this job */
  runJobId?: number;
  /** ORT intra-op threads (default: the runtime's setting) */
  threads?: number;
}

export interface SynthesizeJobResult {
  runJobId: number;
  total: number;
  made: number;
  alreadyDone: number;
  modelHash: string;
  executionProvider: string;
  seconds: number;
}

// The method's protocol entry, merged into EngineMethods (shared/engine-protocol.ts) from here so
// that the method and its types live in one file.
declare module '../../../shared/engine-protocol' {
  interface EngineMethods {
    synthesizeJob: { params: SynthesizeJobParams; result: SynthesizeJobResult };
  }
}

function requiredString(p: Record<string, unknown>, field: string): string {
  const v = optionalStringParam('synthesizeJob', p, field);
  if (v === undefined || v === '') throw new UserError('BAD_PARAMS', `synthesizeJob: ${field} is required`);
  return v;
}

function planParam(p: Record<string, unknown>): SynthesisPlan {
  const plan = p['plan'];
  const bad = (what: string) => new UserError('BAD_PARAMS', `synthesizeJob: plan.${what}`);
  if (typeof plan !== 'object' || plan === null || Array.isArray(plan)) throw bad('is required (an object)');
  const q = plan as Record<string, unknown>;
  if (!Array.isArray(q['types'])) throw bad('types must be a list');
  const sampler = q['sampler'] as Record<string, unknown> | undefined;
  if (typeof sampler !== 'object' || sampler === null || typeof sampler['steps'] !== 'number' || typeof sampler['sampler'] !== 'string') throw bad('sampler must be { sampler, steps, eta? }');
  if (typeof q['guidance'] !== 'number') throw bad('guidance must be a number');
  if (typeof q['aar'] !== 'object' || q['aar'] === null) throw bad('aar must be an object');
  return plan as SynthesisPlan;
}

export const synthesizeJob: MethodHandler<'synthesizeJob'> = async (raw, ctx) => {
  const p = paramsObject('synthesizeJob', raw);
  const projectDir = requiredString(p, 'project');
  const modelDir = requiredString(p, 'model');
  const plan = planParam(p);
  const runJobId = optionalIntegerParam('synthesizeJob', p, 'runJobId', 1) ?? ctx.jobId;
  if (runJobId === null) throw new UserError('BAD_PARAMS', 'synthesizeJob: runs as a job (or with runJobId): its samples belong to a job');
  const threads = optionalIntegerParam('synthesizeJob', p, 'threads', 1);
  // loaded on first use: the engine starts without the store, imaging and model code
  const [{ openProject }, { appVersion }, { openSynthesisModel }, { runSynthesis }] = await Promise.all([
    import('../../../main/store/project'),
    import('../../../main/store/app-version'),
    import('../../synthesis/open-model'),
    import('../../synthesis/job'),
  ]);
  const project = openProject(projectDir);
  try {
    const model = await openSynthesisModel(modelDir, { threads, imageSize: plan.imageSize });
    try {
      ctx.log('info', `synthesize: ${plan.types.map((t) => `${t.count} x ${t.label}`).join(', ')}; model ${model.facts.name}; run ${runJobId}`);
      const result = await runSynthesis(project, model, plan, {
        runJobId,
        appVersion: appVersion(),
        signal: ctx.signal,
        onProgress: (done, total, etaSeconds) => ctx.progress({ step: done, total, etaSeconds, message: `pair ${done} of ${total}` }),
      });
      return {
        runJobId,
        total: result.total,
        made: result.made,
        alreadyDone: result.alreadyDone,
        modelHash: model.facts.contentHash,
        executionProvider: model.provider,
        seconds: result.seconds,
      };
    } finally {
      await model.release();
    }
  } finally {
    project.close();
  }
};
