// Gradient checks and adjoint tests for the pooling rules.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { adjointCheck, gradCheck } from '../../helpers/gradcheck';
import type { AttrInput } from '../../../src/engine/onnx/builder';
import type { Rng } from '../../../src/shared/random';

interface PoolCase {
  name: string;
  x: number[];
  attrs: Record<string, AttrInput>;
  opset?: number;
}

const averageCases: PoolCase[] = [
  { name: '2x2 stride 2', x: [2, 3, 4, 4], attrs: { kernel_shape: [2, 2], strides: [2, 2] } },
  { name: '3x3 stride 1 pads 1, count_include_pad 0', x: [1, 2, 5, 4], attrs: { kernel_shape: [3, 3], pads: [1, 1, 1, 1] } },
  { name: '3x3 stride 1 pads 1, count_include_pad 1', x: [1, 2, 5, 4], attrs: { kernel_shape: [3, 3], pads: [1, 1, 1, 1], count_include_pad: 1 } },
  { name: 'stride 3, asymmetric pads, odd size', x: [1, 2, 8, 7], attrs: { kernel_shape: [3, 2], strides: [3, 2], pads: [2, 0, 0, 1] } },
  { name: 'ceil_mode, count_include_pad 0', x: [1, 1, 7, 6], attrs: { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], ceil_mode: 1 } },
  { name: 'ceil_mode, count_include_pad 1', x: [1, 1, 6, 7], attrs: { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], ceil_mode: 1, count_include_pad: 1 } },
  { name: 'ceil_mode without pads (window past the end)', x: [1, 2, 5, 5], attrs: { kernel_shape: [2, 2], strides: [2, 2], ceil_mode: 1 } },
  { name: 'auto_pad SAME_UPPER stride 2', x: [1, 2, 5, 6], attrs: { kernel_shape: [3, 3], strides: [2, 2], auto_pad: 'SAME_UPPER' } },
  { name: 'dilation 2 (opset 19)', x: [1, 2, 7, 6], attrs: { kernel_shape: [2, 3], dilations: [2, 2], pads: [1, 1, 1, 1], count_include_pad: 1 }, opset: 19 },
  { name: '1-D stride 2 pads', x: [2, 2, 9], attrs: { kernel_shape: [3], strides: [2], pads: [1, 1] } },
  { name: '3-D 2x2x2, strides (2, 2, 1)', x: [1, 2, 4, 5, 3], attrs: { kernel_shape: [2, 2, 2], strides: [2, 2, 1] } },
];

const maxCases: PoolCase[] = [
  { name: '2x2 stride 2', x: [2, 3, 4, 4], attrs: { kernel_shape: [2, 2], strides: [2, 2] } },
  { name: '3x3 stride 1 pads 1 (overlapping windows)', x: [1, 2, 5, 4], attrs: { kernel_shape: [3, 3], pads: [1, 1, 1, 1] } },
  { name: 'stride 3, asymmetric pads, odd size', x: [1, 2, 8, 7], attrs: { kernel_shape: [3, 2], strides: [3, 2], pads: [2, 0, 0, 1] } },
  { name: 'ceil_mode', x: [1, 1, 7, 6], attrs: { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], ceil_mode: 1 } },
  { name: 'dilation 2', x: [1, 2, 7, 7], attrs: { kernel_shape: [2, 2], dilations: [2, 2], strides: [1, 2] } },
  { name: 'auto_pad SAME_LOWER', x: [1, 1, 5, 6], attrs: { kernel_shape: [2, 3], strides: [2, 2], auto_pad: 'SAME_LOWER' } },
  { name: '1-D stride 2', x: [2, 2, 9], attrs: { kernel_shape: [3], strides: [2], pads: [1, 1] } },
  { name: '3-D with pads', x: [1, 1, 4, 3, 5], attrs: { kernel_shape: [2, 2, 3], strides: [2, 1, 2], pads: [1, 0, 1, 0, 1, 1] } },
];

/**
 * Distinct values far apart (a shuffled ramp with step 0.1), so that the finite-difference step
 * (at most 0.01 per element along a unit direction) never changes which element is a maximum.
 */
function spreadValues(rng: Rng, count: number): Float32Array {
  const order = rng.shuffle(Array.from({ length: count }, (_, i) => i));
  return Float32Array.from(order, (k) => (k - count / 2) * 0.1);
}

for (const c of averageCases) {
  test(`AveragePool gradient: ${c.name}`, async () => {
    await gradCheck({
      inputs: { x: { shape: c.x, wrt: true } },
      build: (b, i) => b.op('AveragePool', [i.x!], c.attrs),
      opset: c.opset,
      directions: 2,
    });
  });
  test(`AveragePool adjoint: ${c.name}`, async () => {
    await adjointCheck({
      inputs: { x: { shape: c.x, wrt: true } },
      build: (b, i) => b.op('AveragePool', [i.x!], c.attrs),
      opset: c.opset,
    });
  });
}

for (const c of maxCases) {
  test(`MaxPool gradient: ${c.name}`, async () => {
    await gradCheck({
      inputs: { x: { shape: c.x, wrt: true, generator: spreadValues } },
      build: (b, i) => b.op('MaxPool', [i.x!], c.attrs),
      directions: 2,
    });
  });
}

test('MaxPool splits the gradient equally among tied maxima', async () => {
  // one 1x4 window [3, 3, 1, 3]: three tied maxima each get a third of dY
  const report = await gradCheck({
    inputs: { x: { shape: [1, 1, 1, 4], wrt: true, values: [3, 1, 3, 3] } },
    build: (b, i) => b.op('MaxPool', [i.x!], { kernel_shape: [1, 4] }),
    directions: 0,
  });
  const { createSession } = await import('../../../src/engine/runtime');
  const { encodeModel } = await import('../../../src/engine/onnx/serialize');
  const s = await createSession(encodeModel(report.model));
  const out = await s.run({ x: { dtype: 'float32', dims: [1, 1, 1, 4], data: new Float32Array([3, 1, 3, 3]) } });
  await s.release();
  const grad = Array.from(out['x_grad']!.data as Float32Array);
  const loss = (out[report.model.graph.outputs[0]!.name]!.data as Float32Array)[0]!;
  // loss = 3 * r, so r = loss / 3, and every tied maximum receives r / 3
  for (const [i, g] of grad.entries()) assert.ok(Math.abs(g - (i === 1 ? 0 : loss / 9)) < 1e-6, `x_grad[${i}] = ${g}`);
});

test('MaxPool routes the gradient to the maximum even where padding would be 0 >= every value', async () => {
  // all values negative: a zero-padding comparison would tie or win; -inf padding must not
  await gradCheck({
    inputs: { x: { shape: [1, 1, 4, 4], wrt: true, generator: (rng, n) => spreadValues(rng, n).map((v) => v - 10) } },
    build: (b, i) => b.op('MaxPool', [i.x!], { kernel_shape: [3, 3], pads: [1, 1, 1, 1], strides: [2, 2] }),
  });
});

test('GlobalAveragePool gradient and adjoint', async () => {
  const c = { inputs: { x: { shape: [2, 3, 4, 5], wrt: true } }, build: (b: import('../../../src/engine/onnx/builder').GraphBuilder, i: Record<string, string>) => b.op('GlobalAveragePool', [i.x!]) };
  await gradCheck({ ...c });
  await adjointCheck({ ...c });
});

test('GlobalMaxPool gradient', async () => {
  await gradCheck({
    inputs: { x: { shape: [2, 3, 3, 4], wrt: true, generator: spreadValues } },
    build: (b, i) => b.op('GlobalMaxPool', [i.x!]),
  });
});
