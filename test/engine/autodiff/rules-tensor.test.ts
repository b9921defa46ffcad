// Tensor ops are linear in their data input, so most are checked with the exact adjoint identity
// <A x, r> = <x, A^T r>; ops with several differentiated inputs use the finite-difference check.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { adjointCheck, gradCheck } from '../../helpers/gradcheck';
import type { GraphBuilder } from '../../../src/engine/onnx/builder';

type Build = (b: GraphBuilder, x: Record<string, string>) => string | string[];

async function adjoint(shape: number[], build: Build, opset = 17): Promise<void> {
  const report = await adjointCheck({ build, inputs: { x: { shape, wrt: true } }, opset });
  assert.ok(report.worst < 1e-5, `adjoint error ${report.worst}`);
}

test('Reshape (with 0 and -1), Flatten (positive and negative axis), Squeeze, Unsqueeze', async () => {
  await adjoint([2, 3, 4], (b, x) => b.op('Reshape', [x.x!, b.ints([0, -1, 2])]));
  await adjoint([2, 3, 4], (b, x) => b.op('Flatten', [x.x!], { axis: 2 }));
  await adjoint([2, 3, 4], (b, x) => b.op('Flatten', [x.x!], { axis: -1 }));
  await adjoint([2, 1, 3, 1], (b, x) => b.op('Squeeze', [x.x!, b.ints([-1, 1])]));
  await adjoint([2, 1, 3, 1], (b, x) => b.op('Squeeze', [x.x!], { axes: [1] }), 11);
  await adjoint([2, 3], (b, x) => b.op('Unsqueeze', [x.x!, b.ints([0, -1])]));
  await adjoint([2, 3], (b, x) => b.op('Unsqueeze', [x.x!], { axes: [1] }), 11);
});

test('Transpose with explicit and default perm', async () => {
  await adjoint([2, 3, 4, 5], (b, x) => b.op('Transpose', [x.x!], { perm: [2, 0, 3, 1] }));
  await adjoint([2, 3, 4], (b, x) => b.op('Transpose', [x.x!]));
});

test('Concat of three inputs along a negative axis, two differentiated', async () => {
  await gradCheck({
    build: (b, x) => b.op('Concat', [x.a!, x.b!, x.c!], { axis: -2 }),
    inputs: { a: { shape: [2, 1, 3], wrt: true }, b: { shape: [2, 4, 3], wrt: false }, c: { shape: [2, 2, 3], wrt: true } },
  });
});

test('Split: sizes as input (13), as attribute (11), equal parts, num_outputs (18), unused pieces', async () => {
  const sizes: Build = (b, x) => b.opN('Split', [x.x!, b.ints([1, 3, 2])], { axis: 1 }, { outputs: 3 });
  await adjoint([2, 6, 2], sizes);
  await adjoint([2, 6, 2], (b, x) => b.opN('Split', [x.x!], { axis: 1, split: [4, 2] }, { outputs: 2 }), 11);
  await adjoint([4, 3], (b, x) => b.opN('Split', [x.x!], {}, { outputs: 2 }));
  // num_outputs=3 over 7: chunks of ceil(7/3)=3 -> [3, 3, 1]
  await adjoint([2, 7], (b, x) => b.opN('Split', [x.x!], { axis: -1, num_outputs: 3 }, { outputs: 3 }), 18);
  // only the middle piece reaches the loss: the others get zeros in the Concat
  await adjoint([2, 6, 2], (b, x) => sizes(b, x)[1]!);
});

test('Slice: steps 1, 2, -1, -2, negative axes and clamped ends', async () => {
  await adjoint([5, 6], (b, x) => b.op('Slice', [x.x!, b.ints([1, -5]), b.ints([4, 100]), b.ints([0, -1])]));
  await adjoint([5, 7], (b, x) => b.op('Slice', [x.x!, b.ints([0, 1]), b.ints([5, 7]), b.ints([0, 1]), b.ints([2, 3])]));
  await adjoint([6, 4], (b, x) => b.op('Slice', [x.x!, b.ints([-1]), b.ints([-100]), b.ints([0]), b.ints([-1])]));
  await adjoint([7, 3], (b, x) => b.op('Slice', [x.x!, b.ints([5, 2]), b.ints([0, 0]), b.ints([0, 1]), b.ints([-2, -1])]));
  await adjoint([4, 5], (b, x) => b.op('Slice', [x.x!], { starts: [1], ends: [3], axes: [1] }), 9);
});

test('Slice selecting nothing gives a zero gradient of the input shape', async () => {
  // a zero-size output cannot feed ReduceSum's r; add it to a real term through Concat instead
  const report = await gradCheck({
    build: (b, x) => b.op('Concat', [b.op('Slice', [x.x!, b.ints([3]), b.ints([3]), b.ints([0])]), x.x!], { axis: 0 }),
    inputs: { x: { shape: [4, 2], wrt: true } },
  });
  assert.ok(report.worst < 3e-3);
});

test('Pad (constant): positive pads, negative pads (crop), axes input (18), attribute form (<11)', async () => {
  await adjoint([2, 3], (b, x) => b.op('Pad', [x.x!, b.ints([1, 0, 2, 3])]));
  await adjoint([4, 5], (b, x) => b.op('Pad', [x.x!, b.ints([-1, 2, 1, -2])]));
  await adjoint([2, 3, 4], (b, x) => b.op('Pad', [x.x!, b.ints([1, 2]), '', b.ints([-1])]), 18);
  await adjoint([2, 3], (b, x) => b.op('Pad', [x.x!], { pads: [0, 1, 1, 0], mode: 'constant' }), 10);
});

test('Pad in reflect mode has no gradient rule and says so', async () => {
  await assert.rejects(
    adjointCheck({ build: (b, x) => b.op('Pad', [x.x!, b.ints([1, 1, 1, 1])], { mode: 'reflect' }), inputs: { x: { shape: [3, 3], wrt: true } } }),
    /Pad node .*reflect.* not supported/,
  );
});

test('Expand (broadcast and added leading axes) and Tile', async () => {
  await adjoint([3, 1], (b, x) => b.op('Expand', [x.x!, b.ints([2, 3, 4])]));
  await adjoint([1, 4], (b, x) => b.op('Expand', [x.x!, b.ints([3, 1])]));
  await adjoint([2, 3], (b, x) => b.op('Tile', [x.x!, b.ints([3, 2])]));
  await adjoint([2, 1, 3], (b, x) => b.op('Tile', [x.x!, b.ints([1, 4, 1])]));
});

test('Gather: embedding rows (axis 0) with repeated and negative 2-D indices', async () => {
  const report = await adjointCheck({
    build: (b, x) => b.op('Gather', [x.x!, x.idx!]),
    inputs: { x: { shape: [5, 3], wrt: true }, idx: { shape: [2, 3], dtype: 'int64', values: [0, 4, 4, -1, 2, 0], wrt: false } },
  });
  assert.ok(report.worst < 1e-5);
});

test('Gather along axis 1 and a negative axis, int32 and scalar indices', async () => {
  await adjointCheck({
    build: (b, x) => b.op('Gather', [x.x!, x.idx!], { axis: 1 }),
    inputs: { x: { shape: [2, 4, 3], wrt: true }, idx: { shape: [3], dtype: 'int32', values: [3, 1, 3], wrt: false } },
  });
  await adjointCheck({
    build: (b, x) => b.op('Gather', [x.x!, x.idx!], { axis: -1 }),
    inputs: { x: { shape: [2, 4, 3], wrt: true }, idx: { shape: [], dtype: 'int64', values: [-2], wrt: false } },
  });
});
