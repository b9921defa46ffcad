import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { composeTraining } from '../../../src/engine/autodiff/composer';
import { Adam, AdamW } from '../../../src/engine/autodiff/optim';
import { GraphBuilder } from '../../../src/engine/onnx/builder';
import type { Model } from '../../../src/engine/onnx/ir';
import type { HostTensor } from '../../../src/engine/runtime';
import { Rng } from '../../../src/shared/random';

const N = 6;
const IN = 3;
const OUT = 2;

/** y = tanh(x W + b) * s, loss = mean((y - target)^2); W, b initializers, s a graph input. */
function regression(seed: number): Model {
  const rng = new Rng(seed);
  const b = new GraphBuilder('regression');
  const x = b.input('x', 'float32', [N, IN]);
  const target = b.input('target', 'float32', [N, OUT]);
  const s = b.input('s', 'float32', [1, OUT]);
  const w = b.param('W', [IN, OUT], rng.normals(IN * OUT, 0.5));
  const bias = b.param('b', [OUT], rng.normals(OUT, 0.1));
  const y = b.op('Mul', [b.op('Tanh', [b.op('Add', [b.op('MatMul', [x, w]), bias])]), s]);
  const diff = b.op('Sub', [y, target]);
  b.output(b.op('ReduceMean', [b.op('Mul', [diff, diff])], { keepdims: 0 }), 'loss', { dtype: 'float32', shape: [] });
  return b.toModel();
}

function batch(step: number): Record<string, HostTensor> {
  const rng = new Rng(1000 + step);
  return {
    x: { dtype: 'float32', dims: [N, IN], data: rng.normals(N * IN) },
    target: { dtype: 'float32', dims: [N, OUT], data: rng.normals(N * OUT, 0.5) },
  };
}

/** The loss and gradients of `regression` written out by hand in float64. */
function handGradients(W: Float32Array, bias: Float32Array, s: Float32Array, feeds: Record<string, HostTensor>) {
  const x = feeds.x!.data as Float32Array;
  const t = feeds.target!.data as Float32Array;
  const gW = new Float64Array(IN * OUT);
  const gb = new Float64Array(OUT);
  const gs = new Float64Array(OUT);
  let loss = 0;
  for (let i = 0; i < N; i++) for (let j = 0; j < OUT; j++) {
    let z = bias[j]!;
    for (let k = 0; k < IN; k++) z += x[i * IN + k]! * W[k * OUT + j]!;
    const th = Math.tanh(z);
    const r = th * s[j]! - t[i * OUT + j]!;
    loss += (r * r) / (N * OUT);
    const dy = (2 * r) / (N * OUT); // dL/dy
    gs[j]! += dy * th;
    const dz = dy * s[j]! * (1 - th * th);
    gb[j]! += dz;
    for (let k = 0; k < IN; k++) gW[k * OUT + j]! += dz * x[i * IN + k]!;
  }
  return { loss, gW, gb, gs };
}

const close = (a: ArrayLike<number>, b: ArrayLike<number>, tol: number): boolean => Array.from(a).every((v, i) => Math.abs(v - b[i]!) <= tol * (1 + Math.abs(b[i]!)));

test('the trainer computes the hand-derived loss and gradients, for initializers and a trained input', async () => {
  const model = regression(1);
  const s0 = Float32Array.from([1.5, -0.5]);
  const trainer = await composeTraining(model, { loss: 'loss', train: ['W', 'b', 's'], initial: { s: s0 }, optimizer: new Adam({ lr: 0.01 }) });
  assert.deepEqual(trainer.batchInputs.slice().sort(), ['target', 'x']);
  // trained initializers became inputs of the training graph; the caller's model is untouched
  assert.ok(trainer.trainingModel.graph.inputs.some((i) => i.name === 'W'));
  assert.ok(!trainer.trainingModel.graph.initializers.has('W'));
  assert.ok(model.graph.initializers.has('W'));
  const feeds = batch(0);
  const result = await trainer.gradients(feeds);
  const W = model.graph.initializers.get('W')!.data as Float32Array;
  const bias = model.graph.initializers.get('b')!.data as Float32Array;
  const hand = handGradients(W, bias, s0, feeds);
  assert.ok(Math.abs(result.loss - hand.loss) < 1e-5 * (1 + hand.loss));
  assert.ok(close(result.grads.get('W')!, hand.gW, 1e-5));
  assert.ok(close(result.grads.get('b')!, hand.gb, 1e-5));
  assert.ok(close(result.grads.get('s')!, hand.gs, 1e-5));
  const norm = Math.sqrt([...hand.gW, ...hand.gb, ...hand.gs].reduce((a, v) => a + v * v, 0));
  assert.ok(Math.abs(result.gradNorm - norm) < 1e-5 * (1 + norm));
  // `gradients` does not update
  assert.deepEqual(trainer.params.get('W'), W);
  await trainer.release();
});

test('a step applies the optimiser to the (clipped) gradients', async () => {
  const model = regression(2);
  const s0 = Float32Array.from([1, 1]);
  const opts = { loss: 'loss', train: ['W', 'b', 's'], initial: { s: s0 } };
  const trainer = await composeTraining(model, { ...opts, optimizer: new AdamW({ lr: 0.05, weightDecay: 0.1 }), clipGradNorm: 0.01 });
  const feeds = batch(3);
  const before = new Map([...trainer.params].map(([k, v]) => [k, v.slice()]));
  const result = await trainer.step(feeds);
  assert.ok(result.gradNorm > 0.01, 'this batch must exceed the clip norm for the test to mean something');
  const clippedNorm = Math.sqrt([...result.grads.values()].reduce((a, g) => a + g.reduce((c, v) => c + v * v, 0), 0));
  assert.ok(Math.abs(clippedNorm - 0.01) < 1e-6);
  // the same update by an independent optimiser on the returned (clipped) gradients
  const reference = new AdamW({ lr: 0.05, weightDecay: 0.1 });
  reference.step(before, result.grads);
  for (const [name, p] of trainer.params) assert.deepEqual(p, before.get(name), name);
  await trainer.release();
});

test('a run resumed from a checkpoint file follows the uninterrupted trajectory bit for bit', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'df resume ü '));
  try {
    const model = regression(3);
    const options = () => ({
      loss: 'loss',
      train: ['W', 'b', 's'],
      initial: { s: Float32Array.from([0.7, 1.3]) },
      optimizer: new AdamW({ lr: (step: number) => 0.05 / Math.sqrt(step), weightDecay: 0.01 }),
      clipGradNorm: 1,
    });
    const STEPS = 8;
    const SPLIT = 3;
    const full = await composeTraining(model, options());
    const fullLosses: number[] = [];
    for (let s = 0; s < STEPS; s++) fullLosses.push((await full.step(batch(s))).loss);

    const first = await composeTraining(model, options());
    for (let s = 0; s < SPLIT; s++) await first.step(batch(s));
    const path = join(dir, 'step 3 ✓.ckpt');
    await first.save(path, { step: SPLIT });
    await first.release();

    const resumed = await composeTraining(model, options());
    const ckpt = await resumed.load(path);
    assert.equal(ckpt.meta.step, SPLIT);
    assert.equal(resumed.optimizer.stepCount, SPLIT);
    const resumedLosses: number[] = [];
    for (let s = SPLIT; s < STEPS; s++) resumedLosses.push((await resumed.step(batch(s))).loss);
    assert.deepEqual(resumedLosses, fullLosses.slice(SPLIT));
    for (const [name, p] of full.params) assert.deepEqual(new Uint32Array(resumed.params.get(name)!.buffer), new Uint32Array(p.buffer), name);
    const a = full.optimizer.state();
    const b = resumed.optimizer.state();
    for (const slot of ['m', 'v']) for (const name of ['W', 'b', 's']) assert.deepEqual(b.slots[slot]![name], a.slots[slot]![name]);
    // and training actually moved
    assert.ok(fullLosses[STEPS - 1]! < fullLosses[0]!);
    await full.release();
    await resumed.release();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('frozen inputs are baked in, kept outputs come back, and bad requests fail clearly', async () => {
  const model = regression(4);
  const frozenS: HostTensor = { dtype: 'float32', dims: [1, OUT], data: Float32Array.from([2, 2]) };
  const trainer = await composeTraining(model, { loss: 'loss', train: ['W'], frozenInputs: { s: frozenS }, optimizer: new Adam({ lr: 0.1 }), keepOutputs: ['loss'] });
  assert.deepEqual(trainer.batchInputs.slice().sort(), ['target', 'x']);
  assert.ok(trainer.trainingModel.graph.initializers.has('s'));
  const feeds = batch(1);
  const r = await trainer.gradients(feeds);
  const hand = handGradients(model.graph.initializers.get('W')!.data as Float32Array, model.graph.initializers.get('b')!.data as Float32Array, frozenS.data as Float32Array, feeds);
  assert.ok(close(r.grads.get('W')!, hand.gW, 1e-5));
  assert.equal((r.outputs.loss!.data as Float32Array)[0], r.loss);
  await assert.rejects(trainer.step({ x: feeds.x! }), /the batch lacks input 'target'/);
  await assert.rejects(trainer.step({ ...feeds, W: feeds.x! }), /'W' is not a batch input \(it is trained\)/);
  // a checkpoint of another run is refused with the reason
  const other = trainer.checkpoint();
  delete other.params.W;
  other.params.V = { dims: [1], data: new Float32Array(1) };
  assert.throws(() => trainer.restore(other, 'other.ckpt'), /other\.ckpt: parameters do not match this training run \(missing: W; unexpected: V\)/);
  await trainer.release();

  const opt = () => new Adam({ lr: 0.1 });
  await assert.rejects(composeTraining(model, { loss: 'loss', train: ['nope'], optimizer: opt() }), /model 'regression': 'nope' is neither an initializer nor a graph input/);
  await assert.rejects(composeTraining(model, { loss: 'loss', train: ['s'], optimizer: opt() }), /trained input 's' needs a starting value/);
  await assert.rejects(composeTraining(model, { loss: 'loss', train: [], optimizer: opt() }), /nothing to train/);
  await assert.rejects(
    composeTraining(model, { loss: 'loss', train: ['s'], initial: { s: new Float32Array(3) }, optimizer: opt() }),
    /starting value for 's' has 3 values, its shape \[1,2\] needs 2/,
  );
});
