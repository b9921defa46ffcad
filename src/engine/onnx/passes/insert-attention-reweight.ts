// Adds AnomalyDiffusion's adaptive attention re-weighting (METHOD.md, AAR) to an exported UNet.
//
// New inputs:  aar_weight  [B, h*w]  weights on the latent grid (1 = leave attention alone)
//              aar_columns [B, M]     1 for the context tokens to re-weight (the anomaly tokens), else 0
// In every cross-attention layer, with probabilities P = Softmax(Q K^T * scale) of that layer:
//   P'[b, head, n, m] = P[b, head, n, m] * (1 + cols[b, m] * (w_l[b, n] - 1))
// where w_l is the weight map average-pooled to the layer's grid (s x s cells per layer cell, s =
// latent size / layer size). For w = 1 every factor is exactly 1 (the average of ones is 1, 1 - 1
// is 0), so the re-weighted model computes bit for bit what the original does.
//
// Finding the layers: a Softmax over the last axis whose scores come from a MatMul with one operand
// computed from the context input alone (the keys: K = context Wk) is cross-attention; in
// self-attention both operands derive from the latent. Exports lay the probabilities out as
// [B*heads, N, M] (diffusers' head_to_batch_dim: index b*heads + head) or [B, heads, N, M]; the
// factor [B, N, M] is broadcast over heads accordingly. Static sizes (heads, N) are read by shape
// inference on a copy specialised to `probeShapes`; the batch size stays dynamic.

import { UserError } from '../../../shared/errors';
import { defaultOpset, topologicalOrder, type DType, type Dim, type Model, type Node } from '../ir';
import { inferShapes } from '../shape-inference';
import { PassError, rewriteNodes, type RewriteContext } from './graph-edit';
import { specialiseShapes } from './specialise-shapes';

const PASS = 'insertAttentionReweight';
export const AAR_WEIGHT = 'aar_weight';
export const AAR_COLUMNS = 'aar_columns';

/** Ops between the score MatMul and its Softmax (scaling, masking, casts, layout changes). */
const SCORE_OPS = new Set(['Mul', 'Div', 'Add', 'Sub', 'Cast', 'Reshape', 'Transpose', 'Identity', 'Where']);
const ONNX_FLOAT16 = 10;

export interface ReweightOptions {
  /** the UNet's context input (default 'encoder_hidden_states') */
  contextInput?: string;
  /** the latent input [B, C, h, w] (default 'sample'); its h and w must be fixed numbers */
  sampleInput?: string;
  /** a fixed shape for every graph input, used to read each layer's sizes (batch may be 1) */
  probeShapes: Record<string, readonly number[]>;
}

export interface ReweightedLayer {
  /** the Softmax node's name */
  softmax: string;
  /** the layer's grid (latent size / scale) */
  grid: { width: number; height: number };
  /** latent cells per layer cell along each axis */
  scale: number;
  heads: number;
  layout: 'batch-heads' | 'batch-by-heads';
}

/** Graph inputs (excluding initializers) every value depends on, as bit sets over the inputs. */
function inputDependencies(model: Model): Map<string, bigint> {
  const g = model.graph;
  const deps = new Map<string, bigint>();
  g.inputs.forEach((input, i) => {
    if (!g.initializers.has(input.name)) deps.set(input.name, 1n << BigInt(i));
  });
  for (const node of topologicalOrder(g)) {
    let d = 0n;
    for (const i of node.inputs) d |= deps.get(i) ?? 0n;
    for (const o of node.outputs) if (o) deps.set(o, d);
  }
  return deps;
}

function softmaxAxis(node: Node, opset: number): number {
  const a = node.attrs['axis'];
  if (a && a.type === 'int') return a.value;
  return opset >= 13 ? -1 : 1;
}

/** The cross-attention Softmax nodes of a UNet: see the file comment for the rule. */
export function findCrossAttentionSoftmax(model: Model, contextInput = 'encoder_hidden_states'): Node[] {
  const g = model.graph;
  const index = g.inputs.findIndex((i) => i.name === contextInput);
  if (index < 0) throw new UserError('sd-unet', `UNet '${g.name}' has no input '${contextInput}' (inputs: ${g.inputs.map((i) => i.name).join(', ')})`);
  const contextOnly = 1n << BigInt(index);
  const deps = inputDependencies(model);
  const producer = new Map<string, Node>();
  for (const n of g.nodes) for (const o of n.outputs) if (o) producer.set(o, n);

  /** the MatMul that computes a Softmax's scores, walking back through SCORE_OPS */
  const scoreMatMul = (softmax: Node): Node | undefined => {
    const queue = [softmax.inputs[0]!];
    for (let hops = 0; queue.length > 0 && hops < 32; hops++) {
      const n = producer.get(queue.shift()!);
      if (!n) continue;
      if (n.opType === 'MatMul') return n;
      if (SCORE_OPS.has(n.opType)) for (const i of n.inputs) if (i && (deps.get(i) ?? 0n) !== 0n) queue.push(i);
    }
    return undefined;
  };
  return g.nodes.filter((node) => {
    if (node.opType !== 'Softmax') return false;
    const mm = scoreMatMul(node);
    if (!mm) return false;
    const [a, b] = mm.inputs.map((i) => deps.get(i) ?? 0n) as [bigint, bigint];
    // keys from the context alone, queries from something else (the latent)
    return (a === contextOnly) !== (b === contextOnly);
  });
}

/**
 * Returns a copy of the UNet with `aar_weight` and `aar_columns` inputs re-weighting every
 * cross-attention layer (see the file comment), plus what it found. Fails naming the node when a
 * layer's shape does not fit the latent grid, and when the model has no cross-attention.
 */
export function insertAttentionReweight(model: Model, options: ReweightOptions): { model: Model; layers: ReweightedLayer[] } {
  const contextInput = options.contextInput ?? 'encoder_hidden_states';
  const sampleInput = options.sampleInput ?? 'sample';
  const g = model.graph;
  const sample = g.inputs.find((i) => i.name === sampleInput);
  const context = g.inputs.find((i) => i.name === contextInput);
  if (!sample?.shape || sample.shape.length !== 4) throw new UserError('sd-unet', `UNet '${g.name}': input '${sampleInput}' must be [B, C, h, w], got ${sample ? `[${sample.shape}]` : 'nothing'}`);
  if (!context?.shape || context.shape.length !== 3) throw new UserError('sd-unet', `UNet '${g.name}': input '${contextInput}' must be [B, tokens, width], got ${context ? `[${context.shape}]` : 'nothing'}`);
  const [h, w] = [sample.shape[2], sample.shape[3]];
  if (typeof h !== 'number' || typeof w !== 'number') {
    throw new UserError('sd-unet', `UNet '${g.name}': input '${sampleInput}' has symbolic spatial size [${sample.shape}]; specialise it to the latent size first`);
  }
  for (const name of [AAR_WEIGHT, AAR_COLUMNS]) if (g.inputs.some((i) => i.name === name)) throw new UserError('sd-unet', `UNet '${g.name}' already has an input '${name}'`);

  const softmaxes = new Set(findCrossAttentionSoftmax(model, contextInput));
  if (softmaxes.size === 0) throw new UserError('sd-unet', `UNet '${g.name}': no cross-attention Softmax (scores from keys computed from '${contextInput}') was found`);
  const probeBatch = options.probeShapes[sampleInput]?.[0];
  const tokens = options.probeShapes[contextInput]?.[1];
  if (probeBatch === undefined || tokens === undefined) throw new Error(`${PASS}: probeShapes must give '${sampleInput}' and '${contextInput}'`);
  const info = inferShapes(specialiseShapes(model, options.probeShapes));
  const opset = defaultOpset(model);

  const layers: ReweightedLayer[] = [];
  const factors = new Map<string, string>();
  let columns: string | undefined;
  const batchDim: Dim = sample.shape[0]!;

  /** [B, 1, N, M] factor for grid scale s in the given dtype, built once and shared */
  const factorFor = (ctx: RewriteContext, s: number, dtype: DType): string => {
    const key = `${s}|${dtype}`;
    const known = factors.get(key);
    if (known) return known;
    const b = ctx.b;
    const cells = (h / s) * (w / s);
    columns ??= b.op('Unsqueeze', [AAR_COLUMNS, b.ints([1])], {}, { name: 'aar/columns' }); // [B, 1, M]
    let grid = b.op('Reshape', [AAR_WEIGHT, b.ints([-1, 1, h, w])], {}, { name: 'aar/grid' });
    // averaging s x s cells of ones gives exactly 1, so w = 1 stays an exact no-op
    if (s > 1) grid = b.op('AveragePool', [grid], { kernel_shape: [s, s], strides: [s, s] }, { name: `aar/pool${s}` });
    const perCell = b.op('Reshape', [grid, b.ints([-1, cells, 1])], {}, { name: `aar/cells${s}` }); // [B, N, 1]
    const excess = b.op('Sub', [perCell, b.scalar(1)]);
    let factor = b.op('Add', [b.op('Mul', [columns, excess]), b.scalar(1)], {}, { name: `aar/factor${s}` }); // [B, N, M]
    if (dtype === 'float16') factor = b.op('Cast', [factor], { to: ONNX_FLOAT16 });
    else if (dtype !== 'float32') throw new Error(`${PASS}: attention probabilities of type ${dtype} are not supported`);
    const factor4 = b.op('Unsqueeze', [factor, b.ints([1])]); // [B, 1, N, M]
    factors.set(key, factor4);
    return factor4;
  };

  const rewritten = rewriteNodes(model, (node, ctx) => {
    if (!softmaxes.has(node)) return false;
    const probs = info.type(node.outputs[0]!);
    const rank = probs.shape.length;
    const axis = softmaxAxis(node, opset);
    if (axis !== -1 && axis !== rank - 1) throw new PassError(PASS, node, `softmax over axis ${axis} of a rank-${rank} tensor; attention normalises over the last axis`);
    if (rank !== 3 && rank !== 4) throw new PassError(PASS, node, `attention probabilities [${probs.shape}] are neither [B*heads, N, M] nor [B, heads, N, M]`);
    const [n, m] = probs.shape.slice(-2) as [number, number];
    if (m !== tokens) throw new PassError(PASS, node, `attends over ${m} tokens, the context has ${tokens}`);
    const heads = rank === 4 ? probs.shape[1]! : probs.shape[0]! / probeBatch;
    if (!Number.isInteger(heads) || heads < 1) throw new PassError(PASS, node, `[${probs.shape}] does not split into batch ${probeBatch} x heads`);
    const s = Math.round(Math.sqrt((h * w) / n));
    if (s < 1 || h % s !== 0 || w % s !== 0 || (h / s) * (w / s) !== n) {
      throw new PassError(PASS, node, `its ${n} query positions are not the ${h}x${w} latent grid scaled down by an integer factor`);
    }
    const b = ctx.b;
    const factor = factorFor(ctx, s, probs.dtype);
    const raw = b.uniqueName(`${node.outputs[0]}_unweighted`);
    ctx.model.graph.nodes.push({ ...node, outputs: [raw] });
    if (rank === 4) {
      b.op('Mul', [raw, factor], {}, { output: node.outputs[0]! });
    } else {
      // [B*heads, N, M] is b-major (index b*heads + head): view it as [B, heads, N, M]
      const split = b.op('Reshape', [raw, b.ints([-1, heads, n, m])]);
      const weighted = b.op('Mul', [split, factor]);
      b.op('Reshape', [weighted, b.ints([-1, n, m])], {}, { output: node.outputs[0]! });
    }
    layers.push({ softmax: node.name, grid: { width: w / s, height: h / s }, scale: s, heads, layout: rank === 4 ? 'batch-by-heads' : 'batch-heads' });
    return true;
  });
  rewritten.graph.inputs.push({ name: AAR_WEIGHT, dtype: 'float32', shape: [batchDim, h * w] });
  rewritten.graph.inputs.push({ name: AAR_COLUMNS, dtype: 'float32', shape: [batchDim, context.shape[1]!] });
  return { model: rewritten, layers };
}
