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
