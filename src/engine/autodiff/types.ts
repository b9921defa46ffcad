// Contract between the reverse-mode graph walk (./gradient.ts) and the gradient rules (./rules/*).
// A rule sees one forward node, the gradients flowing into its outputs, and a builder to emit
// standard ONNX ops; it returns the gradient of the loss with respect to each input.

import type { GraphBuilder } from '../onnx/builder';
import type { DType, Node } from '../onnx/ir';

/**
 * Choices between gradient constructions that are equal in exact arithmetic and differ in speed
 * and rounding. The defaults (DEFAULT_RULE_VARIANTS) are the fastest; a trainer that must
 * reproduce weights trained earlier bit for bit pins the constructions they were trained with
 * (tiny-ldm's TrainPlan.ruleVariants).
 */
export interface RuleVariants {
  /**
   * The weight gradient of a 2-D stride-1 Conv whose windows are as wide as its input ('same'
   * width) cuts its im2col taps from the images' unpadded flat rows (rules/conv.ts,
   * flatRowsIm2col; since session 12); false: from padded rows, the layout before it.
   */
  flatRows: boolean;
}

export const DEFAULT_RULE_VARIANTS: Readonly<RuleVariants> = { flatRows: true };

export interface GradContext {
  /** emits ops into the combined forward+backward graph */
  b: GraphBuilder;
  node: Node;
  /** default-domain opset of the forward model */
  opset: number;
  /** which of the equivalent constructions the rules emit */
  variants: Readonly<RuleVariants>;
  /** static shape of any forward value (inputs, outputs, initializers) */
  shape(value: string): number[];
  dtype(value: string): DType;
  /** values of a constant forward value (initializer or folded), else undefined */
  constant(value: string): number[] | undefined;
  /** gradient flowing into output i, or undefined when no gradient reaches it */
  gradOutput(i: number): string | undefined;
  /** true when input i lies on a path to a tensor we differentiate with respect to */
  needsGrad(i: number): boolean;
}

/**
 * Returns one entry per node input: the gradient's value name, or undefined when the input
 * needs none (or receives zero gradient). Returned gradients must have the input's exact shape
 * (rules unbroadcast themselves, see ./unbroadcast.ts).
 */
export type GradRule = (ctx: GradContext) => (string | undefined)[];

export interface RuleEntry {
  opType: string;
  /** '' for the default ONNX domain */
  domain?: string;
  /** inclusive opset range this entry applies to (default: all) */
  sinceOpset?: number;
  untilOpset?: number;
  /** a rule, or 'no-gradient' for ops through which no gradient flows (Shape, integer ops, ArgMax...) */
  rule: GradRule | 'no-gradient';
}
