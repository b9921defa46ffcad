// Session profiling: enableProfiling makes ORT record every kernel; endProfiling() names the file
// it wrote, and summariseProfile() turns it into per-op-type kernel time.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { GraphBuilder } from '../../../src/engine/onnx/builder';
import { encodeModel } from '../../../src/engine/onnx/serialize';
import { cachedSession, createSession, releaseCachedSessions, summariseProfile, type HostTensor } from '../../../src/engine/runtime';

/** y = Relu(x * 2) + x: one Mul, one Relu, one Add per run. */
function smallModel(): Uint8Array {
  const b = new GraphBuilder('profiled');
  const x = b.input('x', 'float32', [4]);
  b.output(b.op('Add', [b.op('Relu', [b.op('Mul', [x, b.scalar(2)])]), x]), 'y', { shape: [4] });
  return encodeModel(b.toModel());
}

const feeds: Record<string, HostTensor> = { x: { dtype: 'float32', dims: [4], data: Float32Array.from([1, -2, 3, -4]) } };

test('a profiled session writes its profile under the given prefix (spaces, non-ASCII) and summarises per op type', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'df prof ü-'));
  try {
    const prefix = join(dir, 'grad graph é');
    const session = await createSession(smallModel(), { enableProfiling: true, profileFilePrefix: prefix });
    for (let i = 0; i < 3; i++) {
      const { y } = await session.run(feeds);
      assert.deepEqual([...(y!.data as Float32Array)], [3, -2, 9, -4]);
    }
    const file = session.endProfiling();
    await session.release();
    assert.equal(dirname(file), dir);
    assert.ok(basename(file).startsWith('grad graph é_') && file.endsWith('.json'), file);
    const summary = summariseProfile(readFileSync(file, 'utf8'), file);
    assert.equal(summary.runs, 3);
    const ops = new Map(summary.byOpType.map((o) => [o.opType, o]));
    // ORT may fuse elementwise ops; whatever ran, every kernel is counted once per run
    const calls = summary.byOpType.reduce((a, o) => a + o.calls, 0);
    assert.ok(calls >= 1 && calls <= 3 && Number.isInteger(calls), `kernels per run: ${calls}`);
    assert.ok([...ops.keys()].every((k) => k !== '?'), [...ops.keys()].join(','));
    const shares = summary.byOpType.reduce((a, o) => a + o.share, 0);
    assert.ok(Math.abs(shares - 1) < 1e-9);
    const micros = summary.byOpType.reduce((a, o) => a + o.micros, 0);
    assert.ok(Math.abs(micros - summary.kernelMicros) < 1e-6);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('without a prefix the profile goes to a fresh file in the temp folder; plain sessions refuse endProfiling', async () => {
  const a = await createSession(smallModel(), { enableProfiling: true });
  const b = await createSession(smallModel(), { enableProfiling: true });
  await a.run(feeds);
  await b.run(feeds);
  const fileB = b.endProfiling();
  const fileA = a.endProfiling();
  await a.release();
  await b.release();
  try {
    assert.notEqual(fileA, fileB);
    assert.equal(dirname(fileA), tmpdir());
    assert.ok(existsSync(fileA) && existsSync(fileB));
    assert.equal(summariseProfile(readFileSync(fileA, 'utf8'), fileA).runs, 1);
  } finally {
    await rm(fileA, { force: true });
    await rm(fileB, { force: true });
  }
  const plain = await createSession(smallModel());
  assert.throws(() => plain.endProfiling(), /not opened with enableProfiling/);
  await plain.release();
});

test('the session cache never hands a profiling session to a plain request', async () => {
  const bytes = smallModel();
  const plain = await cachedSession(bytes);
  const profiled = await cachedSession(bytes, { enableProfiling: true });
  assert.notEqual(plain, profiled);
  assert.throws(() => plain.endProfiling(), /enableProfiling/);
  await profiled.run(feeds);
  const file = profiled.endProfiling();
  await releaseCachedSessions();
  await rm(file, { force: true });
});

test('summariseProfile: averages per run, sorts by time, and names the file on bad input', () => {
  const ev = (name: string, op: string, dur: number) => ({ cat: 'Node', name: `${name}_kernel_time`, dur, args: { op_name: op } });
  const events = [
    { cat: 'Session', name: 'model_run', dur: 100 },
    ev('c1', 'Conv', 60), ev('m1', 'MatMul', 20), ev('c2', 'Conv', 20),
    { cat: 'Node', name: 'c1_fence_before', dur: 5, args: { op_name: 'Conv' } },
    { cat: 'Session', name: 'model_run', dur: 100 },
    ev('c1', 'Conv', 40), ev('m1', 'MatMul', 60),
  ];
  const s = summariseProfile(JSON.stringify(events), 'p.json');
  assert.equal(s.runs, 2);
  assert.equal(s.kernelMicros, 100);
  assert.deepEqual(s.byOpType.map((o) => [o.opType, o.micros, o.share, o.calls]), [['Conv', 60, 0.6, 1.5], ['MatMul', 40, 0.4, 1]]);
  assert.deepEqual([...s.byNode], [['c1', { opType: 'Conv', micros: 50 }], ['m1', { opType: 'MatMul', micros: 40 }], ['c2', { opType: 'Conv', micros: 10 }]]);
  assert.throws(() => summariseProfile('{oops', 'bad file.json'), /bad file\.json.*not JSON/);
  assert.throws(() => summariseProfile('[]', 'empty.json'), /empty\.json.*no session run/);
  assert.throws(() => summariseProfile(JSON.stringify([{ cat: 'Session', name: 'model_run' }, { cat: 'Node', name: 'x_kernel_time', args: {} }]), 'nodur.json'), /nodur\.json.*x_kernel_time/);
});
