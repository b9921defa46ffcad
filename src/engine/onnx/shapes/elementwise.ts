// Shape functions for elementwise ops, plus the helpers every shape function (and gradient rule)
// shares: numpy-style broadcasting, attribute readers and the node-naming error.
import { UserError } from '../../../shared/errors';
import { DTYPE_FROM_CODE, type DType, type Node } from '../ir';
import type { ShapeContext, ShapeFn, ShapeTable, StaticType } from './types';

/** Throws a UserError naming the node and its op type. */
export function nodeError(node: Node, message: string): never {
  throw new UserError('graph-shape', `${node.opType} node '${node.name}': ${message}`);
}

export function attrInt(node: Node, name: string, fallback: number): number {
  const a = node.attrs[name];
  if (a === undefined) return fallback;
  if (a.type !== 'int' && a.type !== 'float') nodeError(node, `attribute '${name}' must be an int, got ${a.type}`);
  return a.value;
}

export function attrFloat(node: Node, name: string, fallback: number): number {
  const a = node.attrs[name];
  if (a === undefined) return fallback;
  if (a.type !== 'float' && a.type !== 'int') nodeError(node, `attribute '${name}' must be a float, got ${a.type}`);
  return a.value;
}

export function attrInts(node: Node, name: string): number[] | undefined {
  const a = node.attrs[name];
  if (a === undefined) return undefined;
  if (a.type !== 'ints') nodeError(node, `attribute '${name}' must be ints, got ${a.type}`);
  return a.value;
}

export function attrString(node: Node, name: string, fallback: string): string {
  const a = node.attrs[name];
  if (a === undefined) return fallback;
  if (a.type !== 'string') nodeError(node, `attribute '${name}' must be a string, got ${a.type}`);
  return a.value;
}

/** The DType named by a TensorProto.DataType code (Cast's `to`), or an error naming the node. */
export function dtypeFromCode(node: Node, code: number): DType {
  const d = DTYPE_FROM_CODE.get(code);
  if (!d) nodeError(node, `unknown data type code ${code}`);
  return d;
}

/**
 * Numpy/ONNX multidirectional broadcasting: shapes are right-aligned, and along each axis the
 * sizes must be equal or one of them 1 (the result takes the other).
 */
export function broadcastShapes(shapes: readonly (readonly number[])[], node: Node): number[] {
  const rank = Math.max(0, ...shapes.map((s) => s.length));
  const out = new Array<number>(rank).fill(1);
  for (const s of shapes) {
    const offset = rank - s.length;
    for (let i = 0; i < s.length; i++) {
      const d = s[i]!;
      const cur = out[offset + i]!;
      if (d === cur || d === 1) continue;
      if (cur === 1) out[offset + i] = d;
      else nodeError(node, `cannot broadcast shapes ${shapes.map((x) => `[${x.join(',')}]`).join(' and ')}`);
    }
  }
  return out;
}

/** Input i, which must be present. */
export function requireInput(ctx: ShapeContext, i: number): StaticType {
  const t = ctx.input(i);
  if (!t) nodeError(ctx.node, `input ${i} is missing`);
  return t;
}

/** Constant values of input i, which must be known statically (shapes, axes, pads...). */
export function requireConstant(ctx: ShapeContext, i: number, what: string): number[] {
  const v = ctx.constant(i);
  if (!v) nodeError(ctx.node, `${what} (input ${i}, '${ctx.node.inputs[i]}') must be a constant for static shape inference`);
  return v;
}

export function isFloatType(dtype: DType): boolean {
  return dtype === 'float32' || dtype === 'float16' || dtype === 'bfloat16' || dtype === 'float64';
}

const sameAsInput0: ShapeFn = (ctx) => {
  const x = requireInput(ctx, 0);
  return [{ dtype: x.dtype, shape: [...x.shape] }];
};

/** All present inputs broadcast together; the dtype is `dtypeOf(first input)` */
function broadcasting(dtypeOf: (first: DType) => DType, firstDataInput = 0): ShapeFn {
  return (ctx) => {
    const shapes: number[][] = [];
    for (let i = 0; i < ctx.node.inputs.length; i++) {
      const t = ctx.input(i);
      if (t) shapes.push(t.shape);
    }
    if (shapes.length === 0) nodeError(ctx.node, 'has no inputs');
    return [{ dtype: dtypeOf(requireInput(ctx, firstDataInput).dtype), shape: broadcastShapes(shapes, ctx.node) }];
  };
}

const keepType = broadcasting((d) => d);
const toBool = broadcasting(() => 'bool');

const where: ShapeFn = (ctx) => {
  const shapes = [0, 1, 2].map((i) => requireInput(ctx, i).shape);
  return [{ dtype: requireInput(ctx, 1).dtype, shape: broadcastShapes(shapes, ctx.node) }];
};

const cast: ShapeFn = (ctx) => {
  const x = requireInput(ctx, 0);
  const to = ctx.node.attrs['to'];
  if (!to || to.type !== 'int') nodeError(ctx.node, "needs an int attribute 'to'");
  return [{ dtype: dtypeFromCode(ctx.node, to.value), shape: [...x.shape] }];
};

const unaryOps = [
  'Neg', 'Sqrt', 'Exp', 'Log', 'Erf', 'Tanh', 'Sigmoid', 'Relu', 'LeakyRelu', 'Clip', 'Cos', 'Sin', 'Abs',
  'Identity', 'Reciprocal', 'Softplus', 'Softsign', 'HardSigmoid', 'Sign', 'Floor', 'Ceil', 'Round', 'Elu', 'Selu',
  'Tan', 'Atan', 'Asin', 'Acos', 'Sinh', 'Cosh',
];
const binaryOps = ['Add', 'Sub', 'Mul', 'Div', 'Pow', 'Mod'];
const variadicOps = ['Sum', 'Max', 'Min', 'Mean'];
const comparisonOps = ['Equal', 'Less', 'Greater', 'LessOrEqual', 'GreaterOrEqual', 'And', 'Or', 'Xor'];

export const elementwiseShapes: ShapeTable = {
  ...Object.fromEntries(unaryOps.map((op) => [op, sameAsInput0])),
  ...Object.fromEntries(binaryOps.map((op) => [op, keepType])),
  ...Object.fromEntries(variadicOps.map((op) => [op, keepType])),
  ...Object.fromEntries(comparisonOps.map((op) => [op, toBool])),
  Not: (ctx) => [{ dtype: 'bool', shape: [...requireInput(ctx, 0).shape] }],
  IsNaN: (ctx) => [{ dtype: 'bool', shape: [...requireInput(ctx, 0).shape] }],
  IsInf: (ctx) => [{ dtype: 'bool', shape: [...requireInput(ctx, 0).shape] }],
  Where: where,
  Cast: cast,
};
