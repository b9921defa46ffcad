// Shared plumbing for graph passes: copy a model without touching the caller's, and rewrite
// chosen nodes in place (replacement nodes go where the original stood, so the node list stays
// in topological order).

import { GraphBuilder } from '../builder';
import { defaultOpset, type Graph, type Model, type Node } from '../ir';

/** A copy whose graph containers can be edited freely; nodes and tensors are shared. */
export function copyModel(model: Model): Model {
  const g = model.graph;
  const graph: Graph = {
    ...g,
    nodes: [...g.nodes],
    inputs: g.inputs.map((v) => ({ ...v, shape: v.shape ? [...v.shape] : undefined })),
    outputs: g.outputs.map((v) => ({ ...v, shape: v.shape ? [...v.shape] : undefined })),
    initializers: new Map(g.initializers),
    valueInfo: new Map(g.valueInfo),
  };
  return { ...model, opsetImports: model.opsetImports.map((o) => ({ ...o })), metadata: { ...model.metadata }, graph };
}

export interface RewriteContext {
  /** appends nodes to the rewritten graph (at the current position) and names things uniquely */
  b: GraphBuilder;
  opset: number;
  model: Model;
}

/**
 * Calls `rewrite` for each node in order. When it returns true it has emitted replacement nodes
 * through `ctx.b` (producing the node's output names); otherwise the node is kept as it is.
 */
export function rewriteNodes(model: Model, rewrite: (node: Node, ctx: RewriteContext) => boolean): Model {
  const out = copyModel(model);
  const original = out.graph.nodes;
  out.graph.nodes = [];
  const b = new GraphBuilder(out.graph.name, { graph: out.graph, opsetImports: out.opsetImports });
  for (const node of original) {
    if (node.name) b.reserve(node.name);
    for (const o of node.outputs) if (o) b.reserve(o);
  }
  const ctx: RewriteContext = { b, opset: defaultOpset(model), model: out };
  for (const node of original) if (!rewrite(node, ctx)) out.graph.nodes.push(node);
  out.opsetImports = b.opsetImports;
  return out;
}

/** Fails with the node named when a pass meets something it cannot handle. */
export class PassError extends Error {
  constructor(pass: string, node: Node, problem: string) {
    super(`${pass}: node '${node.name || node.outputs[0]}' (${node.domain ? `${node.domain}.` : ''}${node.opType}): ${problem}`);
    this.name = 'PassError';
  }
}

/** ReduceMean over `axes`, keeping dims, in the form the model's opset wants (input from 18). */
export function reduceMean(ctx: RewriteContext, x: string, axes: number[]): string {
  if (ctx.opset >= 18) return ctx.b.op('ReduceMean', [x, ctx.b.ints(axes)], { keepdims: 1 });
  return ctx.b.op('ReduceMean', [x], { axes, keepdims: 1 });
}

/** ReduceSum over `axes` without keeping them (axes became an input at opset 13). */
export function reduceSum(ctx: RewriteContext, x: string, axes: number[], keepdims = 0): string {
  if (ctx.opset >= 13) return ctx.b.op('ReduceSum', [x, ctx.b.ints(axes)], { keepdims });
  return ctx.b.op('ReduceSum', [x], { axes, keepdims });
}

export function unsqueeze(ctx: RewriteContext, x: string, axes: number[]): string {
  if (ctx.opset >= 13) return ctx.b.op('Unsqueeze', [x, ctx.b.ints(axes)]);
  return ctx.b.op('Unsqueeze', [x], { axes });
}

export function squeeze(ctx: RewriteContext, x: string, axes: number[], output?: string): string {
  const opts = output ? { output } : {};
  if (ctx.opset >= 13) return ctx.b.op('Squeeze', [x, ctx.b.ints(axes)], {}, opts);
  return ctx.b.op('Squeeze', [x], { axes }, opts);
}
