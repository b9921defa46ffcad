import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GraphBuilder } from '../../../../src/engine/onnx/builder';
import { lowerEinsum } from '../../../../src/engine/onnx/passes/einsum';
import { Rng } from '../../../../src/shared/random';
import { assertSameOutputs, randomFeed } from './helpers';

function einsumModel(equation: string, shapes: number[][]) {
  const b = new GraphBuilder('einsum', { opset: 17 });
  const names = shapes.map((s, i) => b.input(`in${i}`, 'float32', s));
  b.output(b.op('Einsum', names, { equation }), 'y');
  return b.toModel();
}

const CASES: [string, number[][]][] = [
  ['bij,bjk->bik', [[2, 3, 4], [2, 4, 5]]],
  ['bhqd,bhkd->bhqk', [[2, 3, 4, 8], [2, 3, 6, 8]]],
  ['bhqk,bhkd->bhqd', [[2, 3, 4, 6], [2, 3, 6, 8]]],
  ['bid,bjd->bij', [[2, 4, 8], [2, 5, 8]]],
  ['b i d, b j d -> b i j', [[2, 4, 8], [2, 5, 8]]],
  ['ij,jk', [[3, 4], [4, 5]]],
  ['i,j->ij', [[3], [4]]],
  ['bi,bi->b', [[3, 4], [3, 4]]],
  ['ij,kj->ik', [[3, 4], [5, 4]]],
  ['bij,bjk->bki', [[2, 3, 4], [2, 4, 5]]],
  ['ij,j->i', [[3, 4], [4]]],
  ['bhij,bhj->bhi', [[2, 3, 4, 5], [2, 3, 5]]],
  ['ij->ji', [[3, 4]]],
  ['ijk->ik', [[2, 3, 4]]],
  ['bij,bkl->bik', [[2, 3, 4], [2, 5, 6]]],
];

test('Einsum lowering matches ORT Einsum for the equations SD uses and their relatives', async () => {
  const rng = new Rng(42);
  for (const [equation, shapes] of CASES) {
    const model = einsumModel(equation, shapes);
    const lowered = lowerEinsum(model);
    assert.ok(!lowered.graph.nodes.some((n) => n.opType === 'Einsum'), equation);
    const feeds = Object.fromEntries(shapes.map((s, i) => [`in${i}`, randomFeed(rng, s)]));
    await assertSameOutputs(model, lowered, feeds, 1e-5).catch((e: Error) => assert.fail(`${equation}: ${e.message}`));
  }
});

test('unsupported equations fail naming the node and the equation', () => {
  for (const [equation, shapes, why] of [
    ['ii->i', [[3, 3]], /diagonal/],
    ['...ij,...jk->...ik', [[2, 3, 4], [2, 4, 5]], /ellipsis/],
    ['bijc,bjkc->bik', [[2, 3, 4, 2], [2, 4, 5, 2]], /more than one free or contracted index/],
    ['ij,jk,kl->il', [[2, 2], [2, 2], [2, 2]], /one or two operands/],
  ] as const) {
    const model = einsumModel(equation, shapes.map((s) => [...s]));
    model.graph.nodes[0]!.name = 'attn/einsum_3';
    assert.throws(() => lowerEinsum(model), (e: Error) => e.message.includes(`node 'attn/einsum_3' (Einsum)`) && e.message.includes(equation) && why.test(e.message), equation);
  }
});
