// Adam's parameter groups and the warm-up schedule, against trajectories worked out by hand in
// float64 with the textbook form p -= lr * m_hat / (sqrt(v_hat) + eps) (as composer-optim.test.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Adam, AdamW, linearWarmup, learningRateAt } from '../../../src/engine/autodiff/optim';

const GRADS = [
  [0.5, -1, 0],
  [0.25, 2, -0.1],
  [-0.5, 0.5, 0.1],
];

/** Both parameters start at [1, -2, 0.5] and get the same gradients. */
function run(opt: Adam): { a: number[][]; b: number[][] } {
  const a = Float32Array.from([1, -2, 0.5]);
  const b = Float32Array.from([1, -2, 0.5]);
  const params = new Map([
    ['a', a],
    ['b', b],
  ]);
  const out = { a: [] as number[][], b: [] as number[][] };
  for (const g of GRADS) {
    opt.step(params, new Map([
      ['a', Float32Array.from(g)],
      ['b', Float32Array.from(g)],
    ]));
    out.a.push(Array.from(a));
    out.b.push(Array.from(b));
  }
  return out;
}

function assertClose(actual: number[][], expected: number[][], tol = 5e-7): void {
  actual.forEach((row, s) => row.forEach((v, i) => assert.ok(Math.abs(v - expected[s]![i]!) < tol, `step ${s + 1} [${i}]: ${v} vs ${expected[s]![i]}`)));
}

test('a parameter group steps with its own learning rate; the others keep the default one bit for bit', () => {
  const grouped = run(new Adam({ lr: 0.1, groups: [{ names: ['b'], lr: 0.01 }] }));
  // 'b' with lr 0.01. step 1: m_hat = g, v_hat = g^2, so each weight with g != 0 moves by
  //   lr * sign(g): [0.99, -1.99, 0.5].
  // step 2, b[0]: m = 0.9*0.05 + 0.1*0.25 = 0.07, v = 0.999*0.00025 + 0.001*0.0625 = 0.00031225,
  //   m_hat / sqrt(v_hat) = 0.368421 / 0.395225 = 0.932180, b = 0.99 - 0.01 * 0.932180 = 0.980678.
  assertClose(grouped.b, [
    [0.99, -1.99, 0.5],
    [0.980678204, -1.993661035, 0.507441367],
    [0.979570373, -1.997817547, 0.506989545],
  ]);
  // 'a' is in no group: exactly the trajectory of an Adam without groups
  assert.deepEqual(grouped.a, run(new Adam({ lr: 0.1 })).a);
});

test('a group with a warm-up schedule: lr 0.02 reached at step 2', () => {
  // step 1 uses 0.01 (as above), steps 2 and 3 use 0.02:
  //   b[0] at step 2 = 0.99 - 0.02 * 0.932180 = 0.971356.
  const grouped = run(new Adam({ lr: 0.1, groups: [{ names: ['b'], lr: linearWarmup(0.02, 2) }] }));
  assertClose(grouped.b, [
    [0.99, -1.99, 0.5],
    [0.971356408, -1.997322071, 0.514882734],
    [0.969140747, -2.005635095, 0.51397909],
  ]);
});

test('AdamW decays a grouped parameter with the group\'s learning rate', () => {
  // step 1: b * (1 - 0.01 * 0.5) - 0.01 * sign(g) = [0.985, -1.98, 0.4975] with lr 0.01, wd 0.5;
  //   'a' (lr 0.1): a * (1 - 0.05) - 0.1 * sign(g) = [0.85, -1.8, 0.475].
  const r = run(new AdamW({ lr: 0.1, weightDecay: 0.5, groups: [{ names: ['b'], lr: 0.01 }] }));
  assertClose(r.b.slice(0, 1), [[0.985, -1.98, 0.4975]]);
  assertClose(r.a.slice(0, 1), [[0.85, -1.8, 0.475]]);
});

test('a parameter in two groups, or a group naming no parameter, is refused', () => {
  assert.throws(() => new Adam({ lr: 0.1, groups: [{ names: ['a'], lr: 0.1 }, { names: ['b', 'a'], lr: 0.2 }] }), /'a' is in groups 0 and 1/);
  const opt = new Adam({ lr: 0.1, groups: [{ names: ['decoder/w'], lr: 0.1 }] });
  assert.throws(() => opt.step(new Map([['w', new Float32Array(1)]]), new Map([['w', new Float32Array(1)]])), /names 'decoder\/w', which is not a parameter/);
});

test('linearWarmup rises linearly to the rate and stays there; 0 steps is the constant rate', () => {
  const lr = linearWarmup(1e-3, 4);
  assert.deepEqual([1, 2, 3, 4, 5, 100].map((s) => learningRateAt(lr, s)), [2.5e-4, 5e-4, 7.5e-4, 1e-3, 1e-3, 1e-3]);
  assert.equal(linearWarmup(1e-3, 0), 1e-3);
  assert.throws(() => linearWarmup(0, 4), /positive/);
  assert.throws(() => linearWarmup(1e-3, 1.5), /whole number/);
});
