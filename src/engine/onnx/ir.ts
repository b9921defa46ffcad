// The in-memory ONNX graph IR used by every builder, pass, gradient rule and model loader.
// Values are referred to by name (plain strings) as in ONNX itself; an empty string is an omitted
// optional input. Fields the IR does not model survive a read/write round trip as raw protobuf
// bytes in `unknownFields` (owned by the codec in ./proto).

export type DType =
  | 'float32'
  | 'float16'
  | 'bfloat16'
  | 'float64'
  | 'int8'
  | 'uint8'
  | 'int16'
  | 'uint16'
  | 'int32'
  | 'uint32'
  | 'int64'
  | 'uint64'
  | 'bool'
  | 'string';

/** TensorProto.DataType numbers from onnx.proto. */
export const ONNX_DTYPE_CODE: Record<DType, number> = {
  float32: 1,
  uint8: 2,
  int8: 3,
  uint16: 4,
  int16: 5,
  int32: 6,
  int64: 7,
  string: 8,
  bool: 9,
  float16: 10,
  float64: 11,
  uint32: 12,
  uint64: 13,
  bfloat16: 16,
};

export const DTYPE_FROM_CODE: ReadonlyMap<number, DType> = new Map(
  (Object.entries(ONNX_DTYPE_CODE) as [DType, number][]).map(([k, v]) => [v, k]),
);

export const DTYPE_BYTES: Record<DType, number> = {
  float32: 4,
  float16: 2,
  bfloat16: 2,
  float64: 8,
  int8: 1,
  uint8: 1,
  int16: 2,
  uint16: 2,
  int32: 4,
  uint32: 4,
  int64: 8,
  uint64: 8,
  bool: 1,
  string: 0,
};

/** Host storage per dtype: float16/bfloat16 are kept as their raw 16-bit patterns. */
export type TensorData =
  | Float32Array
  | Float64Array
  | Int8Array
  | Uint8Array
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | BigInt64Array
  | BigUint64Array
  | string[];

/** A dimension: a fixed size, or a symbolic name (dim_param) for dynamic axes. */
export type Dim = number | string;

export interface ValueInfo {
  name: string;
  dtype: DType;
  /** undefined = rank unknown */
  shape: Dim[] | undefined;
  unknownFields?: Uint8Array;
}

/** Tensor bytes that live in a file beside the model (ONNX external data). */
export interface ExternalRef {
  /** path relative to the model's folder, as written in the model */
  location: string;
  offset: number;
  /** byte length; -1 when the model did not say (then: the rest of the file) */
  length: number;
}

export interface Tensor {
  name: string;
  dtype: DType;
  dims: number[];
  /** the values, row-major; absent when `external` holds them */
  data?: TensorData;
  external?: ExternalRef;
  docString?: string;
  unknownFields?: Uint8Array;
}

export type AttrValue =
  | { type: 'float'; value: number }
  | { type: 'int'; value: number }
  | { type: 'string'; value: string }
  | { type: 'tensor'; value: Tensor }
  | { type: 'floats'; value: number[] }
  | { type: 'ints'; value: number[] }
  | { type: 'strings'; value: string[] }
  /** graph-valued and other attributes we never interpret: raw AttributeProto bytes */
  | { type: 'raw'; value: Uint8Array };

export interface Node {
  name: string;
  opType: string;
  /** '' (or 'ai.onnx') = the default ONNX domain; 'com.microsoft' = ORT contrib ops */
  domain: string;
  inputs: string[];
  outputs: string[];
  attrs: Record<string, AttrValue>;
  docString?: string;
  unknownFields?: Uint8Array;
}

export interface Graph {
  name: string;
  nodes: Node[];
  inputs: ValueInfo[];
  outputs: ValueInfo[];
  initializers: Map<string, Tensor>;
  /** intermediate value types (filled by shape inference, or read from the model) */
  valueInfo: Map<string, ValueInfo>;
  docString?: string;
  unknownFields?: Uint8Array;
}

export interface OpsetImport {
  domain: string;
  version: number;
}

export interface Model {
  irVersion: number;
  opsetImports: OpsetImport[];
  producerName: string;
  producerVersion: string;
  domain: string;
  modelVersion: number;
  docString: string;
  metadata: Record<string, string>;
  graph: Graph;
  unknownFields?: Uint8Array;
}

export function isDefaultDomain(domain: string): boolean {
  return domain === '' || domain === 'ai.onnx';
}

/** The default-domain opset a model imports (the version gradient rules and passes key on). */
export function defaultOpset(model: Model): number {
  const entry = model.opsetImports.find((o) => isDefaultDomain(o.domain));
  if (!entry) throw new Error(`model '${model.graph.name}' imports no default-domain opset`);
  return entry.version;
}

export function numElements(dims: readonly number[]): number {
  let n = 1;
  for (const d of dims) n *= d;
  return n;
}

export function emptyGraph(name: string): Graph {
  return { name, nodes: [], inputs: [], outputs: [], initializers: new Map(), valueInfo: new Map() };
}

/** Allocates host storage of the right typed-array kind for a dtype. */
export function allocateData(dtype: DType, count: number): TensorData {
  switch (dtype) {
    case 'float32':
      return new Float32Array(count);
    case 'float64':
      return new Float64Array(count);
    case 'float16':
    case 'bfloat16':
    case 'uint16':
      return new Uint16Array(count);
    case 'int8':
      return new Int8Array(count);
    case 'uint8':
    case 'bool':
      return new Uint8Array(count);
    case 'int16':
      return new Int16Array(count);
    case 'int32':
      return new Int32Array(count);
    case 'uint32':
      return new Uint32Array(count);
    case 'int64':
      return new BigInt64Array(count);
    case 'uint64':
      return new BigUint64Array(count);
    case 'string':
      return new Array<string>(count).fill('');
  }
}

/** Reads a tensor's values as plain numbers (int64 via Number; callers keep them small). */
export function tensorToNumbers(t: Tensor): number[] {
  if (!t.data) throw new Error(`tensor '${t.name}' has external data; load it first`);
  if (Array.isArray(t.data)) throw new Error(`tensor '${t.name}' holds strings, not numbers`);
  return Array.from(t.data as ArrayLike<number | bigint>, (v) => Number(v));
}

/** Walks nodes so that each node comes after the producers of its inputs. Throws on cycles. */
export function topologicalOrder(graph: Graph): Node[] {
  const producer = new Map<string, Node>();
  for (const node of graph.nodes) for (const out of node.outputs) if (out) producer.set(out, node);
  const state = new Map<Node, 'visiting' | 'done'>();
  const order: Node[] = [];
  const visit = (root: Node): void => {
    // explicit stack: graphs of SD's size recurse too deep for the JS stack
    const stack: { node: Node; next: number }[] = [{ node: root, next: 0 }];
    state.set(root, 'visiting');
    while (stack.length > 0) {
      const top = stack[stack.length - 1]!;
      if (top.next < top.node.inputs.length) {
        const dep = producer.get(top.node.inputs[top.next++]!);
        if (!dep) continue;
        const s = state.get(dep);
        if (s === 'visiting') throw new Error(`graph '${graph.name}' has a cycle through node '${dep.name}'`);
        if (s === undefined) {
          state.set(dep, 'visiting');
          stack.push({ node: dep, next: 0 });
        }
      } else {
        state.set(top.node, 'done');
        order.push(top.node);
        stack.pop();
      }
    }
  };
  for (const node of graph.nodes) if (!state.has(node)) visit(node);
  return order;
}
