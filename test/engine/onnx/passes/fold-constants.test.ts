import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GraphBuilder } from '../../../../src/engine/onnx/builder';
import { foldShapeConstants } from '../../../../src/engine/onnx/passes/fold-constants';
import { specialiseShapes } from '../../../../src/engine/onnx/passes/specialise-shapes';
import { tensorToNumbers } from '../../../../src/engine/onnx/ir';
import { Rng } from '../../../../src/shared/random';
import { assertSameOutputs, randomFeed } from './helpers';

/** x [batch, seq, 8] -> reshape to [batch, seq, 2, 4] via a dynamic shape chain, + Range bias */
function dynamicReshape() {
  const b = new GraphBuilder('fold', { opset: 17 });
  const x = b.input('x', 'float32', ['batch', 'seq', 8]);
  const shape = b.op('Shape', [x]);
  const batch = b.op('Unsqueeze', [b.op('Gather', [shape, b.constant([0], [], 'int64')], { axis: 0 }), b.ints([0])]);
  const seq = b.op('Slice', [shape, b.ints([1]), b.ints([2])]);
  const heads = b.op('Div', [b.op('Slice', [shape, b.ints([2]), b.ints([3])]), b.ints([4])]);
  const target = b.op('Concat', [batch, seq, heads, b.ints([-1])], { axis: 0 });
  const y = b.op('Reshape', [x, target]);
  // positions 0..3 as float, added along the last axis
  const n = b.op('Gather', [shape, b.constant([2], [], 'int64')], { axis: 0 });
  const positions = b.op('Cast', [b.op('Range', [b.constant([0], [], 'int64'), b.op('Div', [n, b.constant([2], [], 'int64')]), b.constant([1], [], 'int64')])], { to: 1 });
  b.output(b.op('Add', [y, positions]), 'y');
  return b.toModel();
}

test('shape chains fold to initializers and ORT gives the same outputs', async () => {
  const model = specialiseShapes(dynamicReshape(), { x: [2, 3, 8] });
  const folded = foldShapeConstants(model);
  const ops = folded.graph.nodes.map((n) => n.opType);
  assert.deepEqual(ops.sort(), ['Add', 'Cast', 'Identity', 'Reshape'].sort(), `left: ${ops}`);
  const reshape = folded.graph.nodes.find((n) => n.opType === 'Reshape')!;
  assert.deepEqual(tensorToNumbers(folded.graph.initializers.get(reshape.inputs[1]!)!), [2, 3, 2, -1]);
  assert.equal(model.graph.nodes.length, dynamicReshape().graph.nodes.length, 'the original is untouched');
  await assertSameOutputs(model, folded, { x: randomFeed(new Rng(2), [2, 3, 8]) });
});

test('folding needs fixed input shapes and says so', () => {
  assert.throws(() => foldShapeConstants(dynamicReshape()), /symbolic dim 'batch'; specialise/);
});
