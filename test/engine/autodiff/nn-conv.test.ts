// Gradient checks (finite differences) and adjoint tests for the Conv and ConvTranspose rules.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { adjointCheck, gradCheck } from '../../helpers/gradcheck';
import type { AttrInput } from '../../../src/engine/onnx/builder';

interface ConvCase {
  name: string;
  x: number[];
  w: number[];
  bias?: boolean;
  attrs: Record<string, AttrInput>;
}

// Conv: X [N, C, ...], W [M, C/group, ...k]
const convCases: ConvCase[] = [
  { name: '2-D 3x3, stride 1, pads 1', x: [2, 3, 5, 5], w: [4, 3, 3, 3], bias: true, attrs: { pads: [1, 1, 1, 1] } },
  { name: '2-D stride 2 on odd size (stride does not divide)', x: [1, 2, 7, 6], w: [3, 2, 3, 3], bias: true, attrs: { strides: [2, 2], pads: [1, 1, 1, 1] } },
  { name: '2-D stride 3, asymmetric pads', x: [1, 2, 8, 7], w: [2, 2, 3, 2], attrs: { strides: [3, 2], pads: [2, 0, 0, 1] } },
  { name: '2-D dilation 2', x: [1, 2, 7, 7], w: [2, 2, 3, 3], attrs: { dilations: [2, 2], pads: [1, 2, 2, 1] } },
  { name: '2-D dilation 2 with stride 2', x: [1, 1, 9, 8], w: [2, 1, 2, 3], attrs: { dilations: [2, 2], strides: [2, 2] } },
  { name: '2-D groups 2', x: [2, 4, 5, 5], w: [6, 2, 3, 3], bias: true, attrs: { group: 2, pads: [1, 1, 1, 1] } },
  { name: '2-D depthwise (group = C), stride 2', x: [2, 3, 6, 5], w: [3, 1, 3, 3], attrs: { group: 3, strides: [2, 2], pads: [1, 1, 1, 1] } },
  { name: '2-D depthwise multiplier 2', x: [1, 2, 5, 5], w: [4, 1, 2, 2], attrs: { group: 2 } },
  { name: '2-D auto_pad SAME_UPPER stride 2', x: [1, 2, 5, 6], w: [2, 2, 3, 3], attrs: { auto_pad: 'SAME_UPPER', strides: [2, 2] } },
  { name: '2-D auto_pad SAME_LOWER stride 2', x: [1, 2, 5, 6], w: [2, 2, 4, 3], attrs: { auto_pad: 'SAME_LOWER', strides: [2, 2] } },
  { name: '2-D auto_pad VALID stride 3', x: [1, 2, 8, 7], w: [2, 2, 2, 3], attrs: { auto_pad: 'VALID', strides: [3, 3] } },
  { name: '2-D 1x1 kernel', x: [2, 3, 4, 4], w: [5, 3, 1, 1], bias: true, attrs: {} },
  { name: '1-D stride 2, pads, dilation', x: [2, 2, 11], w: [3, 2, 3], bias: true, attrs: { strides: [2], pads: [1, 2], dilations: [2] } },
  { name: '1-D groups 2 stride 3', x: [1, 4, 10], w: [2, 2, 2], attrs: { strides: [3], group: 2 } },
  { name: '3-D strides (2, 1, 2), pads', x: [1, 2, 4, 5, 3], w: [2, 2, 2, 3, 2], bias: true, attrs: { strides: [2, 1, 2], pads: [1, 1, 0, 0, 1, 1] } },
];

for (const c of convCases) {
  test(`Conv gradient: ${c.name}`, async () => {
    await gradCheck({
      inputs: {
        x: { shape: c.x, wrt: true },
        w: { shape: c.w, wrt: true, initializer: true },
        ...(c.bias ? { bias: { shape: [c.w[0]!], wrt: true, initializer: true } } : {}),
      },
      build: (b, i) => b.op('Conv', c.bias ? [i.x!, i.w!, i.bias!] : [i.x!, i.w!], c.attrs),
      directions: 2,
    });
  });
}

// the adjoint identities are exact: Conv is linear in X for fixed W, and in W for fixed X
for (const c of convCases.filter((_, i) => i % 2 === 1 || i === convCases.length - 1)) {
  test(`Conv adjoint in X and in W: ${c.name}`, async () => {
    await adjointCheck({
      inputs: { x: { shape: c.x, wrt: true }, w: { shape: c.w, wrt: false, initializer: true } },
      build: (b, i) => b.op('Conv', [i.x!, i.w!], c.attrs),
    });
    await adjointCheck({
      inputs: { w: { shape: c.w, wrt: true }, x: { shape: c.x, wrt: false, initializer: true } },
      build: (b, i) => b.op('Conv', [i.x!, i.w!], c.attrs),
    });
  });
}

// ConvTranspose: X [N, Cin, ...], W [Cin, Cout/group, ...k]
const convTransposeCases: ConvCase[] = [
  { name: '2-D stride 2, pads 1, output_padding 1', x: [2, 3, 4, 3], w: [3, 2, 3, 3], bias: true, attrs: { strides: [2, 2], pads: [1, 1, 1, 1], output_padding: [1, 1] } },
  { name: '2-D stride 3, asymmetric pads', x: [1, 2, 3, 4], w: [2, 3, 4, 3], attrs: { strides: [3, 2], pads: [2, 0, 1, 1] } },
  { name: '2-D dilation 2, groups 2', x: [1, 4, 4, 4], w: [4, 1, 3, 2], bias: true, attrs: { dilations: [2, 2], group: 2, pads: [1, 0, 0, 1] } },
  { name: '2-D depthwise stride 2', x: [2, 3, 3, 3], w: [3, 1, 2, 2], attrs: { group: 3, strides: [2, 2] } },
  { name: '2-D output_shape with stride 2', x: [1, 2, 3, 3], w: [2, 2, 3, 3], attrs: { strides: [2, 2], output_shape: [6, 5] } },
  { name: '2-D auto_pad SAME_UPPER stride 2', x: [1, 2, 3, 4], w: [2, 2, 3, 3], attrs: { strides: [2, 2], auto_pad: 'SAME_UPPER' } },
  { name: '2-D auto_pad SAME_LOWER stride 2', x: [1, 2, 3, 4], w: [2, 2, 3, 3], attrs: { strides: [2, 2], auto_pad: 'SAME_LOWER' } },
  { name: '2-D output_padding with dilation > stride', x: [1, 1, 3, 3], w: [1, 2, 2, 2], attrs: { strides: [2, 2], dilations: [3, 3], output_padding: [1, 1] } },
  { name: '1-D stride 2, pads', x: [2, 2, 5], w: [2, 3, 3], bias: true, attrs: { strides: [2], pads: [1, 2] } },
  { name: '3-D stride 2 groups 2', x: [1, 4, 2, 3, 2], w: [4, 1, 2, 2, 3], attrs: { strides: [2, 2, 1], group: 2 } },
];

for (const c of convTransposeCases) {
  test(`ConvTranspose gradient: ${c.name}`, async () => {
    await gradCheck({
      inputs: {
        x: { shape: c.x, wrt: true },
        w: { shape: c.w, wrt: true, initializer: true },
        ...(c.bias ? { bias: { shape: [c.w[1]! * ((c.attrs['group'] as number | undefined) ?? 1)], wrt: true, initializer: true } } : {}),
      },
      build: (b, i) => b.op('ConvTranspose', c.bias ? [i.x!, i.w!, i.bias!] : [i.x!, i.w!], c.attrs),
      directions: 2,
    });
  });
}

for (const c of convTransposeCases.filter((_, i) => i % 2 === 0)) {
  test(`ConvTranspose adjoint in X and in W: ${c.name}`, async () => {
    await adjointCheck({
      inputs: { x: { shape: c.x, wrt: true }, w: { shape: c.w, wrt: false, initializer: true } },
      build: (b, i) => b.op('ConvTranspose', [i.x!, i.w!], c.attrs),
    });
    await adjointCheck({
      inputs: { w: { shape: c.w, wrt: true }, x: { shape: c.x, wrt: false, initializer: true } },
      build: (b, i) => b.op('ConvTranspose', [i.x!, i.w!], c.attrs),
    });
  });
}

test('the Conv checks bite: a dX rule that drops output_padding fails the shape check', async () => {
  // stride 2 on size 6 leaves one input no window reads; without the output_padding the
  // transposed conv is one short
  await assert.rejects(
    gradCheck({
      inputs: { x: { shape: [1, 1, 6], wrt: true }, w: { shape: [1, 1, 3], wrt: false, initializer: true } },
      build: (b, i) => b.op('Conv', [i.x!, i.w!], { strides: [2] }),
      rules: [{ opType: 'Conv', rule: (ctx) => [ctx.b.op('ConvTranspose', [ctx.gradOutput(0)!, ctx.node.inputs[1]!], { strides: [2] }), undefined] }],
    }),
    /gradient|dims/,
  );
});
