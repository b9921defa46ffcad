import { test } from 'node:test';
import assert from 'node:assert/strict';
import { unbroadcast } from '../../../src/engine/autodiff/unbroadcast';
import { GraphBuilder } from '../../../src/engine/onnx/builder';
import { encodeModel } from '../../../src/engine/onnx/serialize';
import { createSession } from '../../../src/engine/runtime';

/** Sums a [2,3,4] tensor holding 0..23 down to `to` in plain JS (independent of the graph). */
function expected(to: number[]): number[] {
  const from = [2, 3, 4];
  const lead = from.length - to.length;
  const out = new Array<number>(to.reduce((a, d) => a * d, 1)).fill(0);
  for (let i = 0; i < 2; i++)
    for (let j = 0; j < 3; j++)
      for (let k = 0; k < 4; k++) {
        const coords = [i, j, k].slice(lead).map((c, a) => (to[a] === 1 ? 0 : c));
        const flat = coords.reduce((acc, c, a) => acc * to[a]! + c, 0);
        out[flat]! += i * 12 + j * 4 + k;
      }
  return out;
}

for (const opset of [11, 13, 17]) {
  test(`unbroadcast sums broadcast axes and drops leading ones (opset ${opset})`, async () => {
    const b = new GraphBuilder('unbroadcast', { opset });
    const g = b.input('g', 'float32', [2, 3, 4]);
    const targets = [[2, 3, 4], [3, 4], [1, 3, 1], [4], [1], [], [2, 1, 4]];
    targets.forEach((to, i) => b.output(unbroadcast({ b, opset }, g, [2, 3, 4], to), `out${i}`));
    const reduceSums = b.graph.nodes.filter((n) => n.opType === 'ReduceSum');
    // axes are an attribute before opset 13 and an input from 13 on
    assert.ok(reduceSums.every((n) => (opset < 13 ? n.inputs.length === 1 && n.attrs['axes'] : n.inputs.length === 2)));
    const s = await createSession(encodeModel(b.toModel()));
    const out = await s.run({ g: { dtype: 'float32', dims: [2, 3, 4], data: Float32Array.from({ length: 24 }, (_, i) => i) } });
    targets.forEach((to, i) => {
      assert.deepEqual(out[`out${i}`]!.dims, to);
      assert.deepEqual(Array.from(out[`out${i}`]!.data as Float32Array), expected(to));
    });
    await s.release();
  });
}

test('unbroadcast refuses shapes that do not broadcast', () => {
  const b = new GraphBuilder('bad');
  const g = b.input('g', 'float32', [2, 3]);
  assert.throws(() => unbroadcast({ b, opset: 17 }, g, [2, 3], [2]), /\[2\] does not broadcast to \[2,3\]/);
  assert.throws(() => unbroadcast({ b, opset: 17 }, g, [3], [2, 3]), /lower rank/);
});
