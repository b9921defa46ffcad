// The host side of the engine protocol: starts the engine process on first use, numbers
// requests (seq) and matches replies to them, forwards progress and log lines, turns an
// AbortSignal into a cancel message, and fails every pending request with the exit reason when
// the process dies. The next request after a death starts a fresh process.
import {
  ENGINE_ERROR,
  ENGINE_PROTOCOL_VERSION,
  engineMessageProblem,
  type EngineErrorPayload,
  type EngineMethod,
  type EngineToHost,
  type LogLevel,
  type MethodParams,
  type MethodResult,
  type ProgressEvent,
} from '../../shared/engine-protocol';
import { UserError } from '../../shared/errors';
import { describeExit, type EngineExit, type EngineProcess, type EngineProcessFactory } from './engine-process';
import { CancelledError, EngineError, EngineExitedError } from './errors';

export interface EngineLogLine {
  level: LogLevel;
  message: string;
  seq?: number;
}

export interface EngineHostOptions {
  /** every log line the engine sends (also those of a request, which also go to its onLog) */
  onLog?: (line: EngineLogLine) => void;
  /** how long a fresh process may take to say 'ready' (tsx compiles on the fly: be generous) */
  readyTimeoutMs?: number;
}

export interface RequestOptions {
  /** the job the request runs for; the engine tags progress with it */
  jobId?: number;
  onProgress?: (event: ProgressEvent) => void;
  onLog?: (level: LogLevel, message: string) => void;
  /** aborting sends a cancel; the request then rejects with CancelledError */
  signal?: AbortSignal;
}

interface Pending {
  method: EngineMethod;
  resolve: (result: unknown) => void;
  reject: (error: Error) => void;
  options: RequestOptions;
  detachAbort: () => void;
  /** the request message has gone to the engine (before that, a cancel is settled locally) */
  sent: boolean;
}

/** One started engine process and the requests sent to it. */
interface Instance {
  proc: EngineProcess;
  /** resolves true on 'ready', false if the process ended first */
  ready: Promise<boolean>;
  isReady: boolean;
  pending: Map<number, Pending>;
  exited: Promise<EngineExit>;
  /** why the host itself ended the process, reported instead of the bare exit reason */
  killReason: string | null;
}

export class EngineHost {
  private instance: Instance | null = null;
  private nextSeq = 1;
  private disposed = false;
  private readonly readyTimeoutMs: number;

  constructor(
    private readonly factory: EngineProcessFactory,
    private readonly options: EngineHostOptions = {},
  ) {
    this.readyTimeoutMs = options.readyTimeoutMs ?? 60_000;
  }

  /** pid of the running engine process, or null when none is running */
  get pid(): number | null {
    return this.instance?.proc.pid ?? null;
  }

  /** Starts the process if none is running and waits until it is ready. */
  async start(): Promise<void> {
    const instance = this.ensureInstance();
    if (await instance.ready) return;
    const exit = await instance.exited;
    throw new EngineExitedError(this.exitMessage(instance, exit), exit.code, exit.signal);
  }

  request<M extends EngineMethod>(method: M, params: MethodParams<M>, options: RequestOptions = {}): Promise<MethodResult<M>> {
    if (this.disposed) return Promise.reject(new EngineError('ENGINE_DISPOSED', 'the engine host has been shut down'));
    if (options.signal?.aborted) return Promise.reject(new CancelledError(`${method} was cancelled`));
    let instance: Instance;
    try {
      instance = this.ensureInstance();
    } catch (e) {
      // a factory that cannot even spawn (bad options) fails this request, not the caller's stack
      return Promise.reject(e instanceof Error ? e : new Error(String(e)));
    }
    const seq = this.nextSeq++;
    return new Promise<MethodResult<M>>((resolve, reject) => {
      const onAbort = () => {
        const pending = instance.pending.get(seq);
        if (!pending) return;
        if (pending.sent) {
          instance.proc.send({ type: 'cancel', seq });
        } else {
          instance.pending.delete(seq);
          reject(new CancelledError(`${method} was cancelled`));
        }
      };
      options.signal?.addEventListener('abort', onAbort, { once: true });
      instance.pending.set(seq, {
        method,
        resolve: resolve as (r: unknown) => void,
        reject,
        options,
        detachAbort: () => options.signal?.removeEventListener('abort', onAbort),
        sent: false,
      });
      void instance.ready.then((ok) => {
        // not ready: the exit handler rejects everything pending
        const pending = instance.pending.get(seq);
        if (ok && pending) {
          pending.sent = true;
          instance.proc.send({ type: 'request', seq, method, params, ...(options.jobId !== undefined ? { jobId: options.jobId } : {}) });
        }
      });
    });
  }

  /** Ends the current process (pending requests fail with `reason`); the next request starts a new one. */
  async restart(reason = 'engine restarted'): Promise<void> {
    await this.stop(reason);
  }

  /** Ends the process and refuses further requests. */
  async dispose(): Promise<void> {
    this.disposed = true;
    await this.stop('engine host shut down');
  }

  private async stop(reason: string): Promise<void> {
    const instance = this.instance;
    if (!instance) return;
    // requests made from now on go to a fresh process, not to this dying one
    this.instance = null;
    instance.killReason ??= reason;
    instance.proc.kill();
    await instance.exited;
  }

  private ensureInstance(): Instance {
    if (this.instance) return this.instance;
    const proc = this.factory();
    let markReady!: (ok: boolean) => void;
    let markExited!: (exit: EngineExit) => void;
    const instance: Instance = {
      proc,
      ready: new Promise<boolean>((r) => (markReady = r)),
      isReady: false,
      pending: new Map(),
      exited: new Promise<EngineExit>((r) => (markExited = r)),
      killReason: null,
    };
    this.instance = instance;

    const readyTimer = setTimeout(() => {
      instance.killReason = `engine process did not report ready within ${this.readyTimeoutMs / 1000} s`;
      proc.kill();
    }, this.readyTimeoutMs);

    proc.onMessage((raw) => this.receive(instance, raw, () => {
      clearTimeout(readyTimer);
      instance.isReady = true;
      markReady(true);
    }));
    proc.onExit((exit) => {
      clearTimeout(readyTimer);
      if (this.instance === instance) this.instance = null;
      const message = this.exitMessage(instance, exit);
      for (const pending of instance.pending.values()) {
        pending.detachAbort();
        pending.reject(new EngineExitedError(message, exit.code, exit.signal));
      }
      instance.pending.clear();
      markReady(false);
      markExited(exit);
    });
    return instance;
  }

  private exitMessage(instance: Instance, exit: EngineExit): string {
    if (instance.killReason) return instance.killReason;
    const base = describeExit(exit);
    if (instance.isReady) return base;
    // dying before 'ready' is a start-up problem (missing loader, syntax error): show why
    const stderr = instance.proc.stderrTail();
    return stderr ? `${base} before it was ready: ${summarizeStderr(stderr)}` : `${base} before it was ready`;
  }

  private receive(instance: Instance, raw: unknown, onReady: () => void): void {
    const problem = engineMessageProblem(raw);
    if (problem) {
      this.options.onLog?.({ level: 'warn', message: `host ignored an engine message: ${problem}` });
      return;
    }
    const message = raw as EngineToHost;
    switch (message.type) {
      case 'ready':
        if (message.protocolVersion !== ENGINE_PROTOCOL_VERSION) {
          instance.killReason = `engine speaks protocol ${message.protocolVersion}, host expects ${ENGINE_PROTOCOL_VERSION}`;
          instance.proc.kill();
          return;
        }
        onReady();
        return;
      case 'progress': {
        const { type: _type, seq, ...event } = message;
        instance.pending.get(seq)?.options.onProgress?.(event);
        return;
      }
      case 'log': {
        this.options.onLog?.({ level: message.level, message: message.message, ...(message.seq !== undefined ? { seq: message.seq } : {}) });
        if (message.seq !== undefined) instance.pending.get(message.seq)?.options.onLog?.(message.level, message.message);
        return;
      }
      case 'reply': {
        const pending = instance.pending.get(message.seq);
        if (!pending) return;
        instance.pending.delete(message.seq);
        pending.detachAbort();
        if ('error' in message) pending.reject(toError(message.error));
        else pending.resolve(message.result);
        return;
      }
    }
  }
}

function toError(e: EngineErrorPayload): Error {
  if (e.code === ENGINE_ERROR.cancelled) return new CancelledError(e.message);
  if (e.user) return new UserError(e.code, e.message);
  return new EngineError(e.code, e.message);
}

/**
 * One line saying why a process died: Node prints the thrown error as a line like
 * "Error [ERR_MODULE_NOT_FOUND]: Cannot find module ..." among stack frames, so that line is
 * preferred; otherwise the last lines are joined.
 */
export function summarizeStderr(text: string): string {
  const lines = text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== '');
  const errorLine = lines.find((l) => /^(\w+)?Error\b.*:/.test(l) || /^\w*Error \[/.test(l));
  return errorLine ?? lines.slice(-3).join(' | ');
}
