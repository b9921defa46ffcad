// Errors a request to the engine can end with, besides UserError (which the engine forwards
// unchanged when a handler threw one).
import { ENGINE_ERROR } from '../../shared/engine-protocol';

/** A failure inside the engine that the user cannot fix by changing their input. */
export class EngineError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = 'EngineError';
    this.code = code;
  }
}

/** The request was cancelled (by its AbortSignal) before it finished. */
export class CancelledError extends EngineError {
  constructor(message: string) {
    super(ENGINE_ERROR.cancelled, message);
    this.name = 'CancelledError';
  }
}

/** The engine process ended (crash, kill, restart) while the request was pending. */
export class EngineExitedError extends EngineError {
  readonly exitCode: number | null;
  readonly signal: string | null;
  constructor(message: string, exitCode: number | null, signal: string | null) {
    super('ENGINE_EXITED', message);
    this.name = 'EngineExitedError';
    this.exitCode = exitCode;
    this.signal = signal;
  }
}

export function isCancelledError(e: unknown): e is CancelledError {
  return e instanceof CancelledError;
}
