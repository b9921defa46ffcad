// Reverse-mode differentiation of an ONNX graph into ONE ordinary ONNX graph holding the forward
// pass, the loss and the backward pass, made of standard ops only (onnxruntime-node has no
// training build). The walk:
//   1. infer static shapes (rules need them) on a copy of the model;
//   2. keep only nodes on a path from a `wrt` tensor to the loss (through floating-point values:
//      integer and boolean values carry no gradient);
//   3. seed dL/dloss = 1 and visit those nodes in reverse topological order, asking each op's rule
//      for the gradients of its inputs; several contributions to one value are added (Add, Sum);
//      at each node the multi-node patterns (rules/patterns.ts) are tried first: a match covers
//      a few forward nodes with one joint backward, and the walk skips the nodes it covered;
//   4. expose the loss and `${wrt}_grad` for every wrt tensor as the graph outputs.
import { UserError } from '../../shared/errors';
import { GraphBuilder } from '../onnx/builder';
import { defaultOpset, isDefaultDomain, numElements, topologicalOrder, type Graph, type Model, type Node } from '../onnx/ir';
import { inferShapes, type ShapeInfo } from '../onnx/shape-inference';
import { isFloatType } from '../onnx/shapes/elementwise';
import { gradientPatterns, type GraphView, type PatternEntry, type PatternMatch } from './rules/patterns';
import { findRule } from './table';
import { DEFAULT_RULE_VARIANTS, type GradContext, type GradRule, type RuleEntry, type RuleVariants } from './types';
import { reshape, scalarOf, zerosOf } from './unbroadcast';

export interface GradientOptions {
  /** the scalar (rank 0 or one element) floating-point value to differentiate */
  loss: string;
  /** graph inputs and/or initializers to differentiate with respect to */
  wrt: string[];
  /** forward values to keep as outputs after the loss and the gradients (e.g. predictions) */
  keepOutputs?: string[];
  /** entries consulted before the gradient table: for tests (deliberately broken rules) and experiments */
  rules?: readonly RuleEntry[];
  /**
   * the multi-node patterns to try (default: rules/patterns.ts's table; [] = single-node rules
   * only). A matching pattern takes precedence over the rules of the nodes it covers, `rules`
   * overrides included: pass [] to exercise those rules on such nodes.
   */
  patterns?: readonly PatternEntry[];
  /** constructions to use where several are exact (default: DEFAULT_RULE_VARIANTS, the fastest) */
  variants?: Partial<RuleVariants>;
}

export interface GradientResult {
  /** a new model: forward + backward; outputs are the loss, then each wrt's gradient, then keepOutputs */
  model: Model;
  /** wrt name -> its gradient's output name (`${wrt}_grad`) */
  gradNames: Record<string, string>;
  /** e.g. a wrt tensor that does not influence the loss (its gradient is zeros) */
  warnings: string[];
  /** static types and constants of every value of the new model */
  shapes: ShapeInfo;
}

function autodiffError(message: string): never {
  throw new UserError('autodiff', message);
}

function copyModel(model: Model): Model {
  const g = model.graph;
  const graph: Graph = {
    ...g,
    nodes: [...g.nodes],
    inputs: g.inputs.map((v) => ({ ...v })),
    outputs: g.outputs.map((v) => ({ ...v })),
    initializers: new Map(g.initializers),
    valueInfo: new Map(g.valueInfo),
  };
  return { ...model, opsetImports: model.opsetImports.map((o) => ({ ...o })), metadata: { ...model.metadata }, graph };
}

/** Producers and consumers of the forward graph's values, for the pattern matchers. */
function graphView(nodes: readonly Node[], shapes: ShapeInfo): GraphView {
  const producers = new Map<string, Node>();
  const consumers = new Map<string, Node[]>();
  for (const node of nodes) {
    for (const o of node.outputs) if (o) producers.set(o, node);
    for (const v of new Set(node.inputs)) {
      if (!v) continue;
      const list = consumers.get(v);
      if (list) list.push(node);
      else consumers.set(v, [node]);
    }
  }
  return {
    producer: (v) => producers.get(v),
    consumers: (v) => consumers.get(v) ?? [],
    shape: (v) => shapes.type(v).shape,
    constant: (v) => shapes.constant(v),
  };
}

/**
 * The first pattern matching at `anchor` whose inside values feed only its own nodes (so that the
 * anchor's output gradients are the whole gradient of the pattern) and none of whose nodes is
 * covered already; undefined when none does.
 */
function matchPattern(anchor: Node, patterns: readonly PatternEntry[], view: GraphView, covered: ReadonlySet<Node>, loss: string): { entry: PatternEntry; match: PatternMatch } | undefined {
  if (!isDefaultDomain(anchor.domain)) return undefined;
  for (const entry of patterns) {
    if (entry.anchor !== anchor.opType) continue;
    const match = entry.match(anchor, view);
    if (!match) continue;
    const inside = new Set(match.nodes);
    if (!inside.has(anchor) || match.nodes.some((nd) => covered.has(nd))) continue;
    const sealed = match.nodes.every(
      (nd) => nd === anchor || nd.outputs.every((o) => !o || (o !== loss && view.consumers(o).every((c) => inside.has(c)))),
    );
    if (sealed) return { entry, match };
  }
  return undefined;
}

function ruleFor(node: Node, opset: number, overrides: readonly RuleEntry[] | undefined): RuleEntry | undefined {
  const domain = isDefaultDomain(node.domain) ? '' : node.domain;
  const override = overrides?.find(
    (e) => e.opType === node.opType && (e.domain ?? '') === domain && (e.sinceOpset ?? 0) <= opset && opset <= (e.untilOpset ?? Infinity),
  );
  return override ?? findRule(node.opType, domain, opset);
}

export function buildGradientGraph(model: Model, options: GradientOptions): GradientResult {
  const out = copyModel(model);
  const graph = out.graph;
  const opset = defaultOpset(out);
  const shapes = inferShapes(out);
  const warnings: string[] = [];

  // ---- validate the request ----
  const { loss, wrt } = options;
  if (!shapes.has(loss)) autodiffError(`graph '${graph.name}': loss '${loss}' is not a value of the graph`);
  const lossType = shapes.type(loss);
  if (!isFloatType(lossType.dtype) || lossType.dtype === 'bfloat16') autodiffError(`loss '${loss}' must be float32, float16 or float64, got ${lossType.dtype}`);
  if (numElements(lossType.shape) !== 1) autodiffError(`loss '${loss}' must be a scalar, got shape [${lossType.shape}]`);
  if (new Set(wrt).size !== wrt.length) autodiffError(`wrt names repeat: ${wrt.join(', ')}`);
  const isInput = new Set(graph.inputs.map((v) => v.name));
  for (const name of wrt) {
    if (!isInput.has(name) && !graph.initializers.has(name)) autodiffError(`wrt '${name}' is neither a graph input nor an initializer of '${graph.name}'`);
    const t = shapes.type(name);
    if (!isFloatType(t.dtype)) autodiffError(`wrt '${name}' has dtype ${t.dtype}; only floating-point tensors have gradients`);
  }

  // ---- reachability: forward from wrt (through float values), backward from the loss ----
  const order = topologicalOrder(graph);
  const view = graphView(order, shapes);
  const patterns = options.patterns ?? gradientPatterns;
  const variants: RuleVariants = { ...DEFAULT_RULE_VARIANTS, ...options.variants };
  /** forward nodes whose gradient a pattern has already given */
  const covered = new Set<Node>();
  const fromWrt = new Set(wrt);
  for (const node of order) {
    if (!node.inputs.some((v) => v && fromWrt.has(v))) continue;
    for (const o of node.outputs) if (o && isFloatType(shapes.type(o).dtype)) fromWrt.add(o);
  }
  const toLoss = new Set([loss]);
  for (let k = order.length - 1; k >= 0; k--) {
    const node = order[k]!;
    if (node.outputs.some((o) => o && toLoss.has(o))) for (const v of node.inputs) if (v) toLoss.add(v);
  }
  const carriesGrad = (v: string): boolean => v !== '' && fromWrt.has(v) && toLoss.has(v);

  // ---- backward pass ----
  const b = new GraphBuilder(graph.name, { graph, opsetImports: out.opsetImports });
  const contributions = new Map<string, string[]>();
  const addContribution = (value: string, grad: string): void => {
    const list = contributions.get(value);
    if (list) list.push(grad);
    else contributions.set(value, [grad]);
  };
  /**
   * The total gradient of a value: its contributions added (cached). Two are added with an Add,
   * not a Sum: ORT's NCHWc transformer folds an Add into a Conv that produces one of its inputs
   * (the Conv's sum input), which removes the pass and the Conv's NCHW reorder; of the benchmark
   * UNet's 11 two-way fan-ins, 5 disappeared into the input-gradient Convs and the backward's
   * kernel time fell by 0.6 ms of 47 (ORT 1.30 CPU). More contributions take one Sum.
   */
  const totalGrad = (value: string): string | undefined => {
    const list = contributions.get(value);
    if (!list || list.length === 0) return undefined;
    if (list.length > 1) {
      const sum = b.op(list.length === 2 ? 'Add' : 'Sum', list, {}, { name: `${value}_grad_sum` });
      shapes.addNodes(graph.nodes.slice(-1));
      contributions.set(value, [sum]);
    }
    return contributions.get(value)![0];
  };

  if (carriesGrad(loss)) {
    const before = graph.nodes.length;
    const one = scalarOf(b, 1, lossType.dtype);
    const seed = lossType.shape.length === 0 ? one : reshape(b, one, lossType.shape);
    shapes.addNodes(graph.nodes.slice(before));
    addContribution(loss, seed);
  }

  for (let k = order.length - 1; k >= 0; k--) {
    const forwardNode = order[k]!;
    if (covered.has(forwardNode)) continue;
    if (!forwardNode.outputs.some(carriesGrad) || !forwardNode.inputs.some(carriesGrad)) continue;
    const found = matchPattern(forwardNode, patterns, view, covered, loss);
    // a pattern's virtual node stands for the nodes it covers: its inputs are theirs from outside
    const node = found ? found.match.node : forwardNode;
    const outGrads = node.outputs.map((o) => (carriesGrad(o) ? totalGrad(o) : undefined));
    if (outGrads.every((g) => g === undefined)) continue; // every path from here was stopped
    let rule: GradRule;
    if (found) {
      for (const nd of found.match.nodes) covered.add(nd);
      rule = (c) => found.entry.rule(c, found.match);
    } else {
      const entry = ruleFor(node, opset, options.rules);
      if (!entry) autodiffError(`no gradient rule for op '${node.opType}' (node '${node.name}')`);
      if (entry.rule === 'no-gradient') continue;
      rule = entry.rule;
    }
    const needsGrad = (i: number): boolean => {
      const v = node.inputs[i];
      return v !== undefined && carriesGrad(v);
    };
    const ctx: GradContext = {
      b,
      node,
      opset,
      variants,
      shape: (v) => shapes.type(v).shape,
      dtype: (v) => shapes.type(v).dtype,
      constant: (v) => shapes.constant(v),
      gradOutput: (i) => outGrads[i],
      needsGrad,
    };
    const before = graph.nodes.length;
    let grads: (string | undefined)[];
    try {
      grads = rule(ctx);
    } catch (e) {
      if (e instanceof UserError) throw e;
      throw new UserError('autodiff', `gradient of ${node.opType} node '${node.name}': ${(e as Error).message}`);
    }
    // type the emitted ops now so that later rules see their shapes, and check every gradient
    shapes.addNodes(graph.nodes.slice(before));
    grads.forEach((grad, i) => {
      if (grad === undefined || !needsGrad(i)) return;
      const want = shapes.type(node.inputs[i]!);
      const got = shapes.type(grad);
      if (got.dtype !== want.dtype || got.shape.join(',') !== want.shape.join(',')) {
        autodiffError(
          `the ${node.opType} rule gave a ${got.dtype}[${got.shape}] gradient for input ${i} '${node.inputs[i]}' ` +
            `of ${want.dtype}[${want.shape}] (node '${node.name}')`,
        );
      }
      addContribution(node.inputs[i]!, grad);
    });
  }

  // ---- outputs: loss, gradients, kept forward values ----
  graph.outputs = [];
  b.output(loss, undefined, lossType);
  const gradNames: Record<string, string> = {};
  for (const name of wrt) {
    const t = shapes.type(name);
    const before = graph.nodes.length;
    let grad = totalGrad(name);
    if (grad === undefined) {
      warnings.push(`'${name}' does not influence loss '${loss}'; its gradient is zeros`);
      grad = zerosOf(b, t.shape, t.dtype);
    }
    const gradName = `${name}_grad`;
    if (shapes.has(gradName) || graph.outputs.some((o) => o.name === gradName)) {
      autodiffError(`cannot name the gradient of '${name}' '${gradName}': the graph already has a value of that name`);
    }
    gradNames[name] = b.output(grad, gradName, t);
    shapes.addNodes(graph.nodes.slice(before));
  }
  for (const name of options.keepOutputs ?? []) {
    if (!shapes.has(name)) autodiffError(`keepOutputs: '${name}' is not a value of the graph`);
    if (graph.outputs.some((o) => o.name === name)) continue;
    b.output(name, undefined, shapes.type(name));
  }
  out.opsetImports = b.opsetImports;
  return { model: out, gradNames, warnings, shapes };
}
