import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GraphBuilder } from '../../../src/engine/onnx/builder';
import { encodeModel } from '../../../src/engine/onnx/serialize';
import {
  cachedSession,
  cachedSessionCount,
  configureRuntime,
  createSession,
  releaseCachedSessions,
  runtimeInfo,
} from '../../../src/engine/runtime';
import { openWithFallback, type OpenDeps, type OrtSessionLike } from '../../../src/engine/runtime/open';
import { CUDA_PROVIDER_LIBRARY, availableProviders, providerAttempts } from '../../../src/engine/runtime/providers';
import { ortSessionOptions } from '../../../src/engine/runtime/session-options';

function doubler(): Uint8Array {
  const b = new GraphBuilder('double');
  const x = b.input('x', 'float32', [3]);
  b.output(b.op('Mul', [x, b.scalar(2)]), 'y', { shape: [3] });
  return encodeModel(b.toModel());
}

const fakeSession: OrtSessionLike = { inputNames: ['x'], outputNames: ['y'], run: async () => ({}), release: async () => undefined };

test('provider choice: CUDA on Linux only when the binding supports it and the provider library is beside it', () => {
  const probed: string[] = [];
  const linux = (backends: string[], present: boolean) =>
    availableProviders({
      platform: 'linux',
      bindingBackends: backends,
      bindingDir: join('ort', 'bin'),
      fileExists: (f) => (probed.push(f), present),
    });
  assert.deepEqual(linux(['cpu', 'cuda'], true), ['cuda', 'cpu']);
  assert.deepEqual(probed, [join('ort', 'bin', CUDA_PROVIDER_LIBRARY)]);
  assert.deepEqual(linux(['cpu', 'cuda'], false), ['cpu']);
  assert.deepEqual(linux(['cpu'], true), ['cpu']);
  const win = availableProviders({ platform: 'win32', bindingBackends: ['cpu', 'dml'], bindingDir: 'x', fileExists: () => false });
  assert.deepEqual(win, ['dml', 'cpu']);
  const mac = availableProviders({ platform: 'darwin', bindingBackends: ['cpu', 'coreml'], bindingDir: 'x', fileExists: () => true });
  assert.deepEqual(mac, ['cpu']);
  assert.deepEqual(providerAttempts('auto', ['cuda', 'cpu']), ['cuda', 'cpu']);
  assert.deepEqual(providerAttempts('auto', ['cpu']), ['cpu']);
  assert.deepEqual(providerAttempts('cpu', ['cuda', 'cpu']), ['cpu']);
  assert.deepEqual(providerAttempts('dml', ['cpu']), ['dml', 'cpu']);
});

test('session options: DirectML runs sequentially without memory patterns; threads are passed through', () => {
  const dml = ortSessionOptions('dml', { intraOpNumThreads: 1, interOpNumThreads: 1 });
  assert.deepEqual(dml.executionProviders, ['dml', 'cpu']);
  assert.equal(dml.executionMode, 'sequential');
  assert.equal(dml.enableMemPattern, false);
  const cuda = ortSessionOptions('cuda', { intraOpNumThreads: 3, interOpNumThreads: 1 });
  assert.deepEqual(cuda.executionProviders, ['cuda', 'cpu']);
  assert.equal(cuda.intraOpNumThreads, 3);
  assert.equal(cuda.executionMode, undefined);
  assert.deepEqual(ortSessionOptions('cpu', { intraOpNumThreads: 1, interOpNumThreads: 1 }).executionProviders, ['cpu']);
});

test('a failing preferred provider falls back to CPU, logging and reporting the reason', async () => {
  const calls: Parameters<OpenDeps['create']>[1][] = [];
  const logs: string[] = [];
  const opened = await openWithFallback(
    'unet.onnx',
    'auto',
    { intraOpNumThreads: 1, interOpNumThreads: 1 },
    {
      available: ['cuda', 'cpu'],
      log: (m) => logs.push(m),
      create: async (_model, options) => {
        calls.push(options);
        if ((options.executionProviders as string[])[0] === 'cuda') throw new Error('libcudnn.so.9: cannot open shared object file\nmore detail');
        return fakeSession;
      },
    },
  );
  assert.equal(opened.provider, 'cpu');
  assert.equal(opened.fallbackReason, 'cuda: libcudnn.so.9: cannot open shared object file');
  assert.equal(calls.length, 2);
  assert.deepEqual(calls.map((c) => c.intraOpNumThreads), [1, 1]);
  assert.equal(logs.length, 1);
  assert.match(logs[0]!, /'cuda' failed for 'unet\.onnx'.*falling back to CPU/);

  const ok = await openWithFallback('m.onnx', 'auto', { intraOpNumThreads: 2, interOpNumThreads: 1 }, { available: ['cuda', 'cpu'], log: () => assert.fail('no log expected'), create: async () => fakeSession });
  assert.equal(ok.provider, 'cuda');
  assert.equal(ok.fallbackReason, undefined);

  await assert.rejects(
    openWithFallback(new Uint8Array(10), 'cpu', { intraOpNumThreads: 1, interOpNumThreads: 1 }, { available: ['cpu'], log: () => undefined, create: async () => Promise.reject(new Error('bad graph')) }),
    /could not open a 10-byte model \(cpu: bad graph\)/,
  );
});

test('with the real onnxruntime: asking for an absent CUDA provider falls back to CPU and still computes', async () => {
  const session = await createSession(doubler(), { provider: 'cuda' });
  const info = runtimeInfo();
  if (session.provider === 'cpu') {
    // this machine has no CUDA provider library: the fallback must say why
    assert.match(session.fallbackReason ?? '', /^cuda: /);
    assert.equal(info.fallbackReason, session.fallbackReason);
  }
  assert.equal(info.providerChosen, session.provider);
  const out = await session.run({ x: { dtype: 'float32', dims: [3], data: new Float32Array([1, -2, 0.5]) } });
  assert.deepEqual(Array.from(out.y!.data as Float32Array), [2, -4, 1]);
  await session.release();
});

test('runtimeInfo reports version, providers and the thread setting (default 1, configurable)', async () => {
  const info = runtimeInfo();
  assert.match(info.onnxruntimeVersion, /^\d+\.\d+\.\d+/);
  assert.equal(info.providersAvailable.at(-1), 'cpu');
  assert.equal(info.intraOpNumThreads, 1);
  assert.equal(info.interOpNumThreads, 1);
  configureRuntime({ intraOpNumThreads: 2 });
  try {
    assert.equal(runtimeInfo().intraOpNumThreads, 2);
    const s = await createSession(doubler());
    assert.equal(s.provider, runtimeInfo().providersAvailable[0]);
    await s.release();
  } finally {
    configureRuntime({ intraOpNumThreads: 1 });
  }
  assert.throws(() => configureRuntime({ intraOpNumThreads: 0 }), /positive integer/);
});

test('the session cache shares sessions per model identity and options, and forgets released ones', async () => {
  const bytes = doubler();
  const a = await cachedSession(bytes);
  const b = await cachedSession(bytes);
  assert.equal(a, b);
  const c = await cachedSession(bytes, { intraOpNumThreads: 2 });
  assert.notEqual(a, c);
  const d = await cachedSession(doubler());
  assert.notEqual(a, d, 'other bytes, other session');
  assert.equal(cachedSessionCount(), 3);
  await a.release();
  assert.equal(cachedSessionCount(), 2);
  assert.notEqual(await cachedSession(bytes), a);

  const dir = await mkdtemp(join(tmpdir(), 'cache é '));
  try {
    const file = join(dir, 'model a.onnx');
    await writeFile(file, bytes);
    const f1 = await cachedSession(file);
    assert.equal(await cachedSession(file), f1);
    // a rewritten file (new size) is a new model
    const b2 = new GraphBuilder('double');
    const x = b2.input('x', 'float32', [3]);
    b2.output(b2.op('Mul', [x, b2.scalar(3)]), 'y_renamed_output', { shape: [3] });
    await writeFile(file, encodeModel(b2.toModel()));
    const f2 = await cachedSession(file);
    assert.notEqual(f2, f1);
    assert.deepEqual(f2.outputNames, ['y_renamed_output']);
  } finally {
    await releaseCachedSessions();
    await rm(dir, { recursive: true, force: true });
  }
  assert.equal(cachedSessionCount(), 0);
});
