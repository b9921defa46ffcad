// Every shape function is checked against the shapes onnxruntime actually produces: each graph
// below exposes every value as an output, runs once, and compares dims and dtypes with inference.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GraphBuilder } from '../../../src/engine/onnx/builder';
import { allocateData, numElements, type Model } from '../../../src/engine/onnx/ir';
import { inferShapes } from '../../../src/engine/onnx/shape-inference';
import { encodeModel } from '../../../src/engine/onnx/serialize';
import { createSession, type HostTensor } from '../../../src/engine/runtime';
import { Rng } from '../../../src/shared/random';

/** Runs the model with every node output exposed and compares each with the inferred type. */
async function compareWithOrt(model: Model, minFolded = 0): Promise<number> {
  let foldedCount = 0;
  const info = inferShapes(model);
  const names = model.graph.nodes.flatMap((n) => n.outputs).filter((o) => o !== '');
  model.graph.outputs = names.map((name) => ({ name, ...info.type(name) }));
  const rng = new Rng(5);
  const feeds: Record<string, HostTensor> = {};
  for (const v of model.graph.inputs) {
    const dims = v.shape as number[];
    const data = allocateData(v.dtype, numElements(dims));
    if (data instanceof Float32Array) data.set(rng.normals(data.length));
    feeds[v.name] = { dtype: v.dtype, dims, data };
  }
  const session = await createSession(encodeModel(model));
  const out = await session.run(feeds);
  await session.release();
  for (const name of names) {
    const node = model.graph.nodes.find((n) => n.outputs.includes(name))!;
    const inferred = info.type(name);
    assert.deepEqual(out[name]!.dims, inferred.shape, `${node.opType} '${node.name}' output '${name}': onnxruntime dims [${out[name]!.dims}] vs inferred [${inferred.shape}]`);
    assert.equal(out[name]!.dtype, inferred.dtype, `${node.opType} '${node.name}' output '${name}' dtype`);
    // folded constants must hold what onnxruntime computes
    const folded = info.constant(name);
    if (folded) {
      const actual = Array.from(out[name]!.data as ArrayLike<number | bigint>, Number);
      assert.deepEqual(folded, actual, `${node.opType} '${node.name}' folded to [${folded}] but onnxruntime computes [${actual}]`);
      foldedCount++;
    }
  }
  if (minFolded) assert.ok(foldedCount >= minFolded, `only ${foldedCount} values were folded`);
  return names.length;
}

test('elementwise shapes: broadcasting, unary ops, comparisons, Where, Cast, variadic ops (opset 17)', async () => {
  const b = new GraphBuilder('elementwise');
  const a = b.input('a', 'float32', [2, 1, 4]);
  const c = b.input('c', 'float32', [3, 1]);
  const s = b.input('s', 'float32', []);
  for (const op of ['Add', 'Sub', 'Mul', 'Div', 'Pow']) b.op(op, [a, c]);
  b.op('Add', [s, a]);
  for (const op of ['Neg', 'Sqrt', 'Exp', 'Log', 'Erf', 'Tanh', 'Sigmoid', 'Relu', 'Cos', 'Sin', 'Abs', 'Identity', 'Reciprocal', 'Softplus', 'Sign', 'Floor']) b.op(op, [a]);
  b.op('LeakyRelu', [a], { alpha: 0.1 });
  b.op('HardSigmoid', [c]);
  b.op('Clip', [a, b.scalar(-0.5), b.scalar(0.5)]);
  b.op('Clip', [a]);
  const lt = b.op('Less', [a, c]);
  for (const op of ['Equal', 'Greater', 'LessOrEqual', 'GreaterOrEqual']) b.op(op, [c, a]);
  const not = b.op('Not', [lt]);
  b.op('And', [lt, not]);
  b.op('Or', [lt, b.op('Greater', [s, b.scalar(0)])]);
  b.op('Where', [lt, s, c]);
  b.op('Cast', [a], { to: 7 });
  b.op('Cast', [c], { to: 11 });
  b.op('Cast', [a], { to: 9 });
  b.op('Sum', [a, c, s]);
  b.op('Max', [a, c]);
  b.op('Min', [s, c, a]);
  b.op('Mean', [a, c]);
  b.op('Mod', [a, c], { fmod: 1 });
  b.op('Xor', [lt, not]);
  for (const op of ['IsNaN', 'IsInf', 'Softsign', 'Elu', 'Selu', 'Tan', 'Atan', 'Sinh', 'Cosh', 'Ceil', 'Round']) b.op(op, [a]);
  for (const op of ['Asin', 'Acos']) b.op(op, [b.op('Sigmoid', [c])]);
  b.op('CastLike', [a, b.constant([1], [1], 'float64')]);
  b.op('EyeLike', [c], { dtype: 7 });
  assert.ok((await compareWithOrt(b.toModel())) > 40);
});

test('tensor shapes with folded shape arithmetic (opset 17)', async () => {
  const b = new GraphBuilder('tensor');
  const x = b.input('x', 'float32', [2, 3, 4]);
  const idx = b.input('idx', 'int64', [2, 2]);
  // target shape [2, 12] computed from Shape(x): Concat(Gather(shape, 0), [-1])
  const shape = b.op('Shape', [x]);
  const batch = b.op('Unsqueeze', [b.op('Gather', [shape, b.constant([0], [], 'int64')]), b.ints([0])]);
  b.op('Reshape', [x, b.op('Concat', [batch, b.ints([-1])], { axis: 0 })]);
  b.op('Shape', [x], { start: 1, end: -1 });
  b.op('Size', [x]);
  b.op('ConstantOfShape', [b.op('Slice', [shape, b.ints([1]), b.ints([3])])], { value: { type: 'tensor', value: { name: 'v', dtype: 'int64', dims: [1], data: new BigInt64Array([7n]) } } });
  b.op('Constant', [], { value: { type: 'tensor', value: { name: 'k', dtype: 'float32', dims: [2, 2], data: new Float32Array(4) } } });
  b.op('Constant', [], { value_ints: [1, 2, 3] });
  b.op('Constant', [], { value_float: 2.5 });
  b.op('Range', [b.scalar(0), b.scalar(2.5), b.scalar(0.5)]);
  b.op('Range', [b.constant([10], [], 'int64'), b.constant([1], [], 'int64'), b.constant([-3], [], 'int64')]);
  b.op('Transpose', [x], { perm: [1, 2, 0] });
  b.op('Transpose', [x]);
  b.op('Flatten', [x]);
  b.op('Flatten', [x], { axis: -1 });
  b.op('Flatten', [x], { axis: 0 });
  const u = b.op('Unsqueeze', [x, b.ints([0, -1])]);
  b.op('Squeeze', [u]);
  b.op('Squeeze', [u, b.ints([-1])]);
  b.op('Concat', [x, x, b.op('Slice', [x, b.ints([1]), b.ints([2]), b.ints([1])])], { axis: -2 });
  b.opN('Split', [x, b.ints([1, 3])], { axis: 2 }, { outputs: 2 });
  b.opN('Split', [x], { axis: 1 }, { outputs: 3 });
  b.op('Slice', [x, b.ints([-1, 0]), b.ints([-100, 4]), b.ints([2, 0]), b.ints([-2, 1])]);
  b.op('Slice', [x, b.ints([0]), b.ints([1000]), b.ints([1]), b.ints([2])]);
  b.op('Pad', [x, b.ints([0, 1, -1, 1, 0, 2])]);
  b.op('Expand', [b.op('Slice', [x, b.ints([0]), b.ints([1]), b.ints([1])]), b.ints([3, 1, 1, 1])]);
  b.op('Tile', [x, b.ints([1, 2, 3])]);
  b.op('Gather', [x, idx], { axis: 1 });
  b.op('Gather', [x, b.constant([-1], [], 'int64')], { axis: -1 });
  assert.ok((await compareWithOrt(b.toModel(), 10)) > 30);
});

test('SpaceToDepth: [N, C*b*b, H/b, W/b], as ORT computes it; a blocksize that does not divide fails naming the node', async () => {
  const b = new GraphBuilder('space_to_depth');
  const x = b.input('x', 'float32', [2, 3, 4, 6]);
  b.op('SpaceToDepth', [x], { blocksize: 2 });
  b.op('SpaceToDepth', [b.op('Reshape', [x, b.ints([6, 1, 4, 6])])], { blocksize: 2 });
  assert.ok((await compareWithOrt(b.toModel())) >= 3);
  const bad = new GraphBuilder('space_to_depth_bad');
  bad.op('SpaceToDepth', [bad.input('x', 'float32', [1, 1, 4, 6])], { blocksize: 4 }, { name: 'phases' });
  assert.throws(() => inferShapes(bad.toModel()), /SpaceToDepth node 'phases'.*blocksize 4 does not divide 4x6/);
});

test('reduction, softmax, argmax and linear-algebra shapes (opset 17)', async () => {
  const b = new GraphBuilder('reduce');
  const x = b.input('x', 'float32', [2, 3, 4]);
  const m = b.input('m', 'float32', [4, 5]);
  const v = b.input('v', 'float32', [4]);
  b.op('ReduceSum', [x, b.ints([1, -1])], { keepdims: 0 });
  b.op('ReduceSum', [x]);
  b.op('ReduceSum', [x], { keepdims: 0 });
  b.op('ReduceSum', [x, b.ints([])], { noop_with_empty_axes: 1 });
  b.op('ReduceMean', [x], { axes: [0] });
  b.op('ReduceMax', [x], { axes: [-1], keepdims: 0 });
  b.op('ReduceMin', [x]);
  b.op('ReduceProd', [x], { axes: [1] });
  for (const op of ['ReduceL1', 'ReduceL2', 'ReduceLogSumExp', 'ReduceSumSquare']) b.op(op, [x], { axes: [2], keepdims: 0 });
  b.op('Softmax', [x]);
  b.op('LogSoftmax', [x], { axis: 0 });
  b.op('ArgMax', [x], { axis: 1, keepdims: 0 });
  b.op('ArgMin', [x], { axis: -1 });
  b.op('MatMul', [x, m]);
  b.op('MatMul', [x, v]);
  b.op('MatMul', [v, m]);
  b.op('MatMul', [v, v]);
  b.op('MatMul', [b.op('Unsqueeze', [x, b.ints([0])]), b.op('Unsqueeze', [m, b.ints([0, 1])])]);
  b.op('Gemm', [m, m], { transA: 1 });
  b.op('Gemm', [m, m, v], { transB: 1 });
  b.op('Gemm', [m, b.op('Transpose', [m]), b.scalar(1)]);
  assert.ok((await compareWithOrt(b.toModel())) > 20);
});

test('opset 18 forms: Split num_outputs (uneven), ReduceMean/ReduceMax axes inputs, Pad axes', async () => {
  const b = new GraphBuilder('opset18', { opset: 18 });
  const x = b.input('x', 'float32', [2, 7]);
  b.opN('Split', [x], { axis: 1, num_outputs: 3 }, { outputs: 3 });
  b.op('ReduceMean', [x, b.ints([1])], { keepdims: 0 });
  b.op('ReduceMax', [x, b.ints([0])]);
  b.op('ReduceMean', [x]);
  b.op('Pad', [x, b.ints([1, 2]), '', b.ints([-1])]);
  await compareWithOrt(b.toModel());
});

test('opset 11 forms: axes and split attributes, Softmax coercion axis', async () => {
  const b = new GraphBuilder('opset11', { opset: 11 });
  const x = b.input('x', 'float32', [2, 1, 6]);
  b.op('Squeeze', [x], { axes: [1] });
  b.op('Unsqueeze', [x], { axes: [0, 4] });
  b.op('ReduceSum', [x], { axes: [2], keepdims: 0 });
  b.opN('Split', [x], { axis: 2, split: [2, 4] }, { outputs: 2 });
  b.op('Softmax', [x]);
  b.op('Clip', [x, b.scalar(0), b.scalar(1)]);
  await compareWithOrt(b.toModel());
});

test('constants are folded through shape arithmetic', () => {
  const b = new GraphBuilder('fold');
  const x = b.input('x', 'float32', [2, 3, 4]);
  const shape = b.op('Shape', [x]);
  const last = b.op('Gather', [shape, b.ints([-1])]);
  const half = b.op('Div', [last, b.constant([2], [], 'int64')]);
  const target = b.op('Concat', [b.op('Slice', [shape, b.ints([0]), b.ints([1])]), half, b.ints([-1])], { axis: 0 });
  const truncated = b.op('Div', [b.constant([7, -7], [2], 'int64'), b.constant([2], [], 'int64')]);
  const r = b.op('Reshape', [x, target]);
  const mask = b.op('Where', [b.op('Less', [shape, b.constant([3], [], 'int64')]), shape, b.constant([0], [], 'int64')]);
  const info = inferShapes(b.toModel());
  assert.deepEqual(info.constant(shape), [2, 3, 4]);
  assert.deepEqual(info.constant(target), [2, 2, -1]);
  assert.deepEqual(info.type(r).shape, [2, 2, 6]);
  assert.deepEqual(info.constant(truncated), [3, -3]); // integer division truncates toward zero
  assert.deepEqual(info.constant(mask), [2, 0, 0]);
  assert.equal(info.constant(x), undefined);
});

test('valueInfo is filled for every intermediate and outputs get their types', () => {
  const b = new GraphBuilder('info');
  const x = b.input('x', 'float32', [2, 3]);
  const t = b.op('Transpose', [x]);
  const y = b.op('ArgMax', [t], { axis: 0 });
  b.output(y, 'y');
  const model = b.toModel();
  inferShapes(model);
  assert.deepEqual(model.graph.valueInfo.get(t), { name: t, dtype: 'float32', shape: [3, 2] });
  assert.deepEqual(model.graph.valueInfo.get(y), { name: y, dtype: 'int64', shape: [1, 2] });
  assert.deepEqual(model.graph.outputs[0], { name: 'y', dtype: 'int64', shape: [1, 2] });
});

test('an initializer overridden by a graph input is not a constant', () => {
  const b = new GraphBuilder('override');
  const x = b.input('x', 'float32', [4]);
  b.input('shape', 'int64', [2]);
  b.initializer({ name: 'shape', dtype: 'int64', dims: [2], data: new BigInt64Array([2n, 2n]) });
  b.op('Reshape', [x, 'shape'], {}, { name: 'reshape it' });
  assert.throws(() => inferShapes(b.toModel()), /Reshape node 'reshape it': shape \(input 1, 'shape'\) must be a constant/);
});

test('clear errors: missing shape function, symbolic input dims, bad broadcast, bad reshape, bad axis', () => {
  const custom = new GraphBuilder('custom');
  custom.op('Foo', [custom.input('x', 'float32', [2])], {}, { name: 'foo 1', domain: 'com.example' });
  assert.throws(() => inferShapes(custom.toModel()), /no shape function for op 'com.example::Foo' \(node 'foo 1'\)/);
  const plain = new GraphBuilder('plain');
  plain.op('NotAnOp', [plain.input('x', 'float32', [2])], {}, { name: 'n' });
  assert.throws(() => inferShapes(plain.toModel()), /no shape function for op 'NotAnOp' \(node 'n'\)/);

  const symbolic = new GraphBuilder('symbolic');
  symbolic.input('x', 'float32', ['batch', 3]);
  assert.throws(() => inferShapes(symbolic.toModel()), /input 'x' has symbolic dim 'batch'/);

  const bad = (build: (b: GraphBuilder, x: string) => void, pattern: RegExp): void => {
    const b = new GraphBuilder('bad');
    build(b, b.input('x', 'float32', [2, 3]));
    assert.throws(() => inferShapes(b.toModel()), pattern);
  };
  bad((b, x) => b.op('Add', [x, b.input('y', 'float32', [4])], {}, { name: 'add' }), /Add node 'add': cannot broadcast shapes \[2,3\] and \[4\]/);
  bad((b, x) => b.op('Reshape', [x, b.ints([4, -1])], {}, { name: 'rs' }), /Reshape node 'rs': cannot reshape \[2,3\] to \[4,-1\]/);
  bad((b, x) => b.op('Softmax', [x], { axis: 2 }, { name: 'sm' }), /Softmax node 'sm': axis 2 is out of range for rank 2/);
  bad((b, x) => b.op('MatMul', [x, x], {}, { name: 'mm' }), /MatMul node 'mm': inner dims differ/);
  bad((b, x) => b.op('Exp', [x, 'ghost'], {}, { name: 'e' }), /Exp node 'e': input 1 'ghost' has no known type/);
});
