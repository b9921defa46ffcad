// Gradient rules for MatMul (numpy semantics: batched, broadcast batch dims, 1-D operands) and Gemm.
import { attrFloat, attrInt } from '../../onnx/shapes/elementwise';
import type { GradContext, GradRule, RuleEntry } from '../types';
import { reshape, scalarOf, unbroadcast } from '../unbroadcast';

/** Transpose of the last two axes. */
function swapLast(ctx: GradContext, x: string, rank: number): string {
  const perm = Array.from({ length: rank }, (_, i) => i);
  [perm[rank - 2], perm[rank - 1]] = [perm[rank - 1]!, perm[rank - 2]!];
  return ctx.b.op('Transpose', [x], { perm });
}

// Y = A B with A: [..., n, k], B: [..., k, m], Y: [..., n, m] (batch dims broadcast).
// dA = unbroadcast(G B^T), dB = unbroadcast(A^T G). A 1-D A is the row [1, k] and a 1-D B the
// column [k, 1]; their unit dim is missing from Y, so G is first reshaped to the promoted shape.
const matmul: GradRule = (ctx) => {
  const [a, bIn] = ctx.node.inputs as [string, string];
  const g = ctx.gradOutput(0)!;
  const aShape = ctx.shape(a);
  const bShape = ctx.shape(bIn);
  const a2 = aShape.length === 1 ? [1, aShape[0]!] : aShape;
  const b2 = bShape.length === 1 ? [bShape[0]!, 1] : bShape;
  const yShape = ctx.shape(ctx.node.outputs[0]!);
  const batch = yShape.slice(0, yShape.length - (aShape.length > 1 ? 1 : 0) - (bShape.length > 1 ? 1 : 0));
  const y2 = [...batch, a2[a2.length - 2]!, b2[b2.length - 1]!];
  const g2 = y2.join(',') === yShape.join(',') ? g : reshape(ctx.b, g, y2);
  const aP = a2 === aShape ? a : reshape(ctx.b, a, a2);
  const bP = b2 === bShape ? bIn : reshape(ctx.b, bIn, b2);
  const back = (grad: string, full: number[], promoted: number[], original: number[]): string => {
    const reduced = unbroadcast(ctx, grad, full, promoted);
    return promoted === original ? reduced : reshape(ctx.b, reduced, original);
  };
  // a weight shared by every batch item (a linear layer on [..., n, k] tokens, B a 2-D [k, m]):
  // the batch sum of A^T G is one GEMM over the flattened rows, [k, rows] x [rows, m], instead of a
  // batched MatMul and a ReduceSum over its [batch, k, m] result
  const sharedWeight = aShape.length > 2 && bShape.length === 2;
  const dBShared = (): string => {
    const rows = aShape.slice(0, -1).reduce((u, v) => u * v, 1);
    const aRows = reshape(ctx.b, a, [rows, aShape[aShape.length - 1]!]);
    return ctx.b.op('MatMul', [swapLast(ctx, aRows, 2), reshape(ctx.b, g, [rows, bShape[1]!])]);
  };
  return [
    ctx.needsGrad(0) ? back(ctx.b.op('MatMul', [g2, swapLast(ctx, bP, b2.length)]), [...batch, a2[a2.length - 2]!, a2[a2.length - 1]!], a2, aShape) : undefined,
    ctx.needsGrad(1)
      ? sharedWeight
        ? dBShared()
        : back(ctx.b.op('MatMul', [swapLast(ctx, aP, a2.length), g2]), [...batch, b2[b2.length - 2]!, b2[b2.length - 1]!], b2, bShape)
      : undefined,
  ];
};

// Y = alpha op(A) op(B) + beta C, op(M) = M^T when transM. With G = dL/dY:
//   d op(A) = alpha G op(B)^T, d op(B) = alpha op(A)^T G, dC = unbroadcast(beta G);
// each written as one Gemm by choosing its trans flags (worked out in the comments below).
const gemm: GradRule = (ctx) => {
  const [a, bIn, c] = ctx.node.inputs as [string, string, string | undefined];
  const g = ctx.gradOutput(0)!;
  const alpha = attrFloat(ctx.node, 'alpha', 1);
  const beta = attrFloat(ctx.node, 'beta', 1);
  const transA = attrInt(ctx.node, 'transA', 0);
  const transB = attrInt(ctx.node, 'transB', 0);
  const gemmOp = (x: string, y: string, tA: number, tB: number): string => ctx.b.op('Gemm', [x, y], { alpha, transA: tA, transB: tB });
  // dA: transA=0 -> alpha G op(B)^T = Gemm(G, B, transB = !transB); transA=1 -> alpha op(B) G^T = Gemm(B, G, transA = transB, transB = 1)
  const dA = ctx.needsGrad(0) ? (transA ? gemmOp(bIn, g, transB, 1) : gemmOp(g, bIn, 0, 1 - transB)) : undefined;
  // dB: transB=0 -> alpha op(A)^T G = Gemm(A, G, transA = !transA); transB=1 -> alpha G^T op(A) = Gemm(G, A, transA = 1, transB = transA)
  const dB = ctx.needsGrad(1) ? (transB ? gemmOp(g, a, 1, transA) : gemmOp(a, g, 1 - transA, 0)) : undefined;
  let dC: string | undefined;
  if (c && ctx.needsGrad(2)) {
    const scaled = beta === 1 ? g : ctx.b.op('Mul', [g, scalarOf(ctx.b, beta, ctx.dtype(c))]);
    dC = unbroadcast(ctx, scaled, ctx.shape(ctx.node.outputs[0]!), ctx.shape(c));
  }
  return [dA, dB, dC];
};

export const linalgRules: RuleEntry[] = [
  { opType: 'MatMul', rule: matmul },
  // the emitted Gemm omits C, which opset 11 made optional
  { opType: 'Gemm', sinceOpset: 11, rule: gemm },
];
