// A small typed API to build ONNX graphs in TypeScript: our own models, losses, optimiser steps
// and the gradient graphs emitted by autodiff all go through it.
//
//   const b = new GraphBuilder('mlp');
//   const x = b.input('x', 'float32', [4, 8]);
//   const w = b.param('w', [8, 2], randn);
//   b.output(b.op('Relu', [b.op('MatMul', [x, w])]), 'y');
//   const model = b.toModel();

import {
  allocateData,
  emptyGraph,
  type AttrValue,
  type Dim,
  type DType,
  type Graph,
  type Model,
  type Node,
  type OpsetImport,
  type Tensor,
  type TensorData,
} from './ir';

/** The default-domain opset our own graphs are written against. */
export const DEFAULT_OPSET = 17;

/**
 * Attribute names that are floats in the ONNX operator set. A plain JS number given for any
 * other attribute is written as an int; pass `{ type: 'float', value }` to force a float.
 */
const FLOAT_ATTRIBUTES = new Set([
  'alpha',
  'beta',
  'gamma',
  'epsilon',
  'momentum',
  'ratio',
  'bias',
  'lambd',
  'value_float',
  'cubic_coeff_a',
  'extrapolation_value',
  'spatial_scale',
  'min',
  'max',
  'scale',
]);
const FLOATS_ATTRIBUTES = new Set(['value_floats', 'scales']);

export type AttrInput = number | string | number[] | string[] | Tensor | AttrValue;

function isAttrValue(v: AttrInput): v is AttrValue {
  return typeof v === 'object' && !Array.isArray(v) && 'type' in v && 'value' in v;
}

export function toAttrValue(name: string, v: AttrInput): AttrValue {
  if (isAttrValue(v)) return v;
  if (typeof v === 'number') {
    return FLOAT_ATTRIBUTES.has(name) ? { type: 'float', value: v } : { type: 'int', value: v };
  }
  if (typeof v === 'string') return { type: 'string', value: v };
  if (Array.isArray(v)) {
    if (v.length > 0 && typeof v[0] === 'string') return { type: 'strings', value: v as string[] };
    return FLOATS_ATTRIBUTES.has(name) ? { type: 'floats', value: v as number[] } : { type: 'ints', value: v as number[] };
  }
  return { type: 'tensor', value: v };
}

export interface OpOptions {
  /** number of outputs (default 1) or their explicit names */
  outputs?: number | string[];
  name?: string;
  domain?: string;
}

export class GraphBuilder {
  readonly graph: Graph;
  readonly opsetImports: OpsetImport[];
  private counter = 0;
  private readonly used = new Set<string>();

  constructor(name: string, opts: { opset?: number; graph?: Graph; opsetImports?: OpsetImport[] } = {}) {
    this.graph = opts.graph ?? emptyGraph(name);
    this.opsetImports = opts.opsetImports ?? [{ domain: '', version: opts.opset ?? DEFAULT_OPSET }];
    // when extending an existing graph, never reuse any of its names
    for (const v of this.graph.inputs) this.used.add(v.name);
    for (const v of this.graph.outputs) this.used.add(v.name);
    for (const n of this.graph.initializers.keys()) this.used.add(n);
    for (const node of this.graph.nodes) {
      this.used.add(node.name);
      for (const o of node.outputs) this.used.add(o);
    }
  }

  get opset(): number {
    return this.opsetImports.find((o) => o.domain === '' || o.domain === 'ai.onnx')?.version ?? DEFAULT_OPSET;
  }

  /** A name not yet used in the graph, derived from `prefix`. */
  uniqueName(prefix: string): string {
    let name = prefix;
    while (this.used.has(name)) name = `${prefix}_${++this.counter}`;
    this.used.add(name);
    return name;
  }

  /** Marks a name as taken (for names created outside the builder). */
  reserve(name: string): void {
    this.used.add(name);
  }

  input(name: string, dtype: DType, shape: Dim[]): string {
    if (this.used.has(name)) throw new Error(`graph '${this.graph.name}': name '${name}' is already used`);
    this.used.add(name);
    this.graph.inputs.push({ name, dtype, shape: [...shape] });
    return name;
  }

  /**
   * Declares `value` as a graph output. If `name` is given and differs, an Identity renames it
   * (ONNX outputs are value names).
   */
  output(value: string, name?: string, info?: { dtype?: DType; shape?: Dim[] }): string {
    let outName = value;
    if (name !== undefined && name !== value) {
      if (this.used.has(name)) throw new Error(`graph '${this.graph.name}': output name '${name}' is already used`);
      this.used.add(name);
      this.graph.nodes.push({ name: this.uniqueName(`${name}_identity`), opType: 'Identity', domain: '', inputs: [value], outputs: [name], attrs: {} });
      outName = name;
    }
    const known = this.graph.valueInfo.get(value);
    this.graph.outputs.push({ name: outName, dtype: info?.dtype ?? known?.dtype ?? 'float32', shape: info?.shape ?? known?.shape });
    return outName;
  }

  /** Adds (or replaces) an initializer; returns its name. */
  initializer(tensor: Tensor): string {
    this.used.add(tensor.name);
    this.graph.initializers.set(tensor.name, tensor);
    return tensor.name;
  }

  /** A float32 trainable parameter with the given values (or zeros). */
  param(name: string, dims: number[], values?: ArrayLike<number>): string {
    const data = new Float32Array(dims.reduce((a, d) => a * d, 1));
    if (values) {
      if (values.length !== data.length) throw new Error(`param '${name}': ${values.length} values for dims [${dims}]`);
      data.set(values);
    }
    return this.initializer({ name: this.uniqueName(name), dtype: 'float32', dims: [...dims], data });
  }

  /** A constant tensor stored as an initializer. Numbers default to float32. */
  constant(values: ArrayLike<number> | TensorData, dims: number[], dtype: DType = 'float32', prefix = 'const'): string {
    let data: TensorData;
    if (dtype === 'int64') {
      data = values instanceof BigInt64Array ? values : BigInt64Array.from(Array.from(values as ArrayLike<number>), (v) => BigInt(Math.trunc(v)));
    } else {
      data = allocateData(dtype, (values as ArrayLike<unknown>).length);
      (data as unknown as { set(a: ArrayLike<unknown>): void }).set(values as ArrayLike<unknown>);
    }
    const expected = dims.reduce((a, d) => a * d, 1);
    if ((data as ArrayLike<unknown>).length !== expected) throw new Error(`constant: ${(data as ArrayLike<unknown>).length} values for dims [${dims}]`);
    return this.initializer({ name: this.uniqueName(prefix), dtype, dims: [...dims], data });
  }

  /** A float32 scalar constant (rank 0). */
  scalar(value: number, dtype: DType = 'float32'): string {
    return this.constant([value], [], dtype, 'scalar');
  }

  /** A 1-D int64 constant, the form ONNX wants for shapes, axes, pads, starts/ends. */
  ints(values: number[]): string {
    return this.constant(values, [values.length], 'int64', 'ints');
  }

  /** Adds a node with one output and returns the output's name. */
  op(opType: string, inputs: string[], attrs: Record<string, AttrInput> = {}, opts: Omit<OpOptions, 'outputs'> & { output?: string } = {}): string {
    const outs = this.opN(opType, inputs, attrs, { ...opts, outputs: opts.output ? [opts.output] : 1 });
    return outs[0]!;
  }

  /** Adds a node and returns the names of all its outputs. */
  opN(opType: string, inputs: string[], attrs: Record<string, AttrInput> = {}, opts: OpOptions = {}): string[] {
    const name = this.uniqueName(opts.name ?? opType);
    const outputs =
      typeof opts.outputs === 'object'
        ? opts.outputs.map((o) => {
            if (o) this.used.add(o);
            return o;
          })
        : Array.from({ length: opts.outputs ?? 1 }, (_, i) => this.uniqueName(`${name}_out${i}`));
    const converted: Record<string, AttrValue> = {};
    for (const [k, v] of Object.entries(attrs)) if (v !== undefined) converted[k] = toAttrValue(k, v);
    const node: Node = { name, opType, domain: opts.domain ?? '', inputs: [...inputs], outputs, attrs: converted };
    if (opts.domain && !this.opsetImports.some((o) => o.domain === opts.domain)) {
      this.opsetImports.push({ domain: opts.domain, version: 1 });
    }
    this.graph.nodes.push(node);
    return outputs;
  }

  toModel(meta: Partial<Pick<Model, 'producerName' | 'producerVersion' | 'docString' | 'metadata'>> = {}): Model {
    return {
      irVersion: 8,
      opsetImports: this.opsetImports.map((o) => ({ ...o })),
      producerName: meta.producerName ?? 'defectforge',
      producerVersion: meta.producerVersion ?? '0.1.0',
      domain: '',
      modelVersion: 1,
      docString: meta.docString ?? '',
      metadata: meta.metadata ?? {},
      graph: this.graph,
    };
  }
}
