// Shape functions for MatMul (numpy matmul semantics) and Gemm.
import { attrInt, broadcastShapes, nodeError, requireInput } from './elementwise';
import type { ShapeTable } from './types';

export const linalgShapes: ShapeTable = {
  MatMul: (ctx) => {
    const a = requireInput(ctx, 0);
    const b = requireInput(ctx, 1);
    if (a.shape.length === 0 || b.shape.length === 0) nodeError(ctx.node, 'operands must have rank >= 1');
    // a 1-D operand is promoted to a matrix by a unit dim that is removed from the result
    const a2 = a.shape.length === 1 ? [1, a.shape[0]!] : a.shape;
    const b2 = b.shape.length === 1 ? [b.shape[0]!, 1] : b.shape;
    const k = a2[a2.length - 1]!;
    if (b2[b2.length - 2] !== k) nodeError(ctx.node, `inner dims differ: [${a.shape}] x [${b.shape}]`);
    const batch = broadcastShapes([a2.slice(0, -2), b2.slice(0, -2)], ctx.node);
    const out = [...batch];
    if (a.shape.length > 1) out.push(a2[a2.length - 2]!);
    if (b.shape.length > 1) out.push(b2[b2.length - 1]!);
    return [{ dtype: a.dtype, shape: out }];
  },
  Gemm: (ctx) => {
    const a = requireInput(ctx, 0);
    const b = requireInput(ctx, 1);
    if (a.shape.length !== 2 || b.shape.length !== 2) nodeError(ctx.node, 'A and B must be matrices');
    const [m, ka] = attrInt(ctx.node, 'transA', 0) ? [a.shape[1]!, a.shape[0]!] : [a.shape[0]!, a.shape[1]!];
    const [kb, n] = attrInt(ctx.node, 'transB', 0) ? [b.shape[1]!, b.shape[0]!] : [b.shape[0]!, b.shape[1]!];
    if (ka !== kb) nodeError(ctx.node, `inner dims differ: ${ka} vs ${kb}`);
    const c = ctx.input(2);
    if (c) broadcastShapes([c.shape, [m, n]], ctx.node);
    return [{ dtype: a.dtype, shape: [m, n] }];
  },
};
