// What a method handler is: a function from validated params to a result, given a context that
// carries the request's cancellation signal and channels for progress and log lines.
import type { EngineMethod, LogLevel, MethodResult, ProgressEvent } from '../../shared/engine-protocol';

export interface HandlerContext {
  /** aborted when the host cancels this request; long loops check it between steps */
  readonly signal: AbortSignal;
  readonly jobId: number | null;
  progress(event: Omit<ProgressEvent, 'jobId'>): void;
  log(level: LogLevel, message: string): void;
}

/** Params arrive as unknown from another process: every handler validates its own. */
export type MethodHandler<M extends EngineMethod> = (params: unknown, ctx: HandlerContext) => Promise<MethodResult<M>>;

export type HandlerTable = { [M in EngineMethod]: MethodHandler<M> };

/** What a training job's loop needs from its request: job id, cancellation, progress and log lines. */
export function jobHooks(ctx: HandlerContext): {
  jobId: number | null;
  signal: AbortSignal;
  onProgress: (event: Omit<ProgressEvent, 'jobId'>) => void;
  log: (level: LogLevel, message: string) => void;
} {
  return { jobId: ctx.jobId, signal: ctx.signal, onProgress: (e) => ctx.progress(e), log: (level, message) => ctx.log(level, message) };
}
