// Multi-node gradient patterns: a few forward nodes whose joint backward is cheaper than the
// chain of their single-node rules (fewer full-size passes, no fan-in Sum).
//
// The walk (../gradient.ts) tries the patterns at each node it visits in reverse order, before
// the node's own rule; that node is the pattern's ANCHOR, the one producing its outputs. A match
// names the nodes it covers and a virtual node standing for them (the pattern's external inputs
// and the anchor's outputs). The walk accepts a match only when every value produced inside the
// pattern (an output of a covered node other than the anchor) is read by covered nodes alone
// and is not the loss, so that the anchor's output gradients are all the gradient there is; it
// then calls the pattern's rule with the virtual node as ctx.node, checks the gradients like a
// rule's, and skips the covered nodes when it reaches them.
import { isDefaultDomain, type Node } from '../../onnx/ir';
import { normEpsilon } from '../../onnx/shapes/nn';
import type { GradContext } from '../types';
import { reduceMean, reduceSum, reshape, scalarOf } from '../unbroadcast';

/** What a matcher may ask about the forward graph. */
export interface GraphView {
  /** the node producing a value, or undefined for graph inputs and initializers */
  producer(value: string): Node | undefined;
  /** the nodes reading a value (a node reading it twice is listed once) */
  consumers(value: string): readonly Node[];
  /** static shape of a value */
  shape(value: string): readonly number[];
  /** values of a constant (initializer or folded), else undefined */
  constant(value: string): number[] | undefined;
}

export interface PatternMatch {
  /** every forward node the pattern covers, the anchor included */
  nodes: Node[];
  /** the virtual node the rule differentiates: opType = the pattern's name, the anchor's name */
  node: Node;
  /** forward values inside the pattern that the rule reads, by role */
  values: Record<string, string>;
}

export interface PatternEntry {
  name: string;
  /** op type of the anchor (default ONNX domain) */
  anchor: string;
  match(anchor: Node, view: GraphView): PatternMatch | undefined;
  /** gradients of the virtual node's inputs, as a GradRule's */
  rule(ctx: GradContext, match: PatternMatch): (string | undefined)[];
}

const isOp = (node: Node | undefined, opType: string): node is Node => node !== undefined && node.opType === opType && isDefaultDomain(node.domain);

/**
 * SiLU y = x * s, s = Sigmoid(x) (src/engine/nn/activation.ts writes it as the pair). With the
 * single-node rules x gets g*s from the Mul and (g*x) * s(1-s) from the Sigmoid, added by a Sum:
 * six full-size passes. Jointly,
 *   dy/dx = s + x s (1 - s) = s + y (1 - s),
 * four passes: Sub, Mul, Add, Mul (y is the forward's own output, nothing is recomputed).
 * In an inference graph ORT fuses the pair into one QuickGelu kernel (all 15 SiLUs of the bench
 * UNet); here s feeds the backward, so the training graph's forward keeps Sigmoid + Mul. Taking
 * s from a second Sigmoid in the backward instead would let the forward fuse, but moves the pass
 * rather than saving it (QuickGelu costs what Sigmoid does: both are the exp).
 */
export const siluPattern: PatternEntry = {
  name: 'SiLU',
  anchor: 'Mul',
  match(anchor, view) {
    const [a, c] = anchor.inputs;
    if (!a || !c || anchor.outputs.length !== 1) return undefined;
    for (const [x, s] of [
      [a, c],
      [c, a],
    ] as const) {
      const sigmoid = view.producer(s);
      if (isOp(sigmoid, 'Sigmoid') && sigmoid.inputs[0] === x && x !== s) {
        return { nodes: [sigmoid, anchor], node: { ...anchor, opType: 'SiLU', domain: '', inputs: [x], outputs: [...anchor.outputs] }, values: { sigmoid: s } };
      }
    }
    return undefined;
  },
  rule(ctx, match) {
    const g = ctx.gradOutput(0);
    if (g === undefined || !ctx.needsGrad(0)) return [undefined];
    const { b } = ctx;
    const y = match.node.outputs[0]!;
    const s = match.values.sigmoid!;
    const one = scalarOf(b, 1, ctx.dtype(y));
    const slope = b.op('Add', [s, b.op('Mul', [y, b.op('Sub', [one, s])])]);
    return [b.op('Mul', [g, slope])];
  },
};

const sameShape = (a: readonly number[], b: readonly number[]): boolean => a.length === b.length && a.every((d, i) => d === b[i]);

/** A per-channel parameter of an NC... tensor: C elements on axis 1 once right-aligned, ones elsewhere. */
function isChannelParam(shape: readonly number[], xShape: readonly number[]): boolean {
  const lead = xShape.length - shape.length;
  return lead >= 0 && lead <= 1 && shape.every((d, i) => (i + lead === 1 ? d === xShape[1] : d === 1));
}

/** The other input of a two-input node, when `known` is one of them (either order). */
function otherInput(node: Node, known: (v: string) => boolean): [string, string] | undefined {
  const [a, c] = node.inputs;
  if (!a || !c || node.inputs.length !== 2) return undefined;
  if (known(a)) return [a, c];
  if (known(c)) return [c, a];
  return undefined;
}

/**
 * GroupNorm as src/engine/nn/norm.ts (and exporters) write it:
 *   grouped = Reshape(x, [N, G, M]);  normed = InstanceNormalization(grouped, 1, 0);
 *   xhat = Reshape(normed, shape(x));  y = xhat * gamma + beta   (gamma, beta per channel)
 * With g = dL/dy, over the M = (C/G)*S elements of a group (S spatial positions), r = 1/std:
 *   dbeta = sum_{n,s} g,   dgamma = sum_{n,s} g xhat,
 *   dx = r (gamma g - mean(gamma g) - xhat mean(gamma g xhat))          (norm.ts's core)
 * and both group means follow from the per-(n, c) sums the parameter gradients need anyway:
 *   T1[n,c] = sum_s g,  T2[n,c] = sum_s g xhat,  mean(gamma g) = sum_{c in group} gamma_c T1 / M,
 * likewise with T2. So dx = A g - (B xhat + D), with per-(n, c) A = r gamma and per-(n, group)
 * B = r mean(gamma g xhat), D = r mean(gamma g): 8 full-size passes (T1; g xhat and T2; r from
 * mean(x xhat) as norm.ts's rstdFromStandardised; three for dx: A g, B xhat + D in one
 * BatchNormalization (groupAffine), the difference) against 13 for the Add, Mul and
 * InstanceNormalization rules one after the other.
 * Tried and dropped (session 4): the sums of products (T2, and S for r) as batched dots, a MatMul
 * [N*C, 1, M] x [N*C, M, 1] or an Einsum 'ncij,ncij->nc', which write no full-size product:
 * 5-7x slower than Mul + ReduceSum in ORT 1.30 CPU (0.93 against 0.14 ms at [4, 96, 32, 32]; one
 * GEMM call per row).
 */
export const groupNormPattern: PatternEntry = {
  name: 'GroupNorm',
  anchor: 'Add',
  match(anchor, view) {
    const producedBy = (op: string) => (v: string) => isOp(view.producer(v), op);
    const add = otherInput(anchor, producedBy('Mul'));
    if (!add || anchor.outputs.length !== 1) return undefined;
    const [scaled, beta] = add;
    const mul = view.producer(scaled)!;
    const affine = otherInput(mul, producedBy('Reshape'));
    if (!affine) return undefined;
    const [xhat, gamma] = affine;
    const back = view.producer(xhat)!;
    const norm = view.producer(back.inputs[0]!);
    if (!isOp(norm, 'InstanceNormalization')) return undefined;
    const [normedIn, scale, bias] = norm.inputs;
    const split = normedIn ? view.producer(normedIn) : undefined;
    if (!isOp(split, 'Reshape') || !scale || !bias) return undefined;
    const ones = view.constant(scale);
    const zeros = view.constant(bias);
    if (!ones?.every((v) => v === 1) || !zeros?.every((v) => v === 0)) return undefined;
    const x = split.inputs[0]!;
    const xShape = view.shape(x);
    if (xShape.length < 3 || !sameShape(view.shape(xhat), xShape) || !sameShape(view.shape(anchor.outputs[0]!), xShape)) return undefined;
    const grouped = view.shape(normedIn!);
    const [n, c] = xShape as [number, number];
    const groups = grouped[1]!;
    const perGroup = (c / groups) * xShape.slice(2).reduce((a, d) => a * d, 1);
    if (grouped.length !== 3 || grouped[0] !== n || c % groups !== 0 || grouped[2] !== perGroup) return undefined;
    if (!isChannelParam(view.shape(gamma), xShape) || !isChannelParam(view.shape(beta), xShape)) return undefined;
    return {
      nodes: [split, norm, back, mul, anchor],
      node: { ...anchor, opType: 'GroupNorm', domain: '', inputs: [x, gamma, beta], outputs: [...anchor.outputs] },
      values: { grouped: normedIn!, normed: norm.outputs[0]!, xhat },
    };
  },
  rule(ctx, match) {
    const g = ctx.gradOutput(0);
    const grads: (string | undefined)[] = [undefined, undefined, undefined];
    if (g === undefined) return grads;
    const { b } = ctx;
    const [x, gamma, beta] = match.node.inputs as [string, string, string];
    const { grouped, normed, xhat } = match.values as { grouped: string; normed: string; xhat: string };
    const xShape = ctx.shape(x);
    const [n, c] = xShape as [number, number];
    const [, groups, perGroup] = ctx.shape(grouped) as [number, number, number];
    const dtype = ctx.dtype(x);
    const spatial = xShape.slice(2).map((_, i) => i + 2);
    const perChannel = [n, c, ...spatial.map(() => 1)];
    // per-(n, c) sums over the spatial positions; the parameter gradients sum them over n
    const t1 = ctx.needsGrad(0) || ctx.needsGrad(2) ? reduceSum(ctx, g, spatial, true) : undefined;
    const t2 = ctx.needsGrad(0) || ctx.needsGrad(1) ? reduceSum(ctx, b.op('Mul', [g, xhat]), spatial, true) : undefined;
    if (ctx.needsGrad(1)) grads[1] = reshape(b, reduceSum(ctx, t2!, [0], true), ctx.shape(gamma));
    if (ctx.needsGrad(2)) grads[2] = reshape(b, reduceSum(ctx, t1!, [0], true), ctx.shape(beta));
    if (!ctx.needsGrad(0)) return grads;
    const eps = normEpsilon(match.nodes.find((nd) => nd.opType === 'InstanceNormalization')!);
    // r from S = mean(x xhat) = 1/r - eps r (norm.ts, rstdFromStandardised): r = 2 / (S + sqrt(S^2 + 4 eps))
    const s = reduceMean(ctx, b.op('Mul', [grouped, normed]), [2], true);
    const root = b.op('Sqrt', [b.op('Add', [b.op('Mul', [s, s]), scalarOf(b, 4 * eps, dtype)])]);
    const rstd = b.op('Div', [scalarOf(b, 2, dtype), b.op('Add', [s, root])]); // [N, G, 1]
    const gammaGrouped = reshape(b, gamma, [1, groups, c / groups]);
    // sum_{c in group} gamma_c T[n, c], times r / M: [N, G, 1]
    const rOverM = b.op('Mul', [rstd, scalarOf(b, 1 / perGroup, dtype)]);
    const groupMean = (t: string): string => b.op('Mul', [reduceSum(ctx, b.op('Mul', [reshape(b, t, [n, groups, c / groups]), gammaGrouped]), [2], true), rOverM]);
    const coefB = groupMean(t2!);
    const coefD = groupMean(t1!);
    const coefA = reshape(b, b.op('Mul', [rstd, gammaGrouped]), perChannel); // [N, C, 1...]
    const scaledGrad = reshape(b, b.op('Mul', [g, coefA]), [n, groups, perGroup]);
    const dx = b.op('Sub', [scaledGrad, groupAffine(ctx, normed, coefB, coefD, [n, groups, perGroup])]);
    grads[0] = reshape(b, dx, xShape);
    return grads;
  },
};

/**
 * scale * v + bias for v [N, G, M] and per-(n, g) scale and bias [N, G, 1]: one
 * BatchNormalization pass over v viewed as [1, N*G, M] (mean 0, variance 1, epsilon 0, so that it
 * computes exactly scale * v + bias), where a Mul and an Add take two (ORT 1.30 CPU, 1 thread,
 * [4, 32, 1024]: 0.018 ms against 0.017 + 0.018 ms). Before opset 9 (BatchNormalization's
 * 'spatial' attribute) the Mul and the Add.
 */
function groupAffine(ctx: GradContext, v: string, scale: string, bias: string, shape: readonly [number, number, number]): string {
  const { b } = ctx;
  if (ctx.opset < 9) return b.op('Add', [b.op('Mul', [v, scale]), bias]);
  const [n, groups, perGroup] = shape;
  const rows = n * groups;
  const dtype = ctx.dtype(v);
  const fill = (value: number): string => b.op('Expand', [scalarOf(b, value, dtype), b.ints([rows])]);
  const flat = (c: string): string => reshape(b, c, [rows]);
  const out = b.op('BatchNormalization', [reshape(b, v, [1, rows, perGroup]), flat(scale), flat(bias), fill(0), fill(1)], { epsilon: 0 });
  return reshape(b, out, shape);
}

/** THE pattern table, tried in order. */
export const gradientPatterns: readonly PatternEntry[] = [siluPattern, groupNormPattern];
