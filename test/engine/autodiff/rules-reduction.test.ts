import { test } from 'node:test';
import assert from 'node:assert/strict';
import { adjointCheck, gradCheck } from '../../helpers/gradcheck';
import type { GraphBuilder } from '../../../src/engine/onnx/builder';
import { encodeModel } from '../../../src/engine/onnx/serialize';
import { createSession } from '../../../src/engine/runtime';

type Build = (b: GraphBuilder, x: Record<string, string>) => string;

async function linear(shape: number[], build: Build, opset = 17): Promise<void> {
  const report = await adjointCheck({ build, inputs: { x: { shape, wrt: true } }, opset });
  assert.ok(report.worst < 1e-5, `adjoint error ${report.worst}`);
}

test('ReduceSum: axes input with keepdims 0/1 and negative axes, all axes, noop_with_empty_axes, attribute form (11)', async () => {
  await linear([2, 3, 4], (b, x) => b.op('ReduceSum', [x.x!, b.ints([-1, 0])], { keepdims: 0 }));
  await linear([2, 3, 4], (b, x) => b.op('ReduceSum', [x.x!, b.ints([1])], { keepdims: 1 }));
  await linear([2, 3], (b, x) => b.op('ReduceSum', [x.x!], { keepdims: 0 }));
  await linear([2, 3], (b, x) => b.op('ReduceSum', [x.x!], { noop_with_empty_axes: 1 }));
  await linear([2, 3, 4], (b, x) => b.op('ReduceSum', [x.x!], { axes: [2, 0], keepdims: 0 }), 11);
});

test('ReduceMean: attribute form (17) and axes input (18), keepdims 0/1', async () => {
  await linear([2, 3, 4], (b, x) => b.op('ReduceMean', [x.x!], { axes: [-2], keepdims: 0 }));
  await linear([2, 3, 4], (b, x) => b.op('ReduceMean', [x.x!], { axes: [0, 2] }));
  await linear([2, 3, 4], (b, x) => b.op('ReduceMean', [x.x!, b.ints([1, 2])], { keepdims: 0 }), 18);
  await linear([3, 2], (b, x) => b.op('ReduceMean', [x.x!], { keepdims: 0 }), 18);
});

test('ReduceMax and ReduceMin route the gradient to the extreme element', async () => {
  // distinct values, far apart compared with the finite-difference step
  const values = [0.3, -1.2, 2.5, 1.1, -0.4, 0.9, 1.7, -2.2, 0.0, 2.0, -0.9, 0.6];
  await gradCheck({ build: (b, x) => b.op('ReduceMax', [x.x!], { axes: [1], keepdims: 0 }), inputs: { x: { shape: [3, 4], values, wrt: true } } });
  await gradCheck({ build: (b, x) => b.op('ReduceMin', [x.x!], { axes: [0] }), inputs: { x: { shape: [3, 4], values, wrt: true } } });
  await gradCheck({ build: (b, x) => b.op('ReduceMax', [x.x!, b.ints([-1])]), inputs: { x: { shape: [2, 6], values, wrt: true } }, opset: 18 });
});

test('ReduceMax splits the gradient evenly between tied maxima', async () => {
  // y = max(x) with x = [1, 3, 3]: any split that adds to 1 is a subgradient; ours is [0, 0.5, 0.5]
  const { model } = await adjointCheck({ build: (b, x) => b.op('ReduceMax', [x.x!], { keepdims: 0 }), inputs: { x: { shape: [3], values: [1, 3, 3], wrt: true } }, trials: 1 });
  const s = await createSession(encodeModel(model));
  const out = await s.run({ x: { dtype: 'float32', dims: [3], data: new Float32Array([1, 3, 3]) } });
  const loss = (out[model.graph.outputs[0]!.name]!.data as Float32Array)[0]!;
  const r = loss / 3; // L = r * max(x) = 3 r
  assert.deepEqual(Array.from(out['x_grad']!.data as Float32Array).map((v) => +(v / r).toFixed(6)), [0, 0.5, 0.5]);
  await s.release();
});

test('Softmax (opset 13 semantics) over the last, a middle and a negative axis', async () => {
  await gradCheck({ build: (b, x) => b.op('Softmax', [x.x!]), inputs: { x: { shape: [2, 5], wrt: true } } });
  await gradCheck({ build: (b, x) => b.op('Softmax', [x.x!], { axis: 1 }), inputs: { x: { shape: [2, 3, 4], wrt: true } } });
  await gradCheck({ build: (b, x) => b.op('Softmax', [x.x!], { axis: -3 }), inputs: { x: { shape: [2, 3, 4], wrt: true } } });
});

test('Softmax and LogSoftmax before opset 13 normalise over all axes from `axis` on', async () => {
  await gradCheck({ build: (b, x) => b.op('Softmax', [x.x!]), inputs: { x: { shape: [2, 3, 2], wrt: true } }, opset: 11 });
  await gradCheck({ build: (b, x) => b.op('LogSoftmax', [x.x!], { axis: 1 }), inputs: { x: { shape: [2, 3, 2], wrt: true } }, opset: 11 });
});

test('LogSoftmax over the last and the first axis', async () => {
  await gradCheck({ build: (b, x) => b.op('LogSoftmax', [x.x!]), inputs: { x: { shape: [3, 4], wrt: true } } });
  await gradCheck({ build: (b, x) => b.op('LogSoftmax', [x.x!], { axis: 0 }), inputs: { x: { shape: [3, 4], wrt: true } } });
});
