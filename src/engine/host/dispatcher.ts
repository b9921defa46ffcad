// Routes host messages to method handlers: one AbortController per running request (a cancel
// message aborts it), progress and log lines tagged with the request's seq, and every outcome
// turned into exactly one reply. Requests run concurrently; the job manager on the host side
// decides how many jobs run at once.
import {
  ENGINE_ERROR,
  ENGINE_PROTOCOL_VERSION,
  hostMessageProblem,
  type EngineErrorPayload,
  type EngineToHost,
  type HostToEngine,
  type RequestMessage,
} from '../../shared/engine-protocol';
import { isUserError } from '../../shared/errors';
import type { HandlerContext, HandlerTable } from './handler';
import type { EngineTransport } from './transport';

export interface Dispatcher {
  /** number of requests still running */
  readonly active: number;
}

export function startDispatcher(transport: EngineTransport, handlers: HandlerTable, pid: number = process.pid): Dispatcher {
  const running = new Map<number, AbortController>();
  const send = (message: EngineToHost) => transport.send(message);

  transport.onMessage((raw) => {
    const problem = hostMessageProblem(raw);
    if (problem) {
      const seq = (raw as { seq?: unknown } | null)?.seq;
      if (typeof seq === 'number') send({ type: 'reply', seq, error: { code: ENGINE_ERROR.badMessage, message: problem, user: false } });
      else send({ type: 'log', level: 'error', message: `engine ignored a message: ${problem}` });
      return;
    }
    const message = raw as HostToEngine;
    if (message.type === 'cancel') {
      // a cancel for a request that already finished is harmless: its reply is on its way
      running.get(message.seq)?.abort();
      return;
    }
    void handleRequest(message);
  });

  async function handleRequest(request: RequestMessage): Promise<void> {
    const { seq, method } = request;
    if (running.has(seq)) {
      send({ type: 'reply', seq, error: { code: ENGINE_ERROR.badMessage, message: `seq ${seq} is already running`, user: false } });
      return;
    }
    const handler = Object.hasOwn(handlers, method) ? handlers[method] : undefined;
    if (!handler) {
      send({ type: 'reply', seq, error: { code: ENGINE_ERROR.unknownMethod, message: `the engine has no method ${JSON.stringify(method)}`, user: false } });
      return;
    }
    const controller = new AbortController();
    running.set(seq, controller);
    const jobId = request.jobId ?? null;
    const ctx: HandlerContext = {
      signal: controller.signal,
      jobId,
      progress: (event) => send({ ...event, type: 'progress', seq, jobId }),
      log: (level, message) => send({ type: 'log', level, message, seq }),
    };
    try {
      const result = await (handler as (p: unknown, c: HandlerContext) => Promise<unknown>)(request.params, ctx);
      send({ type: 'reply', seq, result });
    } catch (err) {
      send({ type: 'reply', seq, error: toErrorPayload(err, controller.signal, method) });
      if (!isUserError(err) && !controller.signal.aborted && err instanceof Error && err.stack) {
        send({ type: 'log', level: 'error', message: err.stack, seq });
      }
    } finally {
      running.delete(seq);
    }
  }

  send({ type: 'ready', protocolVersion: ENGINE_PROTOCOL_VERSION, pid });
  return {
    get active() {
      return running.size;
    },
  };
}

function toErrorPayload(err: unknown, signal: AbortSignal, method: string): EngineErrorPayload {
  // whatever a handler throws after its signal fired (AbortError, the reason, a wrapped error)
  // means it stopped because it was asked to
  if (signal.aborted) return { code: ENGINE_ERROR.cancelled, message: `${method} was cancelled`, user: false };
  if (isUserError(err)) return { code: err.code, message: err.message, user: true };
  const message = err instanceof Error ? err.message : String(err);
  return { code: ENGINE_ERROR.internal, message: `${method} failed: ${message}`, user: false };
}
