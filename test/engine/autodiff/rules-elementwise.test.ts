import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gradCheck, type InputSpec } from '../../helpers/gradcheck';
import type { GraphBuilder } from '../../../src/engine/onnx/builder';
import type { Rng } from '../../../src/shared/random';

type Build = (b: GraphBuilder, x: Record<string, string>) => string | string[];

/** normals pushed at least `gap` away from `at` (keeps finite differences off kinks and poles) */
const awayFrom =
  (at: number, gap = 0.2) =>
  (rng: Rng, n: number): number[] =>
    Array.from({ length: n }, () => {
      const v = rng.normal();
      return at + (v >= 0 ? v + gap : v - gap);
    });
const uniform =
  (lo: number, hi: number) =>
  (rng: Rng, n: number): Float32Array =>
    rng.uniforms(n, lo, hi);

const x = (shape: number[], extra: Partial<InputSpec> = {}): InputSpec => ({ shape, wrt: true, ...extra });

async function check(build: Build, inputs: Record<string, InputSpec>, opset = 17): Promise<void> {
  const report = await gradCheck({ build, inputs, opset });
  assert.ok(report.checks.length > 0);
}

const unary = (op: string, attrs: Record<string, number> = {}): Build => (b, v) => b.op(op, [v.x!], attrs);

test('Add and Sub with broadcasting on either side', async () => {
  await check((b, v) => b.op('Add', [v.a!, v.b!]), { a: x([2, 3, 4]), b: x([4]) });
  await check((b, v) => b.op('Sub', [v.a!, v.b!]), { a: x([3, 1]), b: x([2, 1, 4]) });
});

test('Mul and Div (divisor away from zero), broadcasting', async () => {
  await check((b, v) => b.op('Mul', [v.a!, v.b!]), { a: x([2, 1, 3]), b: x([4, 1]) });
  await check((b, v) => b.op('Div', [v.a!, v.b!]), { a: x([2, 3]), b: x([3], { generator: awayFrom(0, 0.5) }) });
  await check((b, v) => b.op('Div', [v.a!, v.b!]), { a: x([1]), b: x([2, 3], { generator: uniform(0.5, 2) }) });
});

test('Pow with respect to base and exponent, a broadcast scalar exponent and an integer exponent', async () => {
  await check((b, v) => b.op('Pow', [v.a!, v.e!]), { a: x([2, 3], { generator: uniform(0.5, 2) }), e: x([2, 3], { generator: uniform(-1.5, 1.5) }) });
  await check((b, v) => b.op('Pow', [v.a!, v.e!]), { a: x([4], { generator: uniform(0.5, 2) }), e: x([], { values: [2.5] }) });
  await check((b, v) => b.op('Pow', [v.a!, b.constant([3], [], 'int64')]), { a: x([2, 2]) });
});

test('Neg, Identity, Exp, Erf, Tanh, Sigmoid, Sin, Cos, Softplus', async () => {
  for (const op of ['Neg', 'Identity', 'Exp', 'Erf', 'Tanh', 'Sigmoid', 'Sin', 'Cos', 'Softplus']) {
    await check(unary(op), { x: x([2, 3]) });
  }
});

test('Sqrt and Log on positive inputs, Reciprocal away from zero', async () => {
  await check(unary('Sqrt'), { x: x([5], { generator: uniform(0.3, 3) }) });
  await check(unary('Log'), { x: x([5], { generator: uniform(0.3, 3) }) });
  await check(unary('Reciprocal'), { x: x([2, 3], { generator: awayFrom(0, 0.5) }) });
});

test('Relu, LeakyRelu, Abs away from the kink; HardSigmoid on both sides of its ramp', async () => {
  await check(unary('Relu'), { x: x([3, 4], { generator: awayFrom(0) }) });
  await check(unary('LeakyRelu', { alpha: 0.2 }), { x: x([3, 4], { generator: awayFrom(0) }) });
  await check(unary('LeakyRelu'), { x: x([6], { generator: awayFrom(0) }) });
  await check(unary('Abs'), { x: x([6], { generator: awayFrom(0) }) });
  // 0.3x + 0.4 crosses 0 at -1.33 and 1 at 2: values on the ramp and in both flat parts
  await check(unary('HardSigmoid', { alpha: 0.3, beta: 0.4 }), { x: x([6], { values: [-3, -1, 0.2, 1.5, 2.6, 4] }) });
});

test('Clip: min/max inputs (opset 17) including their own gradients, one-sided, attribute form (opset 10)', async () => {
  const values = [-2.1, -1.2, -0.4, 0.1, 0.7, 1.3, 1.9, 2.5];
  await check((b, v) => b.op('Clip', [v.x!, v.lo!, v.hi!]), { x: x([8], { values }), lo: x([], { values: [-1] }), hi: x([], { values: [1.6] }) });
  await check((b, v) => b.op('Clip', [v.x!, '', v.hi!]), { x: x([2, 4], { values }), hi: x([], { values: [0.4], wrt: false }) });
  await check((b, v) => b.op('Clip', [v.x!], { min: -0.8, max: 1 }), { x: x([8], { values }) }, 10);
});

test('Where: gradient to both branches, none to the condition; broadcast branches', async () => {
  const cond = { shape: [2, 3], dtype: 'bool' as const, values: [1, 0, 0, 1, 1, 0], wrt: false };
  await check((b, v) => b.op('Where', [v.c!, v.a!, v.b!]), { c: cond, a: x([2, 3]), b: x([3]) });
  await check((b, v) => b.op('Where', [v.c!, v.a!, v.b!]), { c: cond, a: x([1]), b: x([2, 3]) });
});

test('Cast float32 -> float64 -> float32 passes the gradient through both casts', async () => {
  await check(
    (b, v) => {
      const wide = b.op('Cast', [v.x!], { to: 11 });
      const squared = b.op('Mul', [wide, wide]);
      return b.op('Cast', [squared], { to: 1 });
    },
    { x: x([2, 3]) },
  );
});

test('Sum of three broadcast inputs', async () => {
  await check((b, v) => b.op('Sum', [v.a!, v.b!, v.c!]), { a: x([2, 3]), b: x([3]), c: x([2, 1]) });
});

test('Max and Min, binary with broadcasting and ternary; ties go to the first input', async () => {
  const a = [0.1, -1.3, 2.2, 0.5, -0.7, 1.1];
  const bVals = [0.9, -2.0, 1.2, 1.6, 0.3, -0.2];
  await check((b, v) => b.op('Max', [v.a!, v.b!]), { a: x([2, 3], { values: a }), b: x([2, 3], { values: bVals }) });
  await check((b, v) => b.op('Min', [v.a!, v.b!]), { a: x([2, 3], { values: a }), b: x([3], { values: [0.0, 0.4, -1.0] }) });
  await check((b, v) => b.op('Max', [v.a!, v.b!, v.c!]), { a: x([6], { values: a }), b: x([6], { values: bVals }), c: x([6], { values: [1.5, 0.0, -3, 2.5, 0.0, 0.5] }) });
  // Max(a, a) = a: with the tie rule the gradients add to exactly one copy of g
  await check((b, v) => b.op('Max', [v.a!, v.a!]), { a: x([4]) });
});
