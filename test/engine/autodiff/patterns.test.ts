// Multi-node gradient patterns (rules/patterns.ts) and the walk's handling of them: the SiLU
// pattern against closed forms and finite differences, its agreement with the single-node rules,
// the cases where it must not apply (the sigmoid read elsewhere, a sigmoid of another value),
// and the walk's checks on any pattern (inside values sealed, gradients checked, nodes skipped).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildGradientGraph } from '../../../src/engine/autodiff/gradient';
import { siluPattern, type PatternEntry } from '../../../src/engine/autodiff/rules/patterns';
import { GraphBuilder } from '../../../src/engine/onnx/builder';
import type { Model } from '../../../src/engine/onnx/ir';
import { encodeModel } from '../../../src/engine/onnx/serialize';
import { createSession, type HostTensor } from '../../../src/engine/runtime';
import { Rng } from '../../../src/shared/random';
import { gradCheck } from '../../helpers/gradcheck';

// large magnitudes too: the sigmoid saturates there and 1 - s loses its digits
const X = [0.5, -1.25, 2, 0.75, -0.3, 1.5, 0, -8, 9.5, -20, 30, 1e-4];
const R = [1, -0.5, 2, 0.25, -1.5, 0.75, 1.25, -2, 0.5, 3, -1, 0.125];

async function run(model: Model, feeds: Record<string, HostTensor>): Promise<Record<string, Float32Array>> {
  const s = await createSession(encodeModel(model));
  try {
    const out = await s.run(feeds);
    return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, v.data as Float32Array]));
  } finally {
    await s.release();
  }
}

/** L = sum(r * silu(x)) with silu written as x * Sigmoid(x) (or Sigmoid(x) * x), plus `extra` terms. */
function siluLoss(sigmoidFirst: boolean, extra?: (b: GraphBuilder, x: string, s: string) => string): Model {
  const b = new GraphBuilder('silu');
  const x = b.input('x', 'float32', [X.length]);
  const s = b.op('Sigmoid', [x], {}, { output: 'sigmoid' });
  let y = b.op('Mul', sigmoidFirst ? [s, x] : [x, s]);
  if (extra) y = b.op('Add', [y, extra(b, x, s)]);
  const r = b.constant(R, [R.length], 'float32', 'r');
  b.output(b.op('ReduceSum', [b.op('Mul', [y, r])], { keepdims: 0 }), 'loss');
  return b.toModel();
}

const sigmoid = (v: number): number => 1 / (1 + Math.exp(-v));
/** d/dx [x sigmoid(x)] = s (1 + x (1 - s)), in float64 */
const siluSlope = (v: number): number => sigmoid(v) * (1 + v * (1 - sigmoid(v)));

function assertClose(actual: Float32Array, expected: number[], tol: number): void {
  assert.equal(actual.length, expected.length);
  expected.forEach((e, i) => assert.ok(Math.abs(actual[i]! - e) <= tol * Math.max(1, Math.abs(e)), `[${i}] ${actual[i]} vs ${e}`));
}

const backwardOps = (model: Model, forward: number): string[] => model.graph.nodes.slice(forward).map((n) => n.opType);

for (const sigmoidFirst of [false, true]) {
  test(`SiLU pattern (${sigmoidFirst ? 'Sigmoid(x) * x' : 'x * Sigmoid(x)'}): the closed-form slope, in four passes and no Sum`, async () => {
    const forward = siluLoss(sigmoidFirst);
    // ORT's Sigmoid is an approximation (relative error 2e-4 at x = -8, 0 at x = -20): the
    // expected slope s (1 + x (1 - s)) is computed in float64 from the forward's own s
    const { model } = buildGradientGraph(forward, { loss: 'loss', wrt: ['x'], keepOutputs: ['sigmoid'] });
    const ops = backwardOps(model, forward.graph.nodes.length);
    assert.ok(!model.graph.nodes.some((n) => n.name.endsWith('_grad_sum')), `no fan-in sum: ${ops.join(',')}`);
    // the seed's constants aside, the backward of the product r * y is one Mul; SiLU's is Sub, Mul, Add, Mul
    assert.deepEqual(
      ops.filter((t) => ['Sub', 'Mul', 'Add'].includes(t)),
      ['Mul', 'Sub', 'Mul', 'Add', 'Mul'],
    );
    const out = await run(model, { x: { dtype: 'float32', dims: [X.length], data: Float32Array.from(X) } });
    const s = out.sigmoid!;
    assert.ok(Math.abs(s[0]! - sigmoid(X[0]!)) < 1e-6);
    assertClose(out.x_grad!, X.map((v, i) => R[i]! * s[i]! * (1 + v * (1 - s[i]!))), 1e-6);
  });
}

test('SiLU pattern agrees with the single-node rules (Mul + Sigmoid + Sum) to float32 rounding', async () => {
  const forward = siluLoss(false);
  const feeds = { x: { dtype: 'float32' as const, dims: [X.length], data: Float32Array.from(X) } };
  const fused = await run(buildGradientGraph(forward, { loss: 'loss', wrt: ['x'] }).model, feeds);
  const separate = buildGradientGraph(forward, { loss: 'loss', wrt: ['x'], patterns: [] }).model;
  assert.ok(separate.graph.nodes.some((n) => n.name.endsWith('_grad_sum')), 'without patterns the two paths into x are summed');
  const plain = await run(separate, feeds);
  assertClose(fused.x_grad!, Array.from(plain.x_grad!), 1e-6);
});

test('SiLU pattern under finite differences: in a chain with broadcasting, weights as initializers', async () => {
  await gradCheck({
    inputs: {
      x: { shape: [2, 3, 4], wrt: true, generator: (rng, k) => rng.normals(k, 2) },
      w: { shape: [3, 1], wrt: true, initializer: true },
    },
    // h = x * w; silu(h) = h * Sigmoid(h), then a second SiLU on top
    build: (b, i) => {
      const h = b.op('Mul', [i.x!, i.w!]);
      const y = b.op('Mul', [h, b.op('Sigmoid', [h])]);
      return b.op('Mul', [b.op('Sigmoid', [y]), y]);
    },
  });
});

test('the sigmoid read elsewhere keeps the single-node rules: L = sum(r (x s + s))', async () => {
  const forward = siluLoss(false, (_b, _x, s) => s);
  const { model } = buildGradientGraph(forward, { loss: 'loss', wrt: ['x'] });
  const ops = backwardOps(model, forward.graph.nodes.length);
  assert.equal(model.graph.nodes.filter((n) => n.name.endsWith('_grad_sum')).length, 2, `the sigmoid's two uses and x's two uses are summed: ${ops.join(',')}`);
  const out = await run(model, { x: { dtype: 'float32', dims: [X.length], data: Float32Array.from(X) } });
  // d/dx [x s + s] = silu'(x) + s (1 - s)
  // (ORT's approximate Sigmoid: 1e-5, see the first test)
  assertClose(out.x_grad!, X.map((v, i) => R[i]! * (siluSlope(v) + sigmoid(v) * (1 - sigmoid(v)))), 1e-5);
});

test('a sigmoid of another value is not SiLU: x * Sigmoid(z) differentiates to both', async () => {
  const b = new GraphBuilder('not silu');
  const x = b.input('x', 'float32', [4]);
  const z = b.input('z', 'float32', [4]);
  b.output(b.op('ReduceSum', [b.op('Mul', [x, b.op('Sigmoid', [z])])], { keepdims: 0 }), 'loss');
  const { model } = buildGradientGraph(b.toModel(), { loss: 'loss', wrt: ['x', 'z'] });
  const xs = [0.5, -1, 2, 0];
  const zs = [1, -0.5, 0, 3];
  const out = await run(model, { x: { dtype: 'float32', dims: [4], data: Float32Array.from(xs) }, z: { dtype: 'float32', dims: [4], data: Float32Array.from(zs) } });
  assertClose(out.x_grad!, zs.map(sigmoid), 1e-6);
  assertClose(out.z_grad!, zs.map((v, i) => xs[i]! * sigmoid(v) * (1 - sigmoid(v))), 1e-6);
});

test('the walk uses a given pattern, skips the nodes it covers and checks its gradients', async () => {
  const forward = siluLoss(false);
  const feeds = { x: { dtype: 'float32' as const, dims: [X.length], data: Float32Array.from(X) } };
  // a deliberately wrong SiLU (drops the x s (1 - s) term): its gradient must be what comes out
  const calls: string[] = [];
  const wrong: PatternEntry = {
    ...siluPattern,
    rule: (ctx, match) => {
      calls.push(match.node.name);
      return [ctx.b.op('Mul', [ctx.gradOutput(0)!, match.values.sigmoid!])];
    },
  };
  const { model } = buildGradientGraph(forward, { loss: 'loss', wrt: ['x'], patterns: [wrong] });
  assert.equal(calls.length, 1);
  // the covered Sigmoid got no rule of its own: no Sub (1 - s) anywhere
  assert.ok(!backwardOps(model, forward.graph.nodes.length).includes('Sub'));
  const out = await run(model, feeds);
  assertClose(out.x_grad!, X.map((v, i) => R[i]! * sigmoid(v)), 1e-6);
  // and it differs from the true gradient by far more than the tolerance the tests above use
  assert.ok(X.some((v, i) => Math.abs(out.x_grad![i]! - R[i]! * siluSlope(v)) > 1e-2));

  const misshapen: PatternEntry = { ...siluPattern, rule: (ctx) => [ctx.b.op('ReduceSum', [ctx.gradOutput(0)!], { keepdims: 1 })] };
  assert.throws(() => buildGradientGraph(forward, { loss: 'loss', wrt: ['x'], patterns: [misshapen] }), /SiLU rule gave a float32\[1\] gradient .* of float32\[12\]/);
});

test('a pattern whose inside value is the loss is not applied', async () => {
  // loss = sum(sigmoid(x)) read through x * s as well: s feeds the Mul and the loss's ReduceSum
  const b = new GraphBuilder('inside loss');
  const x = b.input('x', 'float32', [3]);
  const s = b.op('Sigmoid', [x]);
  const y = b.op('Mul', [x, s]);
  b.output(b.op('Add', [b.op('ReduceSum', [y], { keepdims: 0 }), b.op('ReduceSum', [s], { keepdims: 0 })]), 'loss');
  const { model } = buildGradientGraph(b.toModel(), { loss: 'loss', wrt: ['x'] });
  const xs = [0.3, -2, 1.7];
  const out = await run(model, { x: { dtype: 'float32', dims: [3], data: Float32Array.from(xs) } });
  assertClose(out.x_grad!, xs.map((v) => siluSlope(v) + sigmoid(v) * (1 - sigmoid(v))), 1e-6);
});

test('SiLU pattern in float64 inside a larger expression (x^2 s) matches the closed form to 1e-12', async () => {
  const rng = new Rng(5);
  const b = new GraphBuilder('silu f64');
  const x = b.input('x', 'float64', [64]);
  b.output(b.op('ReduceSum', [b.op('Mul', [b.op('Mul', [x, b.op('Sigmoid', [x])]), x])], { keepdims: 0 }), 'loss');
  const forward = b.toModel();
  const xs = Float64Array.from(rng.normals(64, 4));
  const feeds = { x: { dtype: 'float64' as const, dims: [64], data: xs } };
  const runF64 = async (m: Model): Promise<Float64Array> => {
    const s = await createSession(encodeModel(m));
    try {
      return (await s.run(feeds)).x_grad!.data as Float64Array;
    } finally {
      await s.release();
    }
  };
  const fused = await runF64(buildGradientGraph(forward, { loss: 'loss', wrt: ['x'] }).model);
  // L = sum(x^2 s): dL/dx = 2 x s + x^2 s (1 - s)
  xs.forEach((v, i) => {
    const want = 2 * v * sigmoid(v) + v * v * sigmoid(v) * (1 - sigmoid(v));
    assert.ok(Math.abs(fused[i]! - want) <= 1e-12 * Math.max(1, Math.abs(want)), `[${i}] ${fused[i]} vs ${want}`);
  });
});
