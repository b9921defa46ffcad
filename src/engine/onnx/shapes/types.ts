// Contract between the static shape-inference pass and the per-op shape functions.
// Shapes here are fully static (numbers): DefectForge specialises every graph to fixed input
// shapes before inferring, differentiating or running it.

import type { DType, Node } from '../ir';

export interface StaticType {
  dtype: DType;
  shape: number[];
}

export interface ShapeContext {
  node: Node;
  /** default-domain opset of the model */
  opset: number;
  /** type of input i; undefined when the input is omitted ('') or out of range */
  input(i: number): StaticType | undefined;
  /** the values of input i when it is a constant (initializer or folded), else undefined */
  constant(i: number): number[] | undefined;
}

/** Returns the type of every output of the node, in order. Throws with the node's name on bad input. */
export type ShapeFn = (ctx: ShapeContext) => StaticType[];

/** Keyed by op type for the default domain, or 'domain::OpType' for other domains. */
export type ShapeTable = Record<string, ShapeFn>;
