// Gradient rules for elementwise ops. Notation: y = f(a, b, ...), g = dL/dy; each rule returns
// dL/d(input) = g * (partial derivative), unbroadcast to the input's shape.
import { attrFloat } from '../../onnx/shapes/elementwise';
import type { GradContext, GradRule, RuleEntry } from '../types';
import { scalarOf, unbroadcast } from '../unbroadcast';

/** Names and shapes a rule needs: inputs, the output, the incoming gradient. */
function parts(ctx: GradContext): { x: string[]; y: string; g: string; yShape: number[] } {
  const g = ctx.gradOutput(0);
  if (g === undefined) throw new Error('no gradient reaches the output');
  const y = ctx.node.outputs[0]!;
  return { x: ctx.node.inputs, y, g, yShape: ctx.shape(y) };
}

/** `grad` (shaped like the output) reduced to input i's shape, or undefined when i needs none. */
function toInput(ctx: GradContext, i: number, grad: () => string): string | undefined {
  if (!ctx.needsGrad(i)) return undefined;
  const y = ctx.node.outputs[0]!;
  return unbroadcast(ctx, grad(), ctx.shape(y), ctx.shape(ctx.node.inputs[i]!));
}

const op = (ctx: GradContext, type: string, ...inputs: string[]): string => ctx.b.op(type, inputs);
const scalar = (ctx: GradContext, v: number): string => scalarOf(ctx.b, v, ctx.dtype(ctx.node.outputs[0]!));

/** A unary rule: dL/dx = g * d(x, y, g) where `d` builds the local derivative times g. */
function unary(derivative: (ctx: GradContext, x: string, y: string, g: string) => string): GradRule {
  return (ctx) => {
    const { x, y, g } = parts(ctx);
    return [ctx.needsGrad(0) ? derivative(ctx, x[0]!, y, g) : undefined];
  };
}

/** g where mask holds, 0 elsewhere (mask broadcasts against g) */
const gate = (ctx: GradContext, mask: string, g: string): string => op(ctx, 'Where', mask, g, scalar(ctx, 0));

const add: GradRule = (ctx) => {
  const { g } = parts(ctx);
  return [toInput(ctx, 0, () => g), toInput(ctx, 1, () => g)];
};

const sub: GradRule = (ctx) => {
  const { g } = parts(ctx);
  return [toInput(ctx, 0, () => g), toInput(ctx, 1, () => op(ctx, 'Neg', g))];
};

const mul: GradRule = (ctx) => {
  const { x, g } = parts(ctx);
  return [toInput(ctx, 0, () => op(ctx, 'Mul', g, x[1]!)), toInput(ctx, 1, () => op(ctx, 'Mul', g, x[0]!))];
};

// y = a / b: dy/da = 1/b, dy/db = -a/b^2 = -y/b
const div: GradRule = (ctx) => {
  const { x, y, g } = parts(ctx);
  return [toInput(ctx, 0, () => op(ctx, 'Div', g, x[1]!)), toInput(ctx, 1, () => op(ctx, 'Neg', op(ctx, 'Div', op(ctx, 'Mul', g, y), x[1]!)))];
};

// y = a^e: dy/da = e * a^(e-1), dy/de = y * ln(a) (a > 0 where the exponent is differentiated)
const pow: GradRule = (ctx) => {
  const { x, y, g } = parts(ctx);
  const [a, e] = [x[0]!, x[1]!];
  const dtype = ctx.dtype(a);
  return [
    toInput(ctx, 0, () => {
      const ef = ctx.dtype(e) === dtype ? e : ctx.b.op('Cast', [e], { to: codeOf(dtype) });
      const local = op(ctx, 'Mul', ef, op(ctx, 'Pow', a, op(ctx, 'Sub', ef, scalar(ctx, 1))));
      return op(ctx, 'Mul', g, local);
    }),
    toInput(ctx, 1, () => op(ctx, 'Mul', g, op(ctx, 'Mul', y, op(ctx, 'Log', a)))),
  ];
};

const DTYPE_CODES = { float32: 1, float16: 10, float64: 11, bfloat16: 16 } as Record<string, number>;
function codeOf(dtype: string): number {
  const c = DTYPE_CODES[dtype];
  if (c === undefined) throw new Error(`no floating dtype code for ${dtype}`);
  return c;
}

// Clip: y = min(max(x, lo), hi). dy/dx = 1 strictly inside (lo, hi); dy/dlo = 1 where x < lo,
// dy/dhi = 1 where x > hi (lo and hi are inputs from opset 11, attributes before).
const clip: GradRule = (ctx) => {
  const { x, g } = parts(ctx);
  const input = x[0]!;
  let lo: string | undefined;
  let hi: string | undefined;
  if (ctx.opset >= 11) {
    lo = x[1] || undefined;
    hi = x[2] || undefined;
  } else {
    const min = attrFloat(ctx.node, 'min', -Infinity);
    const max = attrFloat(ctx.node, 'max', Infinity);
    lo = Number.isFinite(min) ? scalar(ctx, min) : undefined;
    hi = Number.isFinite(max) ? scalar(ctx, max) : undefined;
  }
  const result: (string | undefined)[] = [undefined, undefined, undefined];
  if (ctx.needsGrad(0)) {
    let mask: string | undefined;
    if (lo) mask = op(ctx, 'Greater', input, lo);
    if (hi) {
      const below = op(ctx, 'Less', input, hi);
      mask = mask ? op(ctx, 'And', mask, below) : below;
    }
    result[0] = mask ? gate(ctx, mask, g) : g;
  }
  const { yShape } = parts(ctx);
  const boundGrad = (i: number, outside: string): void => {
    if (!ctx.needsGrad(i)) return;
    result[i] = unbroadcast(ctx, gate(ctx, outside, g), yShape, ctx.shape(x[i]!));
  };
  if (ctx.opset >= 11 && lo) boundGrad(1, op(ctx, 'Less', input, lo));
  if (ctx.opset >= 11 && hi) boundGrad(2, op(ctx, 'Greater', input, hi));
  return result;
};

// Where(c, a, b): the gradient goes to a where c holds and to b elsewhere; c is boolean.
const where: GradRule = (ctx) => {
  const { x, g } = parts(ctx);
  const zero = scalar(ctx, 0);
  return [undefined, toInput(ctx, 1, () => op(ctx, 'Where', x[0]!, g, zero)), toInput(ctx, 2, () => op(ctx, 'Where', x[0]!, zero, g))];
};

// Cast between floating types: the gradient is cast back to the input's type.
const cast: GradRule = (ctx) => {
  const { x, g } = parts(ctx);
  return [ctx.needsGrad(0) ? ctx.b.op('Cast', [g], { to: codeOf(ctx.dtype(x[0]!)) }) : undefined];
};

// Sum(x1..xn) broadcasts: every input gets g, reduced to its shape.
const sum: GradRule = (ctx) => {
  const { g } = parts(ctx);
  return ctx.node.inputs.map((_, i) => toInput(ctx, i, () => g));
};

// Max/Min: the gradient goes to the input that supplied the result; on ties to the first such input
// (so the gradients add up to g, as for a single max).
function selectByValue(ctx: GradContext): (string | undefined)[] {
  const { x, y, g } = parts(ctx);
  let taken: string | undefined;
  return x.map((input, i) => {
    const supplies = op(ctx, 'Equal', input, y);
    const mine = taken ? op(ctx, 'And', supplies, op(ctx, 'Not', taken)) : supplies;
    taken = taken ? op(ctx, 'Or', taken, mine) : mine;
    return toInput(ctx, i, () => gate(ctx, mine, g));
  });
}

// Erf'(x) = 2/sqrt(pi) * exp(-x^2)
const erf = unary((ctx, x, _y, g) => op(ctx, 'Mul', g, op(ctx, 'Mul', scalar(ctx, 2 / Math.sqrt(Math.PI)), op(ctx, 'Exp', op(ctx, 'Neg', op(ctx, 'Mul', x, x))))));

// HardSigmoid: y = max(0, min(1, alpha x + beta)); slope alpha where 0 < alpha x + beta < 1
const hardSigmoid = unary((ctx, x, _y, g) => {
  const alpha = attrFloat(ctx.node, 'alpha', 0.2);
  const beta = attrFloat(ctx.node, 'beta', 0.5);
  const z = op(ctx, 'Add', op(ctx, 'Mul', x, scalar(ctx, alpha)), scalar(ctx, beta));
  const inside = op(ctx, 'And', op(ctx, 'Greater', z, scalar(ctx, 0)), op(ctx, 'Less', z, scalar(ctx, 1)));
  return gate(ctx, inside, op(ctx, 'Mul', g, scalar(ctx, alpha)));
});

export const elementwiseRules: RuleEntry[] = [
  { opType: 'Add', rule: add },
  { opType: 'Sub', rule: sub },
  { opType: 'Mul', rule: mul },
  { opType: 'Div', rule: div },
  { opType: 'Pow', rule: pow },
  { opType: 'Neg', rule: unary((ctx, _x, _y, g) => op(ctx, 'Neg', g)) },
  { opType: 'Identity', rule: unary((_ctx, _x, _y, g) => g) },
  // sqrt'(x) = 1 / (2 sqrt(x)) = 0.5 / y
  { opType: 'Sqrt', rule: unary((ctx, _x, y, g) => op(ctx, 'Div', op(ctx, 'Mul', g, scalar(ctx, 0.5)), y)) },
  { opType: 'Exp', rule: unary((ctx, _x, y, g) => op(ctx, 'Mul', g, y)) },
  { opType: 'Log', rule: unary((ctx, x, _y, g) => op(ctx, 'Div', g, x)) },
  { opType: 'Erf', rule: erf },
  // tanh' = 1 - y^2
  { opType: 'Tanh', rule: unary((ctx, _x, y, g) => op(ctx, 'Mul', g, op(ctx, 'Sub', scalar(ctx, 1), op(ctx, 'Mul', y, y)))) },
  // sigmoid' = y (1 - y)
  { opType: 'Sigmoid', rule: unary((ctx, _x, y, g) => op(ctx, 'Mul', g, op(ctx, 'Mul', y, op(ctx, 'Sub', scalar(ctx, 1), y)))) },
  { opType: 'Relu', rule: unary((ctx, x, _y, g) => gate(ctx, op(ctx, 'Greater', x, scalar(ctx, 0)), g)) },
  {
    opType: 'LeakyRelu',
    rule: unary((ctx, x, _y, g) => op(ctx, 'Where', op(ctx, 'Greater', x, scalar(ctx, 0)), g, op(ctx, 'Mul', g, scalar(ctx, attrFloat(ctx.node, 'alpha', 0.01))))),
  },
  { opType: 'Clip', rule: clip },
  { opType: 'Cos', rule: unary((ctx, x, _y, g) => op(ctx, 'Neg', op(ctx, 'Mul', g, op(ctx, 'Sin', x)))) },
  { opType: 'Sin', rule: unary((ctx, x, _y, g) => op(ctx, 'Mul', g, op(ctx, 'Cos', x))) },
  { opType: 'Abs', rule: unary((ctx, x, _y, g) => op(ctx, 'Mul', g, op(ctx, 'Sign', x))) },
  // (1/x)' = -1/x^2 = -y^2
  { opType: 'Reciprocal', rule: unary((ctx, _x, y, g) => op(ctx, 'Neg', op(ctx, 'Mul', g, op(ctx, 'Mul', y, y)))) },
  // softplus(x) = ln(1 + e^x); softplus' = sigmoid(x)
  { opType: 'Softplus', rule: unary((ctx, x, _y, g) => op(ctx, 'Mul', g, op(ctx, 'Sigmoid', x))) },
  { opType: 'HardSigmoid', rule: hardSigmoid },
  { opType: 'Where', rule: where },
  { opType: 'Cast', rule: cast },
  { opType: 'Sum', rule: sum },
  // the masks compare floats with Equal, which takes floats from opset 11
  { opType: 'Max', sinceOpset: 11, rule: selectByValue },
  { opType: 'Min', sinceOpset: 11, rule: selectByValue },
];
