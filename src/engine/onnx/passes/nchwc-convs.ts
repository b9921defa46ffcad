// Lowers Conv nodes whose weights are computed or fed at run time (the trainer's graphs) to
// onnxruntime's CPU NCHWc kernels, with the weights reordered inside the graph.
//
// Why: ORT's CPU provider runs 2-D convs with its blocked-channel NCHWc kernels (MLAS), but its
// NchwcTransformer rewrites a Conv only when the weights are a constant initializer, because it
// reorders them once at load time. A trainer feeds its weights every step, so every conv of its
// forward pass and every flipped-kernel dX conv (rules/conv.ts) ran on the slower general path.
// This pass writes what the transformer would, with the reorder as graph ops on the fed tensor:
//
//   x [N, C, H, W] --ReorderInput--> blocked x --nchwc.Conv(w', b')--> blocked y --ReorderOutput(O)--> y
//
// where, for block size B (MLAS: 8 with AVX2, 16 with AVX-512F; runtime nchwcBlockSize()) and
// Op = O rounded up to a multiple of B (zero filters, zero bias):
//   C a multiple of B:  w'[ob, ib, kh, kw, bi, bo] = w[ob*B + bo, ib*B + bi, kh, kw]  ("OIHWBiBo")
//   C < B (x stays NCHW): w'[ob, c, kh, kw, bo]     = w[ob*B + bo, c, kh, kw]          ("OIHWBo")
// stored with the dims [Op, C, kh, kw] the kernel checks. Both layouts and the padding follow
// ORT 1.30's nchwc_transformer.cc / MLAS's reorder routines; the tests compare every geometry
// with the standard Conv, and a wrong layout is off by O(1).
//
// The ops live in ORT's internal domain com.microsoft.nchwc: CPU provider only, so a graph is
// lowered only for a session that runs on CPU (see autodiff/composer.ts). Convs with groups,
// other ranks, auto_pad, float types other than float32, or C neither a multiple of B nor below
// it keep the standard Conv, as they would under ORT's own transformer.
import { isDefaultDomain, type Graph, type Model, type Node } from '../ir';
import { inferShapes, type ShapeInfo } from '../shape-inference';
import { attrInt } from '../shapes/elementwise';
import { rewriteNodes, type RewriteContext } from './graph-edit';

export const NCHWC_DOMAIN = 'com.microsoft.nchwc';

/** Everything the pass needs to know about one Conv it lowers. */
interface ConvPlan {
  x: string;
  w: string;
  bias: string | undefined;
  inChannels: number;
  outChannels: number;
  /** outChannels rounded up to a whole number of blocks (the extra filters are zero) */
  blockedOutChannels: number;
  kernel: [number, number];
}

/**
 * Whether a value is computed from initializers alone (ORT folds it to one at load time): true
 * for initializers that no graph input overrides and for outputs of nodes whose inputs all are.
 */
function constantValues(graph: Graph): (value: string) => boolean {
  const fed = new Set(graph.inputs.map((i) => i.name));
  const producer = new Map<string, Node>();
  for (const node of graph.nodes) for (const o of node.outputs) if (o) producer.set(o, node);
  const known = new Map<string, boolean>();
  const isConstant = (value: string): boolean => {
    const cached = known.get(value);
    if (cached !== undefined) return cached;
    const node = producer.get(value);
    // the graph is in topological order, so producers are settled first when walked in order
    const result = fed.has(value) ? false : node ? node.inputs.every((i) => !i || isConstant(i)) : graph.initializers.has(value);
    known.set(value, result);
    return result;
  };
  for (const node of graph.nodes) for (const o of node.outputs) if (o) isConstant(o);
  return isConstant;
}

/** The plan for a Conv this pass lowers, or undefined to keep it. */
function planConv(node: Node, shapes: ShapeInfo, isConstant: (value: string) => boolean, blockSize: number): ConvPlan | undefined {
  if (!isDefaultDomain(node.domain) || node.opType !== 'Conv') return undefined;
  const [x, w, bias] = node.inputs;
  if (!x || !w || node.outputs.length !== 1) return undefined;
  // constant weights: ORT's own transformer reorders them once, at load time
  if (isConstant(w)) return undefined;
  const autoPad = node.attrs.auto_pad;
  if (autoPad && !(autoPad.type === 'string' && autoPad.value === 'NOTSET')) return undefined;
  if (attrInt(node, 'group', 1) !== 1) return undefined;
  const xType = shapes.type(x);
  const wType = shapes.type(w);
  if (xType.dtype !== 'float32' || wType.dtype !== 'float32' || xType.shape.length !== 4 || wType.shape.length !== 4) return undefined;
  const [outChannels, inChannels, kh, kw] = wType.shape as [number, number, number, number];
  if (inChannels >= blockSize && inChannels % blockSize !== 0) return undefined;
  const blockedOutChannels = Math.ceil(outChannels / blockSize) * blockSize;
  return { x, w, bias: bias || undefined, inChannels, outChannels, blockedOutChannels, kernel: [kh, kw] };
}

/** w [O, C, kh, kw] in the blocked layout the NCHWc kernel reads (see the header). */
function blockedFilter(ctx: RewriteContext, plan: ConvPlan, blockSize: number): string {
  const { b } = ctx;
  const { inChannels: c, outChannels: o, blockedOutChannels: op, kernel } = plan;
  const padded = op > o ? b.op('Pad', [plan.w, b.ints([0, 0, 0, 0, op - o, 0, 0, 0])]) : plan.w;
  const taps = kernel[0] * kernel[1];
  // bo to the end: [Op/B, B(bo), C*taps] -> [Op/B, C*taps, B(bo)], i.e. [Op/B, C/B, B(bi), taps, B(bo)];
  // that is OIHWBo already, and for OIHWBiBo bi and the taps swap in a second Transpose. Two
  // single-axis moves, which ORT copies in blocks: [32, 96, 3, 3] 99 -> 33 us, [64, 128, 3, 3]
  // 248 -> 69 us against one 6-D Transpose (minimum of 200 runs, ORT 1.30 CPU, 1 thread).
  let blocked = b.op('Transpose', [b.op('Reshape', [padded, b.ints([op / blockSize, blockSize, c * taps])])], { perm: [0, 2, 1] });
  if (c >= blockSize && taps > 1) {
    blocked = b.op('Transpose', [b.op('Reshape', [blocked, b.ints([(op / blockSize) * (c / blockSize), blockSize, taps, blockSize])])], { perm: [0, 2, 1, 3] });
  }
  return b.op('Reshape', [blocked, b.ints([op, c, ...kernel])]);
}

/**
 * A copy of `model` with every Conv whose weights are not constant (fed, or computed from fed
 * tensors) on ORT's CPU NCHWc kernels; `blockSize` is MLAS's (runtime nchwcBlockSize()).
 * Returns the model unchanged (the same object) when no Conv qualifies.
 */
export function lowerConvsToNchwc(model: Model, blockSize: number): Model {
  if (!Number.isInteger(blockSize) || blockSize < 4 || blockSize % 4 !== 0) throw new Error(`lowerConvsToNchwc: block size ${blockSize} is not a multiple of 4`);
  const shapes = inferShapes(model);
  const isConstant = constantValues(model.graph);
  const plans = new Map<Node, ConvPlan>();
  for (const node of model.graph.nodes) {
    const plan = planConv(node, shapes, isConstant, blockSize);
    if (plan) plans.set(node, plan);
  }
  if (plans.size === 0) return model;
  // a tensor read by several lowered convs is reordered once (ReorderInput, filters)
  const blockedInputs = new Map<string, string>();
  const blockedFilters = new Map<string, string>();
  const lowered = rewriteNodes(model, (node, ctx) => {
    const plan = plans.get(node);
    if (!plan) return false;
    const { b } = ctx;
    let input = plan.x;
    if (plan.inChannels >= blockSize) {
      input = blockedInputs.get(plan.x) ?? b.op('ReorderInput', [plan.x], {}, { domain: NCHWC_DOMAIN });
      blockedInputs.set(plan.x, input);
    }
    const filter = blockedFilters.get(plan.w) ?? blockedFilter(ctx, plan, blockSize);
    blockedFilters.set(plan.w, filter);
    const inputs = [input, filter];
    const padding = plan.blockedOutChannels - plan.outChannels;
    if (plan.bias) inputs.push(padding > 0 ? b.op('Pad', [plan.bias, b.ints([0, padding])]) : plan.bias);
    const attrs = Object.fromEntries(Object.entries(node.attrs).filter(([name]) => name !== 'auto_pad' && name !== 'group'));
    const blocked = b.op('Conv', inputs, attrs, { domain: NCHWC_DOMAIN, name: `${node.name || 'conv'}_nchwc` });
    b.op('ReorderOutput', [blocked], { channels: plan.outChannels }, { domain: NCHWC_DOMAIN, output: node.outputs[0]! });
    return true;
  });
  if (!lowered.opsetImports.some((o) => o.domain === NCHWC_DOMAIN)) lowered.opsetImports.push({ domain: NCHWC_DOMAIN, version: 1 });
  return lowered;
}
