// Optimisers and gradient clipping against values worked out by hand (float64, textbook form
// m_hat / (sqrt(v_hat) + eps), see the comments) rather than against the implementation's form.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Adam, AdamW, clipGradNorm, type Optimizer } from '../../../src/engine/autodiff/optim';

const GRADS = [
  [0.5, -1, 0],
  [0.25, 2, -0.1],
  [-0.5, 0.5, 0.1],
];

function trajectory(opt: Optimizer): number[][] {
  const p = Float32Array.from([1, -2, 0.5]);
  const params = new Map([['p', p]]);
  return GRADS.map((g) => {
    opt.step(params, new Map([['p', Float32Array.from(g)]]));
    return Array.from(p);
  });
}

function assertClose(actual: number[][], expected: number[][], tol = 5e-7): void {
  actual.forEach((row, s) => row.forEach((v, i) => assert.ok(Math.abs(v - expected[s]![i]!) < tol, `step ${s + 1} [${i}]: ${v} vs ${expected[s]![i]}`)));
}

test('Adam: three steps equal the hand-computed trajectory', () => {
  // lr 0.1, b1 0.9, b2 0.999, eps 1e-8.
  // step 1: m = 0.1 g, v = 0.001 g^2, bias correction gives m_hat = g, v_hat = g^2, so every
  //   parameter with g != 0 moves by lr * sign(g): [0.9, -1.9, 0.5] (the third has g = 0).
  // step 2, p[0]: m = 0.9*0.05 + 0.1*0.25 = 0.07, v = 0.999*0.00025 + 0.001*0.0625 = 0.00031225,
  //   m_hat = 0.07/0.19 = 0.368421, v_hat = 0.00031225/0.001999 = 0.156203, sqrt = 0.395225,
  //   p = 0.9 - 0.1 * 0.932180 = 0.806782.
  assertClose(trajectory(new Adam({ lr: 0.1 })), [
    [0.900000002, -1.900000001, 0.5],
    [0.80678204, -1.936610353, 0.574413672],
    [0.795703734, -1.978175473, 0.569895448],
  ]);
});

test('Adam with weight decay adds wd * p to the gradient (L2)', () => {
  // step 1, p[2]: g = 0 + 0.1 * 0.5 = 0.05, so it now moves by lr: 0.5 - 0.1 = 0.4.
  assertClose(trajectory(new Adam({ lr: 0.1, weightDecay: 0.1 })), [
    [0.900000002, -1.900000001, 0.40000002],
    [0.805009766, -1.925017878, 0.414294489],
    [0.775511505, -1.953127271, 0.363703067],
  ]);
});

test('AdamW decays the parameter by (1 - lr * wd) before the Adam step (decoupled)', () => {
  // step 1: p * (1 - 0.01) then -lr*sign(g): [0.99 - 0.1, -1.98 + 0.1, 0.495].
  assertClose(trajectory(new AdamW({ lr: 0.1, weightDecay: 0.1 })), [
    [0.890000002, -1.880000001, 0.495],
    [0.78788204, -1.897810353, 0.564463672],
    [0.768924913, -1.92039737, 0.554300812],
  ]);
});

test('a learning-rate schedule receives the 1-based step number', () => {
  const seen: number[] = [];
  const opt = new Adam({ lr: (s) => (seen.push(s), 0.1) });
  assertClose(trajectory(opt).slice(0, 1), [[0.900000002, -1.900000001, 0.5]]);
  assert.deepEqual(seen, [1, 2, 3]);
  assert.equal(opt.stepCount, 3);
});

test('optimiser state round-trips and continues the same trajectory bit-exactly', () => {
  const full = new Adam({ lr: 0.05 });
  const p = Float32Array.from([1, -2, 0.5]);
  const params = new Map([['p', p]]);
  full.step(params, new Map([['p', Float32Array.from(GRADS[0]!)]]));
  const saved = full.state();
  const pSaved = p.slice();
  full.step(params, new Map([['p', Float32Array.from(GRADS[1]!)]]));

  const resumed = new Adam({ lr: 0.05 });
  resumed.load(saved);
  const q = pSaved.slice();
  resumed.step(new Map([['p', q]]), new Map([['p', Float32Array.from(GRADS[1]!)]]));
  assert.deepEqual(q, p);
  assert.equal(resumed.stepCount, 2);
  // the exported state is a copy, not a view
  saved.slots.m!.p![0] = 99;
  assert.notEqual(full.state().slots.m!.p![0], 99);
  assert.throws(() => new AdamW({ lr: 1 }).load(saved), /cannot load a 'adam' optimiser state into adamw/);
});

test('a gradient for an unknown parameter or of the wrong size is refused', () => {
  const opt = new Adam({ lr: 0.1 });
  const params = new Map([['w', new Float32Array(2)]]);
  assert.throws(() => opt.step(params, new Map([['x', new Float32Array(2)]])), /unknown parameter 'x'/);
  assert.throws(() => opt.step(params, new Map([['w', new Float32Array(3)]])), /'w' has 2 values, its gradient 3/);
});

test('clipGradNorm scales all gradients by maxNorm / norm only when the global norm exceeds it', () => {
  // global norm of {[3, 0], [0, 4]} is 5
  const a = Float32Array.from([3, 0]);
  const b = Float32Array.from([0, 4]);
  assert.equal(clipGradNorm([a, b], 10), 5);
  assert.deepEqual([...a, ...b], [3, 0, 0, 4]);
  assert.equal(clipGradNorm([a, b], 1), 5);
  // scaled by 1 / (5 + 1e-6)
  assert.ok(Math.abs(a[0]! - 0.6) < 1e-6 && Math.abs(b[1]! - 0.8) < 1e-6);
  assert.throws(() => clipGradNorm([a], 0), /max norm must be positive/);
});
