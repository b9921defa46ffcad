// The reverse-mode walk itself: pruning, accumulation, stopping, errors, initializers, outputs.
// Expected gradients here are computed independently in plain JS from the closed forms.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildGradientGraph } from '../../../src/engine/autodiff/gradient';
import { GraphBuilder } from '../../../src/engine/onnx/builder';
import type { Model } from '../../../src/engine/onnx/ir';
import { encodeModel } from '../../../src/engine/onnx/serialize';
import { createSession, type HostTensor } from '../../../src/engine/runtime';
import { gradCheck } from '../../helpers/gradcheck';

const f32 = (dims: number[], values: number[]): HostTensor => ({ dtype: 'float32', dims, data: new Float32Array(values) });

async function run(model: Model, feeds: Record<string, HostTensor>): Promise<Record<string, number[]>> {
  const s = await createSession(encodeModel(model));
  try {
    const out = await s.run(feeds);
    return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, Array.from(v.data as Float32Array)]));
  } finally {
    await s.release();
  }
}

function assertClose(actual: number[], expected: number[], tol = 1e-5): void {
  assert.equal(actual.length, expected.length, `length ${actual.length} vs ${expected.length}`);
  actual.forEach((a, i) => assert.ok(Math.abs(a - expected[i]!) <= tol * Math.max(1, Math.abs(expected[i]!)), `[${i}] ${a} vs ${expected[i]}`));
}

const X = [0.5, -1.25, 2, 0.75, -0.3, 1.5];

test('a value used three times accumulates its gradients with one Sum', async () => {
  // L = sum(x * x + exp(x)) -> dL/dx = 2x + exp(x)
  const b = new GraphBuilder('acc');
  const x = b.input('x', 'float32', [2, 3]);
  const y = b.op('Add', [b.op('Mul', [x, x]), b.op('Exp', [x])]);
  b.output(b.op('ReduceSum', [y], { keepdims: 0 }), 'loss');
  const { model, gradNames, warnings } = buildGradientGraph(b.toModel(), { loss: 'loss', wrt: ['x'] });
  assert.deepEqual(gradNames, { x: 'x_grad' });
  assert.deepEqual(warnings, []);
  const sums = model.graph.nodes.filter((n) => n.opType === 'Sum');
  assert.equal(sums.length, 1);
  assert.equal(sums[0]!.inputs.length, 3);
  const out = await run(model, { x: f32([2, 3], X) });
  assertClose(out['x_grad']!, X.map((v) => 2 * v + Math.exp(v)));
  assertClose(out['loss']!, [X.reduce((s, v) => s + v * v + Math.exp(v), 0)]);
});

test('two contributions are added with an Add (which ORT can fuse into a Conv producing one), more with one Sum', async () => {
  // L = sum(x * exp(x)) -> dL/dx = exp(x) (1 + x): the Mul rule gives x two contributions
  const b = new GraphBuilder('acc2');
  const x = b.input('x', 'float32', [2, 3]);
  b.output(b.op('ReduceSum', [b.op('Mul', [x, b.op('Exp', [x])])], { keepdims: 0 }), 'loss');
  const { model } = buildGradientGraph(b.toModel(), { loss: 'loss', wrt: ['x'] });
  const fanIn = model.graph.nodes.filter((n) => n.name.endsWith('_grad_sum'));
  assert.deepEqual(
    fanIn.map((n) => [n.opType, n.inputs.length]),
    [['Add', 2]],
  );
  const out = await run(model, { x: f32([2, 3], X) });
  assertClose(out['x_grad']!, X.map((v) => Math.exp(v) * (1 + v)));
});

test('only nodes between wrt and loss get gradients; side branches (even without rules) emit nothing', () => {
  const b = new GraphBuilder('prune');
  const x = b.input('x', 'float32', [3]);
  const c = b.input('c', 'float32', [3]);
  b.output(b.op('Atan', [x]), 'side'); // no gradient rule, but it does not reach the loss
  const scale = b.op('Cos', [c]); // reaches the loss but does not depend on x
  b.output(b.op('ReduceSum', [b.op('Mul', [b.op('Exp', [x]), scale])], { keepdims: 0 }), 'loss');
  const forwardCount = b.graph.nodes.length;
  const { model } = buildGradientGraph(b.toModel(), { loss: 'loss', wrt: ['x'] });
  const backward = model.graph.nodes.slice(forwardCount);
  // the gradient of Cos would be a Sin; the side branch would need Atan's (missing) rule
  assert.ok(!backward.some((n) => n.opType === 'Sin'));
  assert.ok(backward.some((n) => n.opType === 'Mul' && n.inputs.includes(scale)));
  assert.deepEqual(
    model.graph.outputs.map((o) => o.name),
    ['loss', 'x_grad'],
  );
});

test('an op without a rule on the path fails with its op type and node name', () => {
  const b = new GraphBuilder('unknown');
  const x = b.input('x', 'float32', [3]);
  b.op('Atan', [x], {}, { name: 'my atan' });
  b.output(b.op('ReduceSum', [b.graph.nodes[0]!.outputs[0]!], { keepdims: 0 }), 'loss');
  assert.throws(() => buildGradientGraph(b.toModel(), { loss: 'loss', wrt: ['x'] }), /no gradient rule for op 'Atan' \(node 'my atan'\)/);
});

test('a wrt tensor that does not influence the loss gets zeros and a warning', async () => {
  const b = new GraphBuilder('zero');
  const x = b.input('x', 'float32', [3]);
  b.input('unused', 'float32', [2, 2]);
  b.output(b.op('ReduceSum', [x], { keepdims: 0 }), 'loss');
  const { model, warnings } = buildGradientGraph(b.toModel(), { loss: 'loss', wrt: ['x', 'unused'] });
  assert.equal(warnings.length, 1);
  assert.match(warnings[0]!, /'unused' does not influence loss 'loss'/);
  const out = await run(model, { x: f32([3], [1, 2, 3]), unused: f32([2, 2], [1, 1, 1, 1]) });
  assert.deepEqual(out['unused_grad'], [0, 0, 0, 0]);
  assert.deepEqual(out['x_grad'], [1, 1, 1]);
});

test('gradients with respect to initializers, and the original model is left untouched', async () => {
  // L = sum(x W) with x [2,3], W [3,2] -> dL/dW[i][j] = sum_n x[n][i]
  const b = new GraphBuilder('init');
  const x = b.input('x', 'float32', [2, 3]);
  const wName = b.param('W', [3, 2], [1, 2, 3, 4, 5, 6]);
  b.output(b.op('ReduceSum', [b.op('MatMul', [x, wName])], { keepdims: 0 }), 'loss');
  const forward = b.toModel();
  const nodesBefore = forward.graph.nodes.length;
  const { model, gradNames } = buildGradientGraph(forward, { loss: 'loss', wrt: [wName] });
  assert.equal(forward.graph.nodes.length, nodesBefore);
  assert.deepEqual(
    forward.graph.outputs.map((o) => o.name),
    ['loss'],
  );
  const out = await run(model, { x: f32([2, 3], X) });
  const colSums = [0, 1, 2].map((i) => X[i]! + X[3 + i]!);
  assertClose(out[gradNames[wName]!]!, colSums.flatMap((s) => [s, s]));
  // and numerically, mixing an input and an initializer
  await gradCheck({
    build: (g, v) => g.op('Tanh', [g.op('Gemm', [v.a!, v.w!, v.bias!])]),
    inputs: { a: { shape: [2, 3], wrt: true }, w: { shape: [3, 4], wrt: true, initializer: true }, bias: { shape: [4], wrt: true, initializer: true } },
  });
});

test("'no-gradient' ops stop the flow: d/dx [x * floor(x)] = floor(x)", async () => {
  const b = new GraphBuilder('stop');
  const x = b.input('x', 'float32', [6]);
  b.output(b.op('ReduceSum', [b.op('Mul', [x, b.op('Floor', [x])])], { keepdims: 0 }), 'loss');
  const { model } = buildGradientGraph(b.toModel(), { loss: 'loss', wrt: ['x'] });
  const out = await run(model, { x: f32([6], X) });
  assertClose(out['x_grad']!, X.map(Math.floor));
});

test('integer paths carry no gradient: x * float(shape(x)) differentiates to the shape', async () => {
  const b = new GraphBuilder('int');
  const x = b.input('x', 'float32', [3, 2]);
  const dims = b.op('Cast', [b.op('Shape', [x])], { to: 1 }); // [3, 2], broadcast along the last axis
  b.output(b.op('ReduceSum', [b.op('Mul', [x, dims])], { keepdims: 0 }), 'loss');
  const { model } = buildGradientGraph(b.toModel(), { loss: 'loss', wrt: ['x'] });
  const out = await run(model, { x: f32([3, 2], X) });
  assert.deepEqual(out['x_grad'], [3, 2, 3, 2, 3, 2]);
});

test('outputs are the loss, the gradients in wrt order, then kept forward values', async () => {
  const b = new GraphBuilder('outs');
  const x = b.input('x', 'float32', [2]);
  const w = b.input('w', 'float32', [2]);
  const pred = b.op('Mul', [x, w], {}, { output: 'pred' });
  b.output(b.op('ReduceMean', [pred], { keepdims: 1 }), 'loss'); // shape [1]: one element is a scalar too
  const { model } = buildGradientGraph(b.toModel(), { loss: 'loss', wrt: ['w', 'x'], keepOutputs: ['pred'] });
  assert.deepEqual(
    model.graph.outputs.map((o) => [o.name, o.shape]),
    [
      ['loss', [1]],
      ['w_grad', [2]],
      ['x_grad', [2]],
      ['pred', [2]],
    ],
  );
  const out = await run(model, { x: f32([2], [3, 4]), w: f32([2], [5, 6]) });
  assert.deepEqual(out['w_grad'], [1.5, 2]);
  assert.deepEqual(out['x_grad'], [2.5, 3]);
  assert.deepEqual(out['pred'], [15, 24]);
});

test('bad requests fail with clear messages', () => {
  const b = new GraphBuilder('bad');
  const x = b.input('x', 'float32', [2]);
  const idx = b.input('idx', 'int64', [2]);
  const y = b.op('Exp', [x], {}, { output: 'y' });
  b.output(b.op('ReduceSum', [y], { keepdims: 0 }), 'loss');
  b.output(b.op('ReduceSum', [idx], { keepdims: 0 }), 'count');
  const m = b.toModel();
  assert.throws(() => buildGradientGraph(m, { loss: 'y', wrt: ['x'] }), /loss 'y' must be a scalar, got shape \[2\]/);
  assert.throws(() => buildGradientGraph(m, { loss: 'count', wrt: ['x'] }), /loss 'count' must be float32, float16 or float64, got int64/);
  assert.throws(() => buildGradientGraph(m, { loss: 'nope', wrt: ['x'] }), /loss 'nope' is not a value/);
  assert.throws(() => buildGradientGraph(m, { loss: 'loss', wrt: ['y'] }), /wrt 'y' is neither a graph input nor an initializer/);
  assert.throws(() => buildGradientGraph(m, { loss: 'loss', wrt: ['idx'] }), /wrt 'idx' has dtype int64/);
  assert.throws(() => buildGradientGraph(m, { loss: 'loss', wrt: ['x', 'x'] }), /wrt names repeat/);
  assert.throws(() => buildGradientGraph(m, { loss: 'loss', wrt: ['x'], keepOutputs: ['zzz'] }), /keepOutputs: 'zzz'/);
});

test('a gradient name already taken in the graph is refused', () => {
  const b = new GraphBuilder('clash');
  const x = b.input('x', 'float32', [2]);
  b.input('x_grad', 'float32', [2]);
  b.output(b.op('ReduceSum', [x], { keepdims: 0 }), 'loss');
  assert.throws(() => buildGradientGraph(b.toModel(), { loss: 'loss', wrt: ['x'] }), /cannot name the gradient of 'x' 'x_grad'/);
});

test('a rule returning a wrongly shaped gradient is caught at the node', () => {
  const b = new GraphBuilder('shape');
  const x = b.input('x', 'float32', [2, 3]);
  b.output(b.op('ReduceSum', [b.op('Exp', [x], {}, { name: 'exp node' })], { keepdims: 0 }), 'loss');
  const broken = { opType: 'Exp', rule: () => ['x'] as (string | undefined)[] };
  // returning the input itself is fine shape-wise; a transposed one is not
  const transposed = { opType: 'Exp', rule: (ctx: import('../../../src/engine/autodiff/types').GradContext) => [ctx.b.op('Transpose', [ctx.gradOutput(0)!])] };
  assert.doesNotThrow(() => buildGradientGraph(b.toModel(), { loss: 'loss', wrt: ['x'], rules: [broken] }));
  assert.throws(
    () => buildGradientGraph(b.toModel(), { loss: 'loss', wrt: ['x'], rules: [transposed] }),
    /the Exp rule gave a float32\[3,2\] gradient for input 0 'x' of float32\[2,3\] \(node 'exp node'\)/,
  );
});

test('names with spaces and non-ASCII characters survive the walk and onnxruntime', async () => {
  const b = new GraphBuilder('names');
  const x = b.input('größe x', 'float32', [3]);
  const w = b.param('poids é', [3], [1, -2, 0.5]);
  b.output(b.op('ReduceSum', [b.op('Mul', [x, w])], { keepdims: 0 }), 'perte totale');
  const { model, gradNames } = buildGradientGraph(b.toModel(), { loss: 'perte totale', wrt: [x, w] });
  assert.equal(gradNames[x], 'größe x_grad');
  const out = await run(model, { [x]: f32([3], [4, 5, 6]) });
  assert.deepEqual(out['größe x_grad'], [1, -2, 0.5]);
  assert.deepEqual(out[gradNames[w]!], [4, 5, 6]);
});

test('a small classifier (Gemm, Tanh, MatMul, LogSoftmax, cross-entropy) differentiates w.r.t. all its parameters', async () => {
  const report = await gradCheck({
    build: (b, v) => {
      const hidden = b.op('Tanh', [b.op('Gemm', [v.x!, v.w1!, v.b1!], { transB: 1 })]);
      const logits = b.op('Add', [b.op('MatMul', [hidden, v.w2!]), v.b2!]);
      const logProbs = b.op('LogSoftmax', [logits], { axis: -1 });
      const picked = b.op('ReduceSum', [b.op('Mul', [logProbs, v.onehot!]), b.ints([1])], { keepdims: 0 });
      return b.op('Neg', [b.op('ReduceMean', [picked], { keepdims: 0 })]);
    },
    inputs: {
      x: { shape: [4, 3], wrt: false },
      onehot: { shape: [4, 3], values: [1, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0, 1], wrt: false },
      w1: { shape: [5, 3], wrt: true, initializer: true },
      b1: { shape: [5], wrt: true, initializer: true },
      w2: { shape: [5, 3], wrt: true, initializer: true },
      b2: { shape: [3], wrt: true },
    },
    seed: 11,
  });
  assert.equal(report.checks.length, 12);
  // one ordinary graph: default-domain ops only, and no ScatterND (DirectML ignores its reduction)
  assert.ok(report.model.graph.nodes.every((n) => n.domain === '' && n.opType !== 'ScatterND'));
});
