// Low-rank adapters (LoRA) on a UNet graph, and merging them back into plain weights.
//
// For a weight W the adapted weight is W' = W + B A with A small and random, B zero, so at step 0
// W' = W exactly and the adapted graph computes what the base graph computes. Only A and B train.
//   MatMul  y = x W,  W [in, out]:  y = x W + (x A) B,         A [in, r],        B [r, out]
//                                    merged W' = W + A B       (x (A B) = (x A) B)
//   Conv    y = conv(x, W), W [O, I, k, k] (k = 1 or 3, group 1):
//           y = conv(x, W) + conv1x1(conv(x, A), B),           A [r, I, k, k],   B [O, r, 1, 1]
//           merged W'[o] = W[o] + sum_r B[o, r] A[r]        (a 1x1 conv after a conv with A's
//           stride and padding is the conv with the combined kernel: both are linear in x)
// A MatMul counts when its second input is a rank-2 float32 initializer (attention projections and
// other linears); a Conv when its weight is a rank-4 float32 initializer with a 1x1 or 3x3 kernel.

import { Rng } from '../../shared/random';
import type { Model, Node } from '../onnx/ir';
import { copyModel } from '../onnx/passes/graph-edit';

export interface LoraAdapter {
  /** the adapted weight's initializer name in the base graph */
  weight: string;
  kind: 'matmul' | 'conv';
  /** initializer names of the two factors in the adapted graph */
  a: string;
  b: string;
  aDims: number[];
  bDims: number[];
}

export interface LoraGraph {
  model: Model;
  adapters: LoraAdapter[];
}

const LORA_SUFFIX = '.lora';

function isFloatInit(model: Model, name: string | undefined, rank: number): boolean {
  const t = name === undefined ? undefined : model.graph.initializers.get(name);
  return !!t && t.dtype === 'float32' && t.dims.length === rank && t.data instanceof Float32Array;
}

function convGroup(node: Node): number {
  const g = node.attrs['group'];
  return g?.type === 'int' ? g.value : 1;
}

/**
 * A copy of `model` with an adapter of rank `rank` on every eligible MatMul and Conv (float32
 * initializer weights; half-stored weights must be materialised first). A ~ N(0, 1/fan_in) from
 * `seed`, B = 0. A weight read by several nodes is left alone (one merged weight could not hold
 * two different updates).
 */
export function addLoraAdapters(model: Model, rank: number, seed: number): LoraGraph {
  if (!Number.isInteger(rank) || rank < 1) throw new RangeError(`LoRA rank must be a positive integer (got ${rank})`);
  const out = copyModel(model);
  const g = out.graph;
  const rng = new Rng(seed);
  const taken = new Set<string>([...g.initializers.keys(), ...g.inputs.map((i) => i.name)]);
  for (const n of g.nodes) for (const o of n.outputs) taken.add(o);
  const unique = (base: string): string => {
    let name = base;
    for (let k = 1; taken.has(name); k++) name = `${base}_${k}`;
    taken.add(name);
    return name;
  };
  const readers = new Map<string, number>();
  for (const n of g.nodes) for (const i of n.inputs) readers.set(i, (readers.get(i) ?? 0) + 1);
  const adapters: LoraAdapter[] = [];
  const nodes: Node[] = [];
  for (const node of g.nodes) {
    const weight = node.inputs[1];
    const isMatMul = node.opType === 'MatMul' && isFloatInit(out, weight, 2);
    const conv = node.opType === 'Conv' && isFloatInit(out, weight, 4) && convGroup(node) === 1 ? g.initializers.get(weight!)! : undefined;
    const isConv = !!conv && conv.dims[2] === conv.dims[3] && (conv.dims[2] === 1 || conv.dims[2] === 3);
    if (!(node.domain === '' || node.domain === 'ai.onnx') || (!isMatMul && !isConv) || readers.get(weight!) !== 1) {
      nodes.push(node);
      continue;
    }
    const w = g.initializers.get(weight!)!;
    const stem = `${weight}${LORA_SUFFIX}`;
    const aName = unique(`${stem}_A`);
    const bName = unique(`${stem}_B`);
    let aDims: number[];
    let bDims: number[];
    let fanIn: number;
    if (isMatMul) {
      const [inF, outF] = w.dims as [number, number];
      aDims = [inF, rank];
      bDims = [rank, outF];
      fanIn = inF;
    } else {
      const [O, I, k] = w.dims as [number, number, number, number];
      aDims = [rank, I, k, k];
      bDims = [O, rank, 1, 1];
      fanIn = I * k * k;
    }
    const count = (d: number[]): number => d.reduce((p, v) => p * v, 1);
    g.initializers.set(aName, { name: aName, dtype: 'float32', dims: aDims, data: rng.normals(count(aDims), 1 / Math.sqrt(fanIn)) });
    g.initializers.set(bName, { name: bName, dtype: 'float32', dims: bDims, data: new Float32Array(count(bDims)) });
    const y = node.outputs[0]!;
    const base = unique(`${y}${LORA_SUFFIX}_base`);
    const low = unique(`${y}${LORA_SUFFIX}_low`);
    const delta = unique(`${y}${LORA_SUFFIX}_delta`);
    const x = node.inputs[0]!;
    nodes.push({ ...node, outputs: [base, ...node.outputs.slice(1)] });
    if (isMatMul) {
      nodes.push({ name: unique(`${stem}_down`), opType: 'MatMul', domain: '', inputs: [x, aName], outputs: [low], attrs: {} });
      nodes.push({ name: unique(`${stem}_up`), opType: 'MatMul', domain: '', inputs: [low, bName], outputs: [delta], attrs: {} });
    } else {
      // A takes the original conv's stride, padding and dilation; B is a plain 1x1 conv
      const { group: _group, ...attrs } = node.attrs;
      nodes.push({ name: unique(`${stem}_down`), opType: 'Conv', domain: '', inputs: [x, aName], outputs: [low], attrs });
      nodes.push({ name: unique(`${stem}_up`), opType: 'Conv', domain: '', inputs: [low, bName], outputs: [delta], attrs: {} });
    }
    nodes.push({ name: unique(`${stem}_add`), opType: 'Add', domain: '', inputs: [base, delta], outputs: [y], attrs: {} });
    adapters.push({ weight: weight!, kind: isMatMul ? 'matmul' : 'conv', a: aName, b: bName, aDims, bDims });
  }
  g.nodes = nodes;
  return { model: out, adapters };
}

/** W + B A for one adapter (see the header for the two layouts). */
export function mergedWeight(adapter: LoraAdapter, w: Float32Array, a: Float32Array, b: Float32Array): Float32Array {
  const merged = Float32Array.from(w);
  if (adapter.kind === 'matmul') {
    const [inF, r] = adapter.aDims as [number, number];
    const outF = adapter.bDims[1]!;
    for (let i = 0; i < inF; i++) {
      for (let o = 0; o < outF; o++) {
        let s = 0;
        for (let k = 0; k < r; k++) s += a[i * r + k]! * b[k * outF + o]!;
        merged[i * outF + o] = merged[i * outF + o]! + s;
      }
    }
  } else {
    const [r, I, kh, kw] = adapter.aDims as [number, number, number, number];
    const O = adapter.bDims[0]!;
    const per = I * kh * kw;
    for (let o = 0; o < O; o++) {
      for (let j = 0; j < per; j++) {
        let s = 0;
        for (let k = 0; k < r; k++) s += b[o * r + k]! * a[k * per + j]!;
        merged[o * per + j] = merged[o * per + j]! + s;
      }
    }
  }
  return merged;
}

/**
 * The base graph with every adapter merged into its weight (values of A and B from `factors`, by
 * the adapter's names): the same nodes and names as the base, so the package contract holds.
 */
export function mergeLora(base: Model, adapters: readonly LoraAdapter[], factors: ReadonlyMap<string, Float32Array>): Model {
  const out = copyModel(base);
  const inits = out.graph.initializers;
  for (const adapter of adapters) {
    const w = inits.get(adapter.weight);
    const a = factors.get(adapter.a);
    const b = factors.get(adapter.b);
    if (!w || !(w.data instanceof Float32Array)) throw new Error(`LoRA merge: weight '${adapter.weight}' is not a float32 initializer of '${base.graph.name}'`);
    if (!a || !b) throw new Error(`LoRA merge: no values for '${adapter.a}' / '${adapter.b}'`);
    inits.set(adapter.weight, { ...w, data: mergedWeight(adapter, w.data, a, b) });
  }
  return out;
}
