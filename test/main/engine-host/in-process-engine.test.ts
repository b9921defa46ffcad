// The engine's dispatcher and the utilityProcess adapters, wired together in one process through
// a fake Electron utilityProcess: the host side gets messages as utilityProcess delivers them,
// the engine side gets `{ data }` events as Electron's parentPort delivers them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startDispatcher } from '../../../src/engine/host/dispatcher';
import type { HandlerTable } from '../../../src/engine/host/handler';
import { engineMethods } from '../../../src/engine/host/methods';
import { parentPortTransport, type ParentPortLike } from '../../../src/engine/host/transport';
import { EngineError, EngineExitedError, EngineHost, utilityProcessEngineFactory, type EngineLogLine, type UtilityProcessLike } from '../../../src/main/engine-host';
import type { EngineToHost } from '../../../src/shared/engine-protocol';

interface FakeUtility {
  fork: (entry: string, args?: string[], options?: { execArgv?: string[] }) => UtilityProcessLike;
  forks: { entry: string; execArgv: string[] | undefined }[];
  /** sends a raw message into the engine side, bypassing the host */
  inject(message: unknown): void;
}

function fakeUtility(handlers: HandlerTable, onEngineMessage?: (m: EngineToHost) => void): FakeUtility {
  let toEngine: ((event: { data: unknown }) => void) | null = null;
  const forks: FakeUtility['forks'] = [];
  let nextPid = 1000;
  return {
    forks,
    inject: (message) => toEngine?.({ data: message }),
    fork(entry, _args, options) {
      forks.push({ entry, execArgv: options?.execArgv });
      const hostListeners: ((m: unknown) => void)[] = [];
      const exitListeners: ((code: number) => void)[] = [];
      let alive = true;
      // structuredClone + setImmediate: what crosses a real process boundary, asynchronously
      const port: ParentPortLike = {
        on: (_event, listener) => (toEngine = listener),
        postMessage: (m) =>
          setImmediate(() => {
            if (!alive) return;
            onEngineMessage?.(m as EngineToHost);
            for (const l of hostListeners) l(structuredClone(m));
          }),
      };
      const child: UtilityProcessLike = {
        pid: nextPid++,
        stderr: null,
        postMessage: (m) => setImmediate(() => alive && toEngine?.({ data: structuredClone(m) })),
        kill() {
          alive = false;
          setImmediate(() => exitListeners.forEach((l) => l(15)));
          return true;
        },
        on(event: 'message' | 'exit', listener: (x: never) => void) {
          if (event === 'message') hostListeners.push(listener as (m: unknown) => void);
          else exitListeners.push(listener as (code: number) => void);
          return child;
        },
      };
      startDispatcher(parentPortTransport(port), handlers, child.pid);
      return child;
    },
  };
}

test('a utilityProcess-hosted engine answers, reports progress and is started with the launch settings', async (t) => {
  const fake = fakeUtility(engineMethods);
  const host = new EngineHost(utilityProcessEngineFactory(fake.fork, { entry: 'C:\\Program Files\\DefectForge\\engine.js', execArgv: [] }));
  t.after(() => host.dispose());
  const reply = await host.request('ping', { echo: 'x' });
  assert.equal(reply.echo, 'x');
  const steps: number[] = [];
  await host.request('sleepJob', { steps: 3, stepMs: 0 }, { jobId: 9, onProgress: (e) => steps.push(e.step) });
  assert.deepEqual(steps, [1, 2, 3]);
  assert.deepEqual(fake.forks, [{ entry: 'C:\\Program Files\\DefectForge\\engine.js', execArgv: [] }]);
});

test('a handler bug becomes an INTERNAL error reply plus an error log line with its stack', async (t) => {
  const broken: HandlerTable = {
    ...engineMethods,
    ping: async () => {
      throw new TypeError('x is not a function');
    },
  };
  const logs: EngineLogLine[] = [];
  const fake = fakeUtility(broken);
  const host = new EngineHost(utilityProcessEngineFactory(fake.fork, { entry: 'engine.js', execArgv: [] }), { onLog: (l) => logs.push(l) });
  t.after(() => host.dispose());
  await assert.rejects(host.request('ping', {}), (e) => e instanceof EngineError && e.code === 'INTERNAL' && e.message === 'ping failed: x is not a function');
  // the log line follows the reply on the same channel
  await new Promise((r) => setImmediate(r));
  assert.equal(logs.length, 1);
  assert.equal(logs[0]!.level, 'error');
  assert.match(logs[0]!.message, /^TypeError: x is not a function\n\s+at /);
});

test('malformed messages are answered (when they carry a seq) or logged, never crash the engine', async (t) => {
  const seen: EngineToHost[] = [];
  const fake = fakeUtility(engineMethods, (m) => seen.push(m));
  const host = new EngineHost(utilityProcessEngineFactory(fake.fork, { entry: 'engine.js', execArgv: [] }));
  t.after(() => host.dispose());
  await host.request('ping', {});
  fake.inject('not an object');
  fake.inject({ type: 'request', seq: 77, method: 42 });
  fake.inject({ type: 'launch-missiles' });
  await new Promise((r) => setTimeout(r, 10));
  const afterPing = seen.filter((m) => m.type !== 'ready' && !(m.type === 'reply' && m.seq === 1));
  assert.deepEqual(afterPing, [
    { type: 'log', level: 'error', message: 'engine ignored a message: message is not an object' },
    { type: 'reply', seq: 77, error: { code: 'BAD_MESSAGE', message: 'request without a method name', user: false } },
    { type: 'log', level: 'error', message: 'engine ignored a message: unknown message type "launch-missiles"' },
  ]);
  assert.equal((await host.request('ping', { echo: 'still alive' })).echo, 'still alive');
});

test('a utilityProcess exit (code only) fails pending requests and the next request forks again', async (t) => {
  const fake = fakeUtility(engineMethods);
  const host = new EngineHost(utilityProcessEngineFactory(fake.fork, { entry: 'engine.js', execArgv: [] }));
  t.after(() => host.dispose());
  const job = host.request('sleepJob', { steps: 25, stepMs: 20 });
  await host.request('ping', {});
  const rejected = assert.rejects(job, (e) => e instanceof EngineExitedError && e.message === 'engine restarted' && e.exitCode === 15);
  await host.restart();
  await rejected;
  await host.request('ping', {});
  assert.equal(fake.forks.length, 2);
});
