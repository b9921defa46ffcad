// Checks of the learning methods' params (they cross a process boundary as unknown).
import { UserError } from '../../../shared/errors';
import type { Project } from '../../../main/store/project';
import type { LogLevel, ProgressEvent } from '../../../shared/engine-protocol';
import { jobHooks, type HandlerContext } from '../handler';
import { integerParam, optionalStringParam } from '../params';

export function requiredString(method: string, p: Record<string, unknown>, field: string): string {
  const v = optionalStringParam(method, p, field);
  if (v === undefined || v === '') throw new UserError('BAD_PARAMS', `${method}: ${field} is required`);
  return v;
}

export function optionalInteger(method: string, p: Record<string, unknown>, field: string, min: number, max: number): number | undefined {
  return p[field] === undefined ? undefined : integerParam(method, p, field, min, max);
}

export function optionalNumber(method: string, p: Record<string, unknown>, field: string, ok: (v: number) => boolean, range: string): number | undefined {
  const v = p[field];
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v) || !ok(v)) throw new UserError('BAD_PARAMS', `${method}: ${field} must be ${range} (got ${JSON.stringify(v)})`);
  return v;
}

export function optionalBoolean(method: string, p: Record<string, unknown>, field: string): boolean | undefined {
  const v = p[field];
  if (v === undefined) return undefined;
  if (typeof v !== 'boolean') throw new UserError('BAD_PARAMS', `${method}: ${field} must be true or false (got ${JSON.stringify(v)})`);
  return v;
}

/** Drops undefined values, so optional settings fall back to their defaults. */
export function defined<T extends Record<string, unknown>>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** The params every learning method shares (project, type, model and the optimiser settings). */
export function commonLearnParams(method: string, p: Record<string, unknown>) {
  return {
    project: requiredString(method, p, 'project'),
    type: requiredString(method, p, 'type'),
    model: requiredString(method, p, 'model'),
    ...defined({
      steps: optionalInteger(method, p, 'steps', 1, 1_000_000),
      batch: optionalInteger(method, p, 'batch', 1, 64),
      lr: optionalNumber(method, p, 'lr', (v) => v > 0 && v < 10, 'in (0, 10)'),
      seed: optionalInteger(method, p, 'seed', 0, 2 ** 32 - 1),
      variants: optionalInteger(method, p, 'variants', 1, 256),
      checkpointEvery: optionalInteger(method, p, 'checkpointEvery', 0, 1_000_000),
      resume: optionalBoolean(method, p, 'resume'),
    }),
  };
}

/** What a learning function (learnDefect, learnMask) takes besides its own settings. */
interface LearnRun<S> {
  project: Project;
  type: string;
  modelDir: string;
  settings: S;
  resume: boolean;
  jobId: number | null;
  signal: AbortSignal;
  onProgress: (e: Omit<ProgressEvent, 'jobId'>) => void;
  log: (level: LogLevel, message: string) => void;
}

/**
 * Runs one learning function in the engine: opens the project (the engine has its own SQLite
 * connection), hands it the job's progress, log and cancel signal, and closes the project after.
 */
export async function runLearning<P extends { project: string; type: string; model: string; resume?: boolean }, R extends object>(
  method: string,
  p: P,
  ctx: HandlerContext,
  load: () => Promise<(run: LearnRun<Omit<P, 'project' | 'type' | 'model' | 'resume'>>) => Promise<R>>,
): Promise<R & { seconds: number }> {
  const started = performance.now();
  const [learn, { openProject }] = await Promise.all([load(), import('../../../main/store/project')]);
  const project = openProject(p.project);
  try {
    const { project: _project, type, model, resume, ...settings } = p;
    ctx.log('info', `${method}: ${type} with ${model}`);
    const result = await learn({
      project,
      type,
      modelDir: model,
      settings,
      resume: resume ?? false,
      ...jobHooks(ctx),
    });
    return { ...result, seconds: (performance.now() - started) / 1000 };
  } finally {
    project.close();
  }
}
