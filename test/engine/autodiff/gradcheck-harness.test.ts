import { test } from 'node:test';
import assert from 'node:assert/strict';
import { adjointCheck, gradCheck } from '../../helpers/gradcheck';
import { findRule } from '../../../src/engine/autodiff/table';
import type { GradRule, RuleEntry } from '../../../src/engine/autodiff/types';

const realRule = (op: string): GradRule => {
  const entry = findRule(op, '', 17);
  if (!entry || entry.rule === 'no-gradient') throw new Error(`no rule for ${op}`);
  return entry.rule;
};

test('gradCheck passes a correct rule (Mul with broadcasting) and reports tight agreement', async () => {
  const report = await gradCheck({
    build: (b, x) => b.op('Mul', [x.a!, x.b!]),
    inputs: { a: { shape: [2, 3, 4], wrt: true }, b: { shape: [3, 1], wrt: true } },
    seed: 7,
  });
  assert.equal(report.checks.length, 6);
  assert.ok(report.worst < 1e-3, `worst relative error ${report.worst}`);
});

test('gradCheck fails a Mul rule scaled by 1.01', async () => {
  const mul = realRule('Mul');
  const scaled: RuleEntry = {
    opType: 'Mul',
    rule: (ctx) => mul(ctx).map((g) => (g === undefined ? g : ctx.b.op('Mul', [g, ctx.b.scalar(1.01)]))),
  };
  await assert.rejects(
    gradCheck({
      build: (b, x) => b.op('Mul', [x.a!, x.b!]),
      inputs: { a: { shape: [2, 3], wrt: true }, b: { shape: [2, 3], wrt: false } },
      rules: [scaled],
      seed: 3,
    }),
    /gradient check failed/,
  );
});

test('adjointCheck passes Transpose and fails a Transpose rule with the wrong inverse permutation', async () => {
  const build = (b: import('../../../src/engine/onnx/builder').GraphBuilder, x: Record<string, string>): string => b.op('Transpose', [x.x!], { perm: [1, 2, 0] });
  const ok = await adjointCheck({ build, inputs: { x: { shape: [2, 3, 4], wrt: true } } });
  assert.ok(ok.worst < 1e-5);
  // the true inverse of [1,2,0] is [2,0,1]; using the forward perm again is a classic bug
  const wrongPerm: RuleEntry = { opType: 'Transpose', rule: (ctx) => [ctx.b.op('Transpose', [ctx.gradOutput(0)!], { perm: [1, 2, 0] })] };
  // shapes: [2,3,4] -> [3,4,2]; applying [1,2,0] to [3,4,2] gives [4,2,3] != [2,3,4], rejected by the walk
  await assert.rejects(adjointCheck({ build, inputs: { x: { shape: [2, 3, 4], wrt: true } }, rules: [wrongPerm] }), /gradient for input 0/);
  // with a square shape the wrong permutation type-checks, and only the numbers can catch it
  const wrongSquare: RuleEntry = { opType: 'Transpose', rule: (ctx) => [ctx.b.op('Transpose', [ctx.gradOutput(0)!], { perm: [1, 2, 0] })] };
  await assert.rejects(adjointCheck({ build, inputs: { x: { shape: [3, 3, 3], wrt: true } }, rules: [wrongSquare] }), /adjoint check failed/);
  await assert.rejects(gradCheck({ build, inputs: { x: { shape: [3, 3, 3], wrt: true } }, rules: [wrongSquare] }), /gradient check failed/);
});
