// The nn shape functions against the runtime: every case builds a one-node model, infers its
// output shapes statically and runs it in onnxruntime; the two must agree exactly.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GraphBuilder, type AttrInput } from '../../../src/engine/onnx/builder';
import { numElements } from '../../../src/engine/onnx/ir';
import { inferShapes } from '../../../src/engine/onnx/shape-inference';
import { encodeModel } from '../../../src/engine/onnx/serialize';
import { createSession } from '../../../src/engine/runtime';
import { isUserError } from '../../../src/shared/errors';

interface ShapeCase {
  name: string;
  op: string;
  x: number[];
  /** extra inputs after X: a shape (float32 ones... ramp) or a literal constant */
  extra?: ({ shape: number[] } | { floats: number[] } | { int64: number[] } | '')[];
  attrs?: Record<string, AttrInput>;
  outputs?: number;
  opset?: number;
}

const cases: ShapeCase[] = [
  { name: 'Conv stride 2 odd size', op: 'Conv', x: [1, 2, 7, 6], extra: [{ shape: [3, 2, 3, 3] }], attrs: { strides: [2, 2], pads: [1, 1, 1, 1] } },
  { name: 'Conv stride 3 asymmetric pads', op: 'Conv', x: [1, 2, 8, 7], extra: [{ shape: [2, 2, 3, 2] }], attrs: { strides: [3, 2], pads: [2, 0, 0, 1] } },
  { name: 'Conv dilation 2 groups 2', op: 'Conv', x: [1, 4, 9, 8], extra: [{ shape: [2, 2, 3, 3] }], attrs: { dilations: [2, 2], group: 2 } },
  { name: 'Conv SAME_UPPER stride 2', op: 'Conv', x: [1, 2, 5, 6], extra: [{ shape: [2, 2, 3, 3] }], attrs: { auto_pad: 'SAME_UPPER', strides: [2, 2] } },
  { name: 'Conv SAME_LOWER stride 3', op: 'Conv', x: [1, 2, 7, 5], extra: [{ shape: [2, 2, 4, 2] }], attrs: { auto_pad: 'SAME_LOWER', strides: [3, 3] } },
  { name: 'Conv VALID', op: 'Conv', x: [1, 2, 7, 5], extra: [{ shape: [2, 2, 4, 2] }], attrs: { auto_pad: 'VALID', strides: [2, 2] } },
  { name: 'Conv 1-D with bias', op: 'Conv', x: [2, 2, 11], extra: [{ shape: [3, 2, 3] }, { shape: [3] }], attrs: { strides: [2], pads: [1, 2], dilations: [2] } },
  { name: 'ConvTranspose stride 2 output_padding', op: 'ConvTranspose', x: [1, 3, 4, 3], extra: [{ shape: [3, 2, 3, 3] }], attrs: { strides: [2, 2], pads: [1, 1, 1, 1], output_padding: [1, 1] } },
  { name: 'ConvTranspose dilation 2 groups 2', op: 'ConvTranspose', x: [1, 4, 4, 4], extra: [{ shape: [4, 1, 3, 2] }], attrs: { dilations: [2, 2], group: 2, pads: [1, 0, 0, 1] } },
  { name: 'ConvTranspose output_shape', op: 'ConvTranspose', x: [1, 2, 3, 3], extra: [{ shape: [2, 2, 3, 3] }], attrs: { strides: [2, 2], output_shape: [6, 5] } },
  { name: 'ConvTranspose SAME_UPPER', op: 'ConvTranspose', x: [1, 2, 3, 4], extra: [{ shape: [2, 2, 3, 3] }], attrs: { strides: [2, 2], auto_pad: 'SAME_UPPER' } },
  { name: 'ConvTranspose VALID', op: 'ConvTranspose', x: [1, 2, 3, 4], extra: [{ shape: [2, 2, 3, 3] }], attrs: { strides: [3, 2], auto_pad: 'VALID' } },
  { name: 'MaxPool ceil_mode drops a window starting in the padding', op: 'MaxPool', x: [1, 1, 5, 6], attrs: { kernel_shape: [2, 2], strides: [2, 2], pads: [1, 1, 1, 1], ceil_mode: 1 } },
  { name: 'MaxPool ceil_mode keeps a partial window', op: 'MaxPool', x: [1, 1, 5, 7], attrs: { kernel_shape: [2, 3], strides: [2, 2], ceil_mode: 1 } },
  { name: 'MaxPool with Indices', op: 'MaxPool', x: [2, 3, 5, 5], attrs: { kernel_shape: [3, 3], strides: [2, 2] }, outputs: 2 },
  { name: 'MaxPool dilation 2 SAME_LOWER', op: 'MaxPool', x: [1, 1, 7, 6], attrs: { kernel_shape: [2, 2], strides: [2, 1], auto_pad: 'SAME_LOWER' } },
  { name: 'AveragePool floor mode, stride 3', op: 'AveragePool', x: [1, 2, 8, 7], attrs: { kernel_shape: [3, 2], strides: [3, 2], pads: [2, 0, 0, 1] } },
  { name: 'AveragePool ceil_mode with pads', op: 'AveragePool', x: [1, 1, 6, 7], attrs: { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], ceil_mode: 1, count_include_pad: 1 } },
  { name: 'AveragePool dilation (opset 19)', op: 'AveragePool', x: [1, 1, 9, 7], attrs: { kernel_shape: [3, 2], dilations: [2, 3], strides: [2, 1] }, opset: 19 },
  { name: 'GlobalAveragePool', op: 'GlobalAveragePool', x: [2, 3, 4, 5] },
  { name: 'GlobalMaxPool 1-D', op: 'GlobalMaxPool', x: [2, 3, 7] },
  { name: 'InstanceNormalization', op: 'InstanceNormalization', x: [2, 3, 4, 5], extra: [{ shape: [3] }, { shape: [3] }] },
  { name: 'LayerNormalization three outputs, axis 1', op: 'LayerNormalization', x: [2, 3, 4], extra: [{ shape: [3, 4] }, { shape: [3, 4] }], attrs: { axis: 1 }, outputs: 3 },
  { name: 'GroupNormalization opset 18', op: 'GroupNormalization', x: [2, 6, 3], extra: [{ shape: [3] }, { shape: [3] }], attrs: { num_groups: 3 }, opset: 18 },
  { name: 'GroupNormalization opset 21', op: 'GroupNormalization', x: [2, 6, 3], extra: [{ shape: [6] }, { shape: [6] }], attrs: { num_groups: 3 }, opset: 21 },
  { name: 'BatchNormalization', op: 'BatchNormalization', x: [2, 3, 4], extra: [{ shape: [3] }, { shape: [3] }, { shape: [3] }, { floats: [1, 2, 3] }] },
  { name: 'Resize nearest x2', op: 'Resize', x: [1, 2, 3, 4], extra: ['', { floats: [1, 1, 2, 2] }], attrs: { mode: 'nearest' } },
  // float32 products at rounding boundaries: 5 * 1.4f, 3 * 1.7f, 7 * 0.3f, 10 * 0.7f
  { name: 'Resize non-integer scales at float boundaries', op: 'Resize', x: [1, 1, 5, 3], extra: ['', { floats: [1, 1, 1.4, 1.7] }], attrs: { mode: 'linear' } },
  { name: 'Resize downscale 0.3 / 0.7', op: 'Resize', x: [1, 1, 7, 10], extra: ['', { floats: [1, 1, 0.3, 0.7] }], attrs: { mode: 'nearest' } },
  { name: 'Resize sizes', op: 'Resize', x: [1, 2, 3, 4], extra: ['', '', { int64: [1, 2, 7, 5] }], attrs: { mode: 'linear' } },
  { name: 'Resize axes (opset 18)', op: 'Resize', x: [1, 2, 3, 4], extra: ['', { floats: [2.5, 1.5] }], attrs: { mode: 'nearest', axes: [2, -1] }, opset: 18 },
  { name: 'Upsample (opset 9)', op: 'Upsample', x: [1, 2, 3, 4], extra: [{ floats: [1, 1, 2, 1.5] }], opset: 9 },
];

for (const c of cases) {
  test(`shape of ${c.op} matches onnxruntime: ${c.name}`, async () => {
    const b = new GraphBuilder('shape', { opset: c.opset ?? 17 });
    const x = b.input('x', 'float32', c.x);
    const inputs = [x];
    for (const e of c.extra ?? []) {
      if (e === '') inputs.push('');
      else if ('shape' in e) inputs.push(b.constant(Float32Array.from({ length: numElements(e.shape) }, (_, i) => 1 + 0.1 * i), e.shape));
      else if ('floats' in e) inputs.push(b.constant(e.floats, [e.floats.length]));
      else inputs.push(b.ints(e.int64));
    }
    const outs = b.opN(c.op, inputs, c.attrs ?? {}, { outputs: c.outputs ?? 1 });
    outs.forEach((o, i) => b.output(o, `y${i}`));
    const model = b.toModel();
    const shapes = inferShapes(model);
    const session = await createSession(encodeModel(model));
    const result = await session.run({ x: { dtype: 'float32', dims: c.x, data: new Float32Array(numElements(c.x)).fill(0.5) } });
    await session.release();
    outs.forEach((o, i) => {
      const actual = result[`y${i}`]!;
      assert.deepEqual(shapes.type(o).shape, actual.dims, `output ${i} shape`);
      assert.equal(shapes.type(o).dtype, actual.dtype, `output ${i} dtype`);
    });
  });
}

function inferOne(op: string, x: number[], extra: number[][], attrs: Record<string, AttrInput>, name = 'bad_node'): void {
  const b = new GraphBuilder('bad');
  const inputs = [b.input('x', 'float32', x), ...extra.map((s) => b.constant(new Float32Array(numElements(s)), s))];
  b.output(b.op(op, inputs, attrs, { name }), 'y');
  inferShapes(b.toModel());
}

test('bad nn nodes fail with a UserError that names the node and the problem', () => {
  const expectError = (fn: () => void, pattern: RegExp): void =>
    assert.throws(fn, (e: unknown) => isUserError(e) && /bad_node/.test((e as Error).message) && pattern.test((e as Error).message));
  expectError(() => inferOne('Conv', [1, 3, 5, 5], [[2, 2, 3, 3]], {}), /3 channels/);
  expectError(() => inferOne('Conv', [1, 2, 5, 5], [[2, 2, 3, 3]], { strides: [2] }), /strides.*1 values, expected 2/);
  expectError(() => inferOne('Conv', [1, 2, 2, 2], [[2, 2, 3, 3]], {}), /larger than the padded input/);
  expectError(() => inferOne('ConvTranspose', [1, 2, 3, 3], [[2, 2, 3, 3]], { strides: [2, 2], output_padding: [2, 0] }), /output_padding/);
  expectError(() => inferOne('MaxPool', [1, 2, 5, 5], [], {}), /kernel_shape/);
  expectError(() => inferOne('GroupNormalization', [1, 6, 4], [[3], [3]], { num_groups: 4 }), /num_groups 4/);
  expectError(() => inferOne('LayerNormalization', [2, 3], [[3]], { axis: 2 }), /axis 2/);
});
