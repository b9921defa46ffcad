// The engine host against a real forked engine process (the same code the CLI uses).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import os from 'node:os';
import type { ProgressEvent } from '../../../src/shared/engine-protocol';
import { isUserError } from '../../../src/shared/errors';
import { onnxruntimeVersion } from '../../../src/engine/runtime';
import { CancelledError, EngineError, EngineExitedError, EngineHost, forkEngineFactory, sourceEngineLaunch } from '../../../src/main/engine-host';

function newHost(): EngineHost {
  return new EngineHost(forkEngineFactory(sourceEngineLaunch()));
}

function waitForExit(pid: number): Promise<void> {
  return new Promise((resolve) => {
    const poll = setInterval(() => {
      try {
        process.kill(pid, 0);
      } catch {
        clearInterval(poll);
        resolve();
      }
    }, 20);
  });
}

const killedBySignal = process.platform === 'win32' ? /^engine process exited with code \d+$/ : /^engine process exited with signal SIGKILL$/;

test('ping starts the engine lazily and answers from the child process', async (t) => {
  const host = newHost();
  t.after(() => host.dispose());
  assert.equal(host.pid, null);
  const reply = await host.request('ping', { echo: 'héllo wörld' });
  assert.equal(reply.echo, 'héllo wörld');
  assert.notEqual(reply.pid, process.pid);
  assert.equal(reply.pid, host.pid);
});

test('concurrent requests are matched to their own replies', async (t) => {
  const host = newHost();
  t.after(() => host.dispose());
  const echoes = ['a', 'b', 'c', 'd', 'e'];
  const replies = await Promise.all(echoes.map((echo) => host.request('ping', { echo })));
  assert.deepEqual(
    replies.map((r) => r.echo),
    echoes,
  );
});

test('sleepJob reports every step in order, tagged with the job id', async (t) => {
  const host = newHost();
  t.after(() => host.dispose());
  const events: ProgressEvent[] = [];
  const result = await host.request('sleepJob', { steps: 4, stepMs: 5 }, { jobId: 42, onProgress: (e) => events.push(e) });
  assert.deepEqual(result, { completedSteps: 4 });
  assert.deepEqual(
    events.map((e) => [e.jobId, e.step, e.total]),
    [
      [42, 1, 4],
      [42, 2, 4],
      [42, 3, 4],
      [42, 4, 4],
    ],
  );
  assert.equal(events.at(-1)!.etaSeconds, 0);
  assert.ok(events.every((e) => typeof e.etaSeconds === 'number' && e.etaSeconds >= 0));
});

test('aborting the signal cancels a running job; the engine stays up for the next request', async (t) => {
  const host = newHost();
  t.after(() => host.dispose());
  const controller = new AbortController();
  const steps: number[] = [];
  const started = performance.now();
  const job = host.request('sleepJob', { steps: 1000, stepMs: 50 }, {
    signal: controller.signal,
    onProgress: (e) => {
      steps.push(e.step);
      if (e.step === 2) controller.abort();
    },
  });
  await assert.rejects(job, (e) => e instanceof CancelledError && e.code === 'CANCELLED');
  // 1000 steps of 50 ms would take 50 s; a cancel answered between steps takes a few
  assert.ok(performance.now() - started < 10_000);
  assert.ok(steps.length >= 2 && steps.length < 10, `steps seen: ${steps.join(',')}`);
  const pidBefore = host.pid;
  const reply = await host.request('ping', {});
  assert.equal(reply.pid, pidBefore);
});

test('a request whose signal is already aborted is refused without reaching the engine', async (t) => {
  const host = newHost();
  t.after(() => host.dispose());
  await assert.rejects(host.request('ping', {}, { signal: AbortSignal.abort() }), CancelledError);
  assert.equal(host.pid, null);
});

test('bad params come back as a UserError naming the method and field; unknown methods as EngineError', async (t) => {
  const host = newHost();
  t.after(() => host.dispose());
  await assert.rejects(host.request('sleepJob', { steps: 0, stepMs: 1 }), (e) => isUserError(e) && e.code === 'BAD_PARAMS' && /sleepJob: steps must be an integer/.test(e.message));
  await assert.rejects(
    host.request('sleepJob', { steps: 3, stepMs: 1, failAtStep: 2 }),
    (e) => isUserError(e) && e.code === 'SLEEP_JOB_FAILED' && /step 2/.test(e.message),
  );
  // a caller outside the type system (an old renderer, a typo in a script)
  const untyped = host.request as (method: string, params: unknown) => Promise<unknown>;
  await assert.rejects(untyped.call(host, 'noSuchMethod', {}), (e) => e instanceof EngineError && e.code === 'UNKNOWN_METHOD' && /noSuchMethod/.test(e.message));
});

test('killing the engine mid-job rejects the job with the exit reason; the next request gets a fresh process', async (t) => {
  const host = newHost();
  t.after(() => host.dispose());
  const first = await host.request('ping', {});
  const job = host.request('sleepJob', { steps: 1000, stepMs: 20 }, {
    onProgress: (e) => {
      if (e.step === 1) process.kill(first.pid, 'SIGKILL');
    },
  });
  await assert.rejects(job, (e) => e instanceof EngineExitedError && killedBySignal.test(e.message));
  const second = await host.request('ping', {});
  assert.notEqual(second.pid, first.pid);
});

test('restart() fails pending requests with the reason and ends the old process', async (t) => {
  const host = newHost();
  t.after(() => host.dispose());
  const first = await host.request('ping', {});
  const job = host.request('sleepJob', { steps: 1000, stepMs: 20 });
  const rejected = assert.rejects(job, (e) => e instanceof EngineExitedError && e.message === 'engine restarted');
  await host.restart();
  await rejected;
  await waitForExit(first.pid);
  const second = await host.request('ping', {});
  assert.notEqual(second.pid, first.pid);
});

test('an engine that dies before it is ready reports its stderr', async (t) => {
  const launch = sourceEngineLaunch({ entry: sourceEngineLaunch().entry.replace(/main\.ts$/, 'no such entry.ts') });
  const host = new EngineHost(forkEngineFactory(launch));
  t.after(() => host.dispose());
  await assert.rejects(host.request('ping', {}), (e) => {
    assert.ok(e instanceof EngineExitedError);
    assert.match(e.message, /^engine process exited with code 1 before it was ready: .*no such entry/);
    return true;
  });
});

test('dispose() ends the process and refuses further requests', async () => {
  const host = newHost();
  const { pid } = await host.request('ping', {});
  await host.dispose();
  await waitForExit(pid);
  assert.equal(host.pid, null);
  await assert.rejects(host.request('ping', {}), (e) => e instanceof EngineError && e.code === 'ENGINE_DISPOSED');
});

test('runtimeInfo reports the engine process and the same onnxruntime as the runtime module', async (t) => {
  const host = newHost();
  t.after(() => host.dispose());
  const info = await host.request('runtimeInfo', {});
  assert.equal(info.onnxruntimeVersion, onnxruntimeVersion());
  assert.match(info.onnxruntimeVersion, /^\d+\.\d+\.\d+/);
  assert.equal(info.nodeVersion, process.versions.node);
  assert.equal(info.os.platform, process.platform);
  assert.equal(info.cpu.cores, os.availableParallelism());
  assert.ok(info.executionProviders.includes(info.chosenExecutionProvider));
  assert.equal(info.pid, host.pid);
});
