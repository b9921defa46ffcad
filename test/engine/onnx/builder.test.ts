import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GraphBuilder } from '../../../src/engine/onnx/builder';
import { encodeModel } from '../../../src/engine/onnx/serialize';
import { createSession } from '../../../src/engine/runtime';

test('a built graph serialises and runs in onnxruntime with the expected values', async () => {
  const b = new GraphBuilder('mlp');
  const x = b.input('x', 'float32', [2, 3]);
  const w = b.param('w', [3, 2], [1, 0, 0, 1, 1, -1]);
  const y = b.op('LeakyRelu', [b.op('MatMul', [x, w])], { alpha: 0.5 });
  b.output(y, 'y', { shape: [2, 2] });
  const session = await createSession(encodeModel(b.toModel()));
  const out = await session.run({ x: { dtype: 'float32', dims: [2, 3], data: new Float32Array([1, 2, 3, -1, -2, 4]) } });
  // row0: [1+3, 2-3] = [4, -1] -> [4, -0.5]; row1: [-1+4, -2-4] = [3, -6] -> [3, -3]
  assert.deepEqual(Array.from(out.y!.data as Float32Array), [4, -0.5, 3, -3]);
  assert.deepEqual(out.y!.dims, [2, 2]);
  await session.release();
});

test('builder never hands out a name twice', () => {
  const b = new GraphBuilder('names');
  b.input('a', 'float32', [1]);
  const n1 = b.uniqueName('a');
  const n2 = b.uniqueName('a');
  assert.notEqual(n1, 'a');
  assert.notEqual(n1, n2);
  assert.throws(() => b.input('a', 'float32', [1]), /already used/);
});
