import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GraphBuilder } from '../../../../src/engine/onnx/builder';
import { specialiseShapes } from '../../../../src/engine/onnx/passes/specialise-shapes';
import { isUserError } from '../../../../src/shared/errors';
import { Rng } from '../../../../src/shared/random';
import { assertSameOutputs, randomFeed } from './helpers';

function unetLike() {
  const b = new GraphBuilder('unet-like');
  const x = b.input('sample', 'float32', ['batch', 4, 'height', 'width']);
  const t = b.input('timestep', 'float32', ['batch']);
  const scaled = b.op('Mul', [x, b.op('Unsqueeze', [t, b.ints([1, 2, 3])])]);
  b.graph.valueInfo.set(scaled, { name: scaled, dtype: 'float32', shape: ['batch', 4, 'height', 'width'] });
  b.output(b.op('Relu', [scaled]), 'out', { shape: ['batch', 4, 'height', 'width'] });
  return b.toModel();
}

test('dim_params are fixed consistently in inputs, outputs and value_info, and ORT agrees', async () => {
  const model = unetLike();
  const fixed = specialiseShapes(model, { sample: [2, 4, 8, 6] });
  assert.deepEqual(fixed.graph.inputs.map((i) => i.shape), [[2, 4, 8, 6], [2]]);
  assert.deepEqual(fixed.graph.outputs[0]!.shape, [2, 4, 8, 6]);
  assert.deepEqual([...fixed.graph.valueInfo.values()][0]!.shape, [2, 4, 8, 6]);
  assert.deepEqual(model.graph.inputs[0]!.shape, ['batch', 4, 'height', 'width'], 'the original is untouched');
  const rng = new Rng(1);
  await assertSameOutputs(model, fixed, { sample: randomFeed(rng, [2, 4, 8, 6]), timestep: randomFeed(rng, [2]) });
  assert.deepEqual(specialiseShapes(model, {}, { batch: 1 }).graph.inputs[1]!.shape, [1]);
});

test('conflicting or impossible shapes are refused naming the input', () => {
  const model = unetLike();
  const refuses = (fn: () => unknown, pattern: RegExp) => assert.throws(fn, (e: unknown) => isUserError(e) && pattern.test((e as Error).message));
  refuses(() => specialiseShapes(model, { sample: [2, 4, 8, 8], timestep: [3] }), /'batch' is 2 by input 'sample' but 3 by input 'timestep'/);
  refuses(() => specialiseShapes(model, { sample: [2, 3, 8, 8] }), /input 'sample' axis 1 is fixed at 4, not 3/);
  refuses(() => specialiseShapes(model, { sample: [2, 4, 8] }), /rank 4/);
  refuses(() => specialiseShapes(model, { latent: [1] }), /no graph input 'latent'/);
});
