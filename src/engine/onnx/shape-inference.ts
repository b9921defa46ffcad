// Static shape and type inference for graphs whose inputs have fixed shapes. Walks the nodes in
// topological order, asks the per-op shape function (./shapes) for the output types, and folds
// small constant computations on the way (shape arithmetic such as Shape -> Gather -> Concat ->
// Reshape) so that later shape functions see their shape/axes/starts operands as numbers.
import { UserError } from '../../shared/errors';
import { defaultOpset, isDefaultDomain, numElements, tensorToNumbers, topologicalOrder, type DType, type Graph, type Model, type Node } from './ir';
import { shapeTable } from './shapes';
import { isFloatType, nodeError } from './shapes/elementwise';
import { reduceAxes } from './shapes/reduction';
import { constantAttrValue, gatherShape, shapeRange, sliceParams } from './shapes/tensor';
import type { ShapeContext, ShapeTable, StaticType } from './shapes/types';

/** Constants up to this many elements are folded; shape arithmetic is far below it. */
const FOLD_LIMIT = 4096;

export interface ShapeInfo {
  readonly opset: number;
  /** the static type of a value; throws naming the value when it is unknown */
  type(value: string): StaticType;
  has(value: string): boolean;
  /** the values of a constant (initializer that no graph input overrides, or folded), else undefined */
  constant(value: string): number[] | undefined;
  /** infers the given nodes (already appended to the graph, producers first) and records their types */
  addNodes(nodes: readonly Node[]): void;
}

/**
 * Infers the type of every value of `model`'s graph, fills graph.valueInfo for every intermediate
 * value and sets the graph outputs' types. Throws a UserError naming the node on a bad graph or on
 * an op without a shape function.
 */
export function inferShapes(model: Model, table: ShapeTable = shapeTable): ShapeInfo {
  const inference = new Inference(model.graph, defaultOpset(model), table);
  inference.addNodes(topologicalOrder(model.graph));
  return inference;
}

class Inference implements ShapeInfo {
  private readonly types = new Map<string, StaticType>();
  private readonly folded = new Map<string, number[]>();
  private readonly inputNames: Set<string>;

  constructor(
    private readonly graph: Graph,
    readonly opset: number,
    private readonly table: ShapeTable,
  ) {
    this.inputNames = new Set(graph.inputs.map((v) => v.name));
    for (const v of graph.inputs) {
      if (!v.shape) throw new UserError('graph-shape', `graph '${graph.name}': input '${v.name}' has no shape; specialise the graph to fixed shapes first`);
      const symbolic = v.shape.find((d) => typeof d !== 'number');
      if (symbolic !== undefined) {
        throw new UserError('graph-shape', `graph '${graph.name}': input '${v.name}' has symbolic dim '${symbolic}'; specialise the graph to fixed shapes first`);
      }
      this.types.set(v.name, { dtype: v.dtype, shape: v.shape as number[] });
    }
  }

  type(value: string): StaticType {
    const t = this.lookup(value);
    if (!t) throw new UserError('graph-shape', `graph '${this.graph.name}': value '${value}' has no known type`);
    return t;
  }

  has(value: string): boolean {
    return this.lookup(value) !== undefined;
  }

  private lookup(value: string): StaticType | undefined {
    const t = this.types.get(value);
    if (t) return t;
    // initializers are looked up lazily: passes (and the gradient builder) add them as they go
    const init = this.graph.initializers.get(value);
    if (!init) return undefined;
    const type = { dtype: init.dtype, shape: [...init.dims] };
    this.types.set(value, type);
    return type;
  }

  constant(value: string): number[] | undefined {
    const f = this.folded.get(value);
    if (f) return f;
    if (this.inputNames.has(value)) return undefined; // an input overrides its initializer's default
    const init = this.graph.initializers.get(value);
    if (!init || !init.data || Array.isArray(init.data) || init.dtype === 'float16' || init.dtype === 'bfloat16') return undefined;
    return tensorToNumbers(init);
  }

  addNodes(nodes: readonly Node[]): void {
    for (const node of nodes) this.inferNode(node);
  }

  private inferNode(node: Node): void {
    const key = isDefaultDomain(node.domain) ? node.opType : `${node.domain}::${node.opType}`;
    const fn = this.table[key];
    if (!fn) throw new UserError('graph-shape', `no shape function for op '${key}' (node '${node.name}')`);
    node.inputs.forEach((name, i) => {
      if (name && !this.has(name)) nodeError(node, `input ${i} '${name}' has no known type (missing, or produced later in a cycle)`);
    });
    const ctx: ShapeContext = {
      node,
      opset: this.opset,
      input: (i) => (node.inputs[i] ? this.lookup(node.inputs[i]!) : undefined),
      constant: (i) => (node.inputs[i] ? this.constant(node.inputs[i]!) : undefined),
    };
    const outTypes = fn(ctx);
    node.outputs.forEach((name, i) => {
      if (!name) return;
      const t = outTypes[i] ?? nodeError(node, `shape function gave no type for output ${i} '${name}'`);
      this.types.set(name, t);
      this.record(name, t);
    });
    const values = this.fold(ctx, outTypes);
    if (values) node.outputs.forEach((name, i) => name && values[i] && this.folded.set(name, values[i]!));
  }

  /** Writes the type into graph.valueInfo (intermediates) or the graph output's declaration. */
  private record(name: string, t: StaticType): void {
    const info = { name, dtype: t.dtype, shape: [...t.shape] };
    const outIndex = this.graph.outputs.findIndex((o) => o.name === name);
    if (outIndex >= 0) this.graph.outputs[outIndex] = { ...this.graph.outputs[outIndex]!, dtype: t.dtype, shape: info.shape };
    else this.graph.valueInfo.set(name, { ...this.graph.valueInfo.get(name), ...info });
  }

  private fold(ctx: ShapeContext, outTypes: StaticType[]): number[][] | undefined {
    const node = ctx.node;
    if (!isDefaultDomain(node.domain) || !FOLDERS[node.opType]) return undefined;
    if (outTypes.some((t) => numElements(t.shape) > FOLD_LIMIT)) return undefined;
    const typeOnly = node.opType === 'Shape' || node.opType === 'Size';
    const inputs: FoldInput[] = [];
    for (let i = 0; i < node.inputs.length; i++) {
      const name = node.inputs[i]!;
      if (!name) {
        inputs.push(undefined);
        continue;
      }
      const type = this.type(name);
      if (typeOnly) {
        inputs.push({ type, values: [] });
        continue;
      }
      if (numElements(type.shape) > FOLD_LIMIT) return undefined;
      const values = this.constant(name);
      if (!values) return undefined;
      inputs.push({ type, values });
    }
    return FOLDERS[node.opType]!(ctx, inputs, outTypes);
  }
}

// ---- constant folding of small tensors (values held as plain numbers, row-major) ----

type FoldInput = { type: StaticType; values: number[] } | undefined;
type Folder = (ctx: ShapeContext, inputs: FoldInput[], out: StaticType[]) => number[][] | undefined;

function stridesOf(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length).fill(1);
  for (let i = shape.length - 2; i >= 0; i--) s[i] = s[i + 1]! * shape[i + 1]!;
  return s;
}

/** For each element of `outShape`, the flat index of the element of `inShape` that broadcasts onto it. */
function broadcastIndex(inShape: readonly number[], outShape: readonly number[]): number[] {
  const total = numElements(outShape);
  const inStrides = stridesOf(inShape);
  const offset = outShape.length - inShape.length;
  const outStrides = stridesOf(outShape);
  const result = new Array<number>(total);
  for (let flat = 0; flat < total; flat++) {
    let idx = 0;
    for (let a = 0; a < inShape.length; a++) {
      const coord = Math.floor(flat / outStrides[a + offset]!) % outShape[a + offset]!;
      idx += (inShape[a] === 1 ? 0 : coord) * inStrides[a]!;
    }
    result[flat] = idx;
  }
  return result;
}

/** Rounds a computed value to what the output dtype can hold (integer ops truncate). */
function coerce(v: number, dtype: DType): number {
  if (dtype === 'bool') return v ? 1 : 0;
  if (dtype === 'float32') return Math.fround(v);
  if (isFloatType(dtype)) return v;
  return Math.trunc(v);
}

function elementwise(f: (args: number[], dtype: DType) => number): Folder {
  return (_ctx, inputs, out) => {
    const shape = out[0]!.shape;
    const present = inputs.filter((x): x is NonNullable<FoldInput> => x !== undefined);
    const maps = present.map((x) => broadcastIndex(x.type.shape, shape));
    const inDtype = present[0]!.type.dtype;
    const values = Array.from({ length: numElements(shape) }, (_, k) =>
      coerce(
        f(
          present.map((x, j) => x.values[maps[j]![k]!]!),
          inDtype,
        ),
        out[0]!.dtype,
      ),
    );
    return [values];
  };
}

const passThrough: Folder = (_ctx, inputs) => [inputs[0]!.values];

const FOLDERS: Record<string, Folder> = {
  Identity: passThrough,
  Reshape: passThrough,
  Squeeze: passThrough,
  Unsqueeze: passThrough,
  Flatten: passThrough,
  Cast: (_ctx, inputs, out) => [inputs[0]!.values.map((v) => coerce(v, out[0]!.dtype))],
  Shape: (ctx, inputs) => {
    const shape = inputs[0]!.type.shape;
    const [start, end] = shapeRange(ctx.node, shape.length);
    return [shape.slice(start, end)];
  },
  Size: (_ctx, inputs) => [[numElements(inputs[0]!.type.shape)]],
  Constant: (ctx) => {
    const v = constantAttrValue(ctx.node).values;
    return v ? [v] : undefined;
  },
  ConstantOfShape: (ctx, _inputs, out) => {
    const value = ctx.node.attrs['value'];
    const fill = value && value.type === 'tensor' ? (constantAttrValue({ ...ctx.node, attrs: { value } }).values?.[0] ?? 0) : 0;
    return [new Array<number>(numElements(out[0]!.shape)).fill(fill)];
  },
  Range: (_ctx, inputs, out) => {
    const [start, , delta] = inputs.map((x) => x!.values[0]!);
    return [Array.from({ length: out[0]!.shape[0]! }, (_, i) => coerce(start! + i * delta!, out[0]!.dtype))];
  },
  Expand: (_ctx, inputs, out) => {
    const map = broadcastIndex(inputs[0]!.type.shape, out[0]!.shape);
    return [map.map((k) => inputs[0]!.values[k]!)];
  },
  Concat: (ctx, inputs, out) => {
    const shape = out[0]!.shape;
    const axis = ctx.node.attrs['axis'] && ctx.node.attrs['axis'].type === 'int' ? ctx.node.attrs['axis'].value : 0;
    const a = axis < 0 ? axis + shape.length : axis;
    const outer = numElements(shape.slice(0, a));
    const values: number[] = [];
    for (let o = 0; o < outer; o++) {
      for (const x of inputs) {
        const block = numElements(x!.type.shape.slice(a));
        values.push(...x!.values.slice(o * block, (o + 1) * block));
      }
    }
    return [values];
  },
  Gather: (ctx, inputs) => {
    const data = inputs[0]!;
    const indices = inputs[1]!;
    const { axis } = gatherShape(ctx.node, data.type.shape, indices.type.shape);
    const dim = data.type.shape[axis]!;
    const outer = numElements(data.type.shape.slice(0, axis));
    const inner = numElements(data.type.shape.slice(axis + 1));
    const values: number[] = [];
    for (let o = 0; o < outer; o++) {
      for (const raw of indices.values) {
        const idx = raw < 0 ? raw + dim : raw;
        if (idx < 0 || idx >= dim) nodeError(ctx.node, `index ${raw} is out of range for axis of size ${dim}`);
        const base = (o * dim + idx) * inner;
        values.push(...data.values.slice(base, base + inner));
      }
    }
    return [values];
  },
  Slice: (ctx, inputs, out) => {
    const data = inputs[0]!;
    const params = sliceParams(ctx, data.type.shape);
    const inStrides = stridesOf(data.type.shape);
    const outShape = out[0]!.shape;
    const outStrides = stridesOf(outShape);
    return [
      Array.from({ length: numElements(outShape) }, (_, flat) => {
        let idx = 0;
        params.forEach((p, a) => {
          const coord = Math.floor(flat / outStrides[a]!) % outShape[a]!;
          idx += (p.start + coord * p.step) * inStrides[a]!;
        });
        return data.values[idx]!;
      }),
    ];
  },
  ReduceProd: reduceFolder((acc, v) => acc * v, 1),
  ReduceSum: reduceFolder((acc, v) => acc + v, 0),
  ReduceMax: reduceFolder((acc, v) => Math.max(acc, v), -Infinity),
  ReduceMin: reduceFolder((acc, v) => Math.min(acc, v), Infinity),
  Add: elementwise(([a, b]) => a! + b!),
  Sub: elementwise(([a, b]) => a! - b!),
  Mul: elementwise(([a, b]) => a! * b!),
  Div: elementwise(([a, b], dtype) => (isFloatType(dtype) ? a! / b! : Math.trunc(a! / b!))),
  Pow: elementwise(([a, b]) => a! ** b!),
  Neg: elementwise(([a]) => -a!),
  Abs: elementwise(([a]) => Math.abs(a!)),
  Floor: elementwise(([a]) => Math.floor(a!)),
  Ceil: elementwise(([a]) => Math.ceil(a!)),
  Sqrt: elementwise(([a]) => Math.sqrt(a!)),
  Not: elementwise(([a]) => (a ? 0 : 1)),
  Equal: elementwise(([a, b]) => (a === b ? 1 : 0)),
  Less: elementwise(([a, b]) => (a! < b! ? 1 : 0)),
  Greater: elementwise(([a, b]) => (a! > b! ? 1 : 0)),
  LessOrEqual: elementwise(([a, b]) => (a! <= b! ? 1 : 0)),
  GreaterOrEqual: elementwise(([a, b]) => (a! >= b! ? 1 : 0)),
  And: elementwise(([a, b]) => (a && b ? 1 : 0)),
  Or: elementwise(([a, b]) => (a || b ? 1 : 0)),
  Where: elementwise(([c, x, y]) => (c ? x! : y!)),
  Max: elementwise((args) => Math.max(...args)),
  Min: elementwise((args) => Math.min(...args)),
  Sum: elementwise((args) => args.reduce((s, v) => s + v, 0)),
};

function reduceFolder(op: (acc: number, v: number) => number, init: number): Folder {
  return (ctx, inputs, out) => {
    const x = inputs[0]!;
    const axes = new Set(reduceAxes(ctx, x.type.shape.length));
    const keptShape = x.type.shape.map((d, i) => (axes.has(i) ? 1 : d));
    const acc = new Array<number>(numElements(keptShape)).fill(init);
    const map = broadcastIndex(keptShape, x.type.shape);
    x.values.forEach((v, k) => (acc[map[k]!] = op(acc[map[k]!]!, v)));
    return [acc.map((v) => coerce(v, out[0]!.dtype))];
  };
}
