// ModelProto bytes <-> graph IR. Decoding keeps every field the IR does not model as raw bytes in
// `unknownFields` (attributes the IR cannot hold become AttrValue {type:'raw'}) and writing
// re-emits them, so a read/write round trip loses nothing but field order. Tensor raw_data stays a
// typed-array view into the model bytes where alignment allows (no copy of big weights).

import {
  DTYPE_BYTES,
  DTYPE_FROM_CODE,
  ONNX_DTYPE_CODE,
  allocateData,
  numElements,
  type AttrValue,
  type Dim,
  type DType,
  type ExternalRef,
  type Graph,
  type Model,
  type Node,
  type OpsetImport,
  type Tensor,
  type TensorData,
  type ValueInfo,
} from '../ir';
import { MessageWriter, concatBytes, decodeMessage, plainBytes, rawLengthDelimitedField, type DecodedMessage, type FieldValue } from './wire';

/** A decoding problem, with the path of the offending element ("graph 'g' / node 'n' / ..."). */
export class OnnxDecodeError extends Error {
  constructor(
    readonly where: string,
    problem: string,
  ) {
    super(`${where}: ${problem}`);
    this.name = 'OnnxDecodeError';
  }
}

const DATA_LOCATION_EXTERNAL = 1;
const TENSOR_EXTERNAL_DATA_FIELD = 13;
const GRAPH_VALUE_INFO_FIELD = 13;

const ATTR_CODE = { float: 1, int: 2, string: 3, tensor: 4, floats: 6, ints: 7, strings: 8 } as const;
const ATTR_FROM_CODE = new Map<number, keyof typeof ATTR_CODE>(Object.entries(ATTR_CODE).map(([k, v]) => [v, k as keyof typeof ATTR_CODE]));

const INT64_MAX = 2n ** 63n - 1n;
const INT64_MIN = -(2n ** 63n);
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

// ---------------------------------------------------------------------------------------------
// small accessors over a decoded message

function all(m: DecodedMessage, name: string): FieldValue[] {
  return m.fields.get(name) ?? [];
}
/** Singular fields: protobuf says the last occurrence wins. */
function last(m: DecodedMessage, name: string): FieldValue | undefined {
  const v = m.fields.get(name);
  return v && v.length > 0 ? v[v.length - 1] : undefined;
}
function str(m: DecodedMessage, name: string): string {
  const v = last(m, name);
  return typeof v === 'string' ? v : '';
}
function int(m: DecodedMessage, name: string, where: string): number {
  const v = last(m, name);
  if (v === undefined) return 0;
  return toSafeNumber(v, where, name);
}
function toSafeNumber(v: FieldValue, where: string, field: string): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') {
    const n = Number(v);
    if (!Number.isSafeInteger(n)) throw new OnnxDecodeError(where, `${field} ${v} is beyond 2^53`);
    return n;
  }
  throw new OnnxDecodeError(where, `${field} is not an integer`);
}
/**
 * Integer attributes: INT64_MAX/INT64_MIN sentinels (Slice 'ends', ...) cannot be held exactly by
 * a JS number; they become +-2^63 as numbers and are clamped back to the int64 range on write.
 */
function attrInt(v: FieldValue): number {
  return typeof v === 'bigint' ? Number(v) : Number(v);
}
function int64ForWire(v: number, where: string): bigint {
  if (!Number.isFinite(v) || !Number.isInteger(v)) throw new Error(`${where}: ${v} is not an integer`);
  const b = BigInt(v);
  return b > INT64_MAX ? INT64_MAX : b < INT64_MIN ? INT64_MIN : b;
}
function bytesOf(v: FieldValue | undefined): Uint8Array | undefined {
  return v instanceof Uint8Array ? v : undefined;
}

// ---------------------------------------------------------------------------------------------
// decoding

/** Decodes ModelProto bytes into the IR. `source` names the file in error messages. */
export function decodeModel(input: Uint8Array, source = 'model'): Model {
  const bytes = plainBytes(input);
  let m: DecodedMessage;
  try {
    m = decodeMessage(bytes, 'ModelProto');
  } catch (e) {
    throw new OnnxDecodeError(source, `not an ONNX model (${(e as Error).message})`);
  }
  const graphBytes = bytesOf(last(m, 'graph'));
  if (!graphBytes) throw new OnnxDecodeError(source, 'the model has no graph');
  const opsetImports: OpsetImport[] = all(m, 'opset_import').map((b) => {
    const o = decodeMessage(b as Uint8Array, 'OperatorSetIdProto');
    return { domain: str(o, 'domain'), version: int(o, 'version', `${source} / opset_import`) };
  });
  const metadata: Record<string, string> = {};
  for (const b of all(m, 'metadata_props')) {
    const e = decodeMessage(b as Uint8Array, 'StringStringEntryProto');
    metadata[str(e, 'key')] = str(e, 'value');
  }
  const model: Model = {
    irVersion: int(m, 'ir_version', source),
    opsetImports,
    producerName: str(m, 'producer_name'),
    producerVersion: str(m, 'producer_version'),
    domain: str(m, 'domain'),
    modelVersion: int(m, 'model_version', source),
    docString: str(m, 'doc_string'),
    metadata,
    graph: decodeGraph(graphBytes, source),
  };
  if (m.unknown) model.unknownFields = m.unknown;
  return model;
}

function decodeGraph(bytes: Uint8Array, source: string): Graph {
  const g = decodeMessage(bytes, 'GraphProto');
  const name = str(g, 'name');
  const where = `${source} / graph '${name}'`;
  const unknown: Uint8Array[] = g.unknown ? [g.unknown] : [];
  const initializers = new Map<string, Tensor>();
  for (const b of all(g, 'initializer')) {
    const t = decodeTensor(b as Uint8Array, `${where} / initializer`);
    initializers.set(t.name, t);
  }
  const valueInfo = new Map<string, ValueInfo>();
  for (const b of all(g, 'value_info')) {
    const v = decodeValueInfo(b as Uint8Array, `${where} / value_info`, true);
    // value_info of a type the IR cannot hold (sequence, map, ...) is kept verbatim
    if (v) valueInfo.set(v.name, v);
    else unknown.push(rawLengthDelimitedField(GRAPH_VALUE_INFO_FIELD, b as Uint8Array));
  }
  const graph: Graph = {
    name,
    nodes: all(g, 'node').map((b, i) => decodeNode(b as Uint8Array, where, i)),
    inputs: all(g, 'input').map((b) => decodeValueInfo(b as Uint8Array, `${where} / input`, false)!),
    outputs: all(g, 'output').map((b) => decodeValueInfo(b as Uint8Array, `${where} / output`, false)!),
    initializers,
    valueInfo,
  };
  const doc = str(g, 'doc_string');
  if (doc) graph.docString = doc;
  if (unknown.length > 0) graph.unknownFields = concatBytes(unknown);
  return graph;
}

function decodeNode(bytes: Uint8Array, where: string, index: number): Node {
  const n = decodeMessage(bytes, 'NodeProto');
  const name = str(n, 'name');
  const nodeWhere = `${where} / node '${name || `#${index}`}' (${str(n, 'op_type')})`;
  const attrs: Record<string, AttrValue> = {};
  for (const b of all(n, 'attribute')) {
    const [attrName, value] = decodeAttribute(b as Uint8Array, nodeWhere);
    attrs[attrName] = value;
  }
  const node: Node = {
    name,
    opType: str(n, 'op_type'),
    domain: str(n, 'domain'),
    inputs: all(n, 'input') as string[],
    outputs: all(n, 'output') as string[],
    attrs,
  };
  const doc = str(n, 'doc_string');
  if (doc) node.docString = doc;
  if (n.unknown) node.unknownFields = n.unknown;
  return node;
}

function decodeAttribute(bytes: Uint8Array, where: string): [string, AttrValue] {
  const a = decodeMessage(bytes, 'AttributeProto');
  const name = str(a, 'name');
  const raw: [string, AttrValue] = [name, { type: 'raw', value: bytes.slice() }];
  // anything the IR's AttrValue cannot carry (graphs, doc strings, ref_attr_name, ...) keeps the
  // whole attribute verbatim
  if (a.unknown) return raw;
  let kind = ATTR_FROM_CODE.get(int(a, 'type', `${where} / attribute '${name}'`));
  if (kind === undefined && last(a, 'type') === undefined) kind = inferAttrKind(a);
  switch (kind) {
    case 'float':
      return [name, { type: 'float', value: Number(last(a, 'f') ?? 0) }];
    case 'int':
      return [name, { type: 'int', value: attrInt(last(a, 'i') ?? 0) }];
    case 'string': {
      const s = utf8OrUndefined(bytesOf(last(a, 's')) ?? new Uint8Array(0));
      return s === undefined ? raw : [name, { type: 'string', value: s }];
    }
    case 'tensor': {
      const t = bytesOf(last(a, 't'));
      if (!t) throw new OnnxDecodeError(where, `tensor attribute '${name}' has no tensor`);
      return [name, { type: 'tensor', value: decodeTensor(t, `${where} / attribute '${name}'`) }];
    }
    case 'floats':
      return [name, { type: 'floats', value: all(a, 'floats').map(Number) }];
    case 'ints':
      return [name, { type: 'ints', value: all(a, 'ints').map(attrInt) }];
    case 'strings': {
      const values = all(a, 'strings').map((s) => utf8OrUndefined(s as Uint8Array));
      return values.some((s) => s === undefined) ? raw : [name, { type: 'strings', value: values as string[] }];
    }
    default:
      return raw;
  }
}

/** IR version 1 attributes have no `type`: the field that is present says it. */
function inferAttrKind(a: DecodedMessage): keyof typeof ATTR_CODE | undefined {
  if (a.fields.has('f')) return 'float';
  if (a.fields.has('i')) return 'int';
  if (a.fields.has('s')) return 'string';
  if (a.fields.has('t')) return 'tensor';
  if (a.fields.has('floats')) return 'floats';
  if (a.fields.has('ints')) return 'ints';
  if (a.fields.has('strings')) return 'strings';
  return undefined;
}

function utf8OrUndefined(bytes: Uint8Array): string | undefined {
  try {
    return strictUtf8.decode(bytes);
  } catch {
    return undefined;
  }
}

/** Returns undefined for a non-tensor type when `optional` (graph value_info), else throws. */
function decodeValueInfo(bytes: Uint8Array, where: string, optional: boolean): ValueInfo | undefined {
  const v = decodeMessage(bytes, 'ValueInfoProto');
  const name = str(v, 'name');
  const valueWhere = `${where} '${name}'`;
  const typeBytes = bytesOf(last(v, 'type'));
  const type = typeBytes ? decodeMessage(typeBytes, 'TypeProto') : undefined;
  const tensorBytes = type ? bytesOf(last(type, 'tensor_type')) : undefined;
  if (!type || !tensorBytes || type.unknown) {
    if (optional) return undefined;
    throw new OnnxDecodeError(valueWhere, 'only tensor-typed graph inputs and outputs are supported');
  }
  const tt = decodeMessage(tensorBytes, 'TypeProto.Tensor');
  const code = int(tt, 'elem_type', valueWhere);
  const dtype = DTYPE_FROM_CODE.get(code);
  if (!dtype) {
    if (optional) return undefined;
    throw new OnnxDecodeError(valueWhere, `element type ${code} is not supported`);
  }
  const shapeBytes = bytesOf(last(tt, 'shape'));
  let shape: Dim[] | undefined;
  if (shapeBytes) {
    const s = decodeMessage(shapeBytes, 'TensorShapeProto');
    shape = all(s, 'dim').map((d) => {
      const dim = decodeMessage(d as Uint8Array, 'TensorShapeProto.Dimension');
      if (dim.fields.has('dim_value')) return int(dim, 'dim_value', valueWhere);
      // a dimension with neither value nor name is unknown: '' (written back as an empty Dimension)
      return str(dim, 'dim_param');
    });
  }
  const info: ValueInfo = { name, dtype, shape };
  if (v.unknown) info.unknownFields = v.unknown;
  return info;
}

function decodeTensor(bytes: Uint8Array, where: string): Tensor {
  const t = decodeMessage(bytes, 'TensorProto');
  const name = str(t, 'name');
  const tensorWhere = `${where} '${name}'`;
  const code = int(t, 'data_type', tensorWhere);
  const dtype = DTYPE_FROM_CODE.get(code);
  if (!dtype) throw new OnnxDecodeError(tensorWhere, `data type ${code} is not supported`);
  const dims = all(t, 'dims').map((d) => {
    const n = toSafeNumber(d, tensorWhere, 'dims');
    if (n < 0) throw new OnnxDecodeError(tensorWhere, `negative dimension ${n}`);
    return n;
  });
  const tensor: Tensor = { name, dtype, dims };
  const doc = str(t, 'doc_string');
  if (doc) tensor.docString = doc;
  const unknown: Uint8Array[] = t.unknown ? [t.unknown] : [];
  if (int(t, 'data_location', tensorWhere) === DATA_LOCATION_EXTERNAL) {
    tensor.external = decodeExternal(t, tensorWhere, unknown);
  } else {
    tensor.data = decodeTensorData(t, dtype, numElements(dims), tensorWhere);
    // external_data entries on a DEFAULT-location tensor mean nothing but are kept
    for (const e of all(t, 'external_data')) unknown.push(rawLengthDelimitedField(TENSOR_EXTERNAL_DATA_FIELD, e as Uint8Array));
  }
  if (unknown.length > 0) tensor.unknownFields = concatBytes(unknown);
  return tensor;
}

function decodeExternal(t: DecodedMessage, where: string, unknown: Uint8Array[]): ExternalRef {
  let location: string | undefined;
  let offset = 0;
  let length = -1;
  for (const b of all(t, 'external_data')) {
    const e = decodeMessage(b as Uint8Array, 'StringStringEntryProto');
    const key = str(e, 'key');
    const value = str(e, 'value');
    const asInt = (): number => {
      if (!/^\d+$/.test(value)) throw new OnnxDecodeError(where, `external data ${key} '${value}' is not a non-negative integer`);
      return Number(value);
    };
    if (key === 'location') location = value;
    else if (key === 'offset') offset = asInt();
    else if (key === 'length') length = asInt();
    // 'checksum' and any future keys: kept verbatim
    else unknown.push(rawLengthDelimitedField(TENSOR_EXTERNAL_DATA_FIELD, b as Uint8Array));
  }
  if (!location) throw new OnnxDecodeError(where, 'external data without a location');
  return { location, offset, length };
}

function decodeTensorData(t: DecodedMessage, dtype: DType, count: number, where: string): TensorData {
  const raw = bytesOf(last(t, 'raw_data'));
  if (raw) {
    if (dtype === 'string') throw new OnnxDecodeError(where, 'string tensors cannot use raw_data');
    if (raw.length !== count * DTYPE_BYTES[dtype]) {
      throw new OnnxDecodeError(where, `raw_data holds ${raw.length} bytes, dims need ${count * DTYPE_BYTES[dtype]}`);
    }
    return typedView(dtype, raw);
  }
  const fieldFor: Record<DType, string> = {
    float32: 'float_data',
    float64: 'double_data',
    int64: 'int64_data',
    uint32: 'uint64_data',
    uint64: 'uint64_data',
    string: 'string_data',
    int32: 'int32_data',
    int16: 'int32_data',
    int8: 'int32_data',
    uint16: 'int32_data',
    uint8: 'int32_data',
    bool: 'int32_data',
    // 16-bit floats travel as their bit patterns in int32_data
    float16: 'int32_data',
    bfloat16: 'int32_data',
  };
  const values = all(t, fieldFor[dtype]);
  if (values.length !== count) throw new OnnxDecodeError(where, `${fieldFor[dtype]} holds ${values.length} values, dims need ${count}`);
  if (dtype === 'string') {
    const utf8 = new TextDecoder();
    return values.map((v) => utf8.decode(v as Uint8Array));
  }
  const data = allocateData(dtype, count);
  if (data instanceof BigInt64Array || data instanceof BigUint64Array) {
    for (let i = 0; i < count; i++) data[i] = BigInt(values[i] as bigint | number);
  } else {
    const out = data as Exclude<TensorData, string[] | BigInt64Array | BigUint64Array>;
    for (let i = 0; i < count; i++) out[i] = Number(values[i]);
  }
  return data;
}

/** A typed array over raw little-endian bytes: a view when aligned, else an aligned copy. */
function typedView(dtype: DType, raw: Uint8Array): TensorData {
  const size = DTYPE_BYTES[dtype];
  const aligned = raw.byteOffset % size === 0;
  const bytes = aligned ? raw : raw.slice();
  const { buffer, byteOffset } = bytes;
  const n = bytes.length / size;
  switch (dtype) {
    case 'float32':
      return new Float32Array(buffer, byteOffset, n);
    case 'float64':
      return new Float64Array(buffer, byteOffset, n);
    case 'float16':
    case 'bfloat16':
    case 'uint16':
      return new Uint16Array(buffer, byteOffset, n);
    case 'int8':
      return new Int8Array(buffer, byteOffset, n);
    case 'uint8':
    case 'bool':
      return new Uint8Array(buffer, byteOffset, n);
    case 'int16':
      return new Int16Array(buffer, byteOffset, n);
    case 'int32':
      return new Int32Array(buffer, byteOffset, n);
    case 'uint32':
      return new Uint32Array(buffer, byteOffset, n);
    case 'int64':
      return new BigInt64Array(buffer, byteOffset, n);
    case 'uint64':
      return new BigUint64Array(buffer, byteOffset, n);
    case 'string':
      throw new Error('unreachable: string tensors have no raw bytes');
  }
}

// ---------------------------------------------------------------------------------------------
// encoding

/** Serialises a model to ModelProto bytes. */
export function encodeModel(model: Model): Uint8Array {
  const w = new MessageWriter('ModelProto');
  w.put('ir_version', model.irVersion);
  if (model.producerName) w.put('producer_name', model.producerName);
  if (model.producerVersion) w.put('producer_version', model.producerVersion);
  if (model.domain) w.put('domain', model.domain);
  if (model.modelVersion) w.put('model_version', model.modelVersion);
  if (model.docString) w.put('doc_string', model.docString);
  w.message('graph', graphWriter(model.graph));
  for (const o of model.opsetImports) {
    w.message('opset_import', new MessageWriter('OperatorSetIdProto').put('domain', o.domain).put('version', o.version));
  }
  for (const [k, v] of Object.entries(model.metadata)) w.message('metadata_props', entryWriter(k, v));
  if (model.unknownFields) w.raw(model.unknownFields);
  return w.finish();
}

function entryWriter(key: string, value: string): MessageWriter {
  return new MessageWriter('StringStringEntryProto').put('key', key).put('value', value);
}

function graphWriter(g: Graph): MessageWriter {
  const w = new MessageWriter('GraphProto');
  for (const n of g.nodes) w.message('node', nodeWriter(n, g.name));
  w.put('name', g.name);
  for (const t of g.initializers.values()) w.message('initializer', tensorWriter(t));
  if (g.docString) w.put('doc_string', g.docString);
  for (const v of g.inputs) w.message('input', valueInfoWriter(v));
  for (const v of g.outputs) w.message('output', valueInfoWriter(v));
  for (const v of g.valueInfo.values()) w.message('value_info', valueInfoWriter(v));
  if (g.unknownFields) w.raw(g.unknownFields);
  return w;
}

function nodeWriter(n: Node, graphName: string): MessageWriter {
  const w = new MessageWriter('NodeProto');
  w.putAll('input', n.inputs);
  w.putAll('output', n.outputs);
  if (n.name) w.put('name', n.name);
  w.put('op_type', n.opType);
  for (const [name, a] of Object.entries(n.attrs)) {
    if (a.type === 'raw') w.raw(rawLengthDelimitedField(5, a.value));
    else w.message('attribute', attributeWriter(name, a, `graph '${graphName}' / node '${n.name}' / attribute '${name}'`));
  }
  if (n.docString) w.put('doc_string', n.docString);
  if (n.domain) w.put('domain', n.domain);
  if (n.unknownFields) w.raw(n.unknownFields);
  return w;
}

function attributeWriter(name: string, a: Exclude<AttrValue, { type: 'raw' }>, where: string): MessageWriter {
  const w = new MessageWriter('AttributeProto');
  w.put('name', name);
  w.put('type', ATTR_CODE[a.type]);
  switch (a.type) {
    case 'float':
      w.put('f', a.value);
      break;
    case 'int':
      w.put('i', int64ForWire(a.value, where));
      break;
    case 'string':
      w.put('s', a.value);
      break;
    case 'tensor':
      w.message('t', tensorWriter(a.value));
      break;
    case 'floats':
      w.putAll('floats', a.value);
      break;
    case 'ints':
      w.putAll(
        'ints',
        a.value.map((v) => int64ForWire(v, where)),
      );
      break;
    case 'strings':
      w.putAll('strings', a.value);
      break;
  }
  return w;
}

function valueInfoWriter(v: ValueInfo): MessageWriter {
  const tensorType = new MessageWriter('TypeProto.Tensor').put('elem_type', ONNX_DTYPE_CODE[v.dtype]);
  if (v.shape) {
    const shape = new MessageWriter('TensorShapeProto');
    for (const d of v.shape) {
      const dim = new MessageWriter('TensorShapeProto.Dimension');
      if (typeof d === 'number') dim.put('dim_value', d);
      else if (d !== '') dim.put('dim_param', d);
      shape.message('dim', dim);
    }
    tensorType.message('shape', shape);
  }
  const w = new MessageWriter('ValueInfoProto').put('name', v.name);
  w.message('type', new MessageWriter('TypeProto').message('tensor_type', tensorType));
  if (v.unknownFields) w.raw(v.unknownFields);
  return w;
}

function tensorWriter(t: Tensor): MessageWriter {
  const w = new MessageWriter('TensorProto');
  w.putAll('dims', t.dims);
  w.put('data_type', ONNX_DTYPE_CODE[t.dtype]);
  w.put('name', t.name);
  if (t.docString) w.put('doc_string', t.docString);
  if (t.external) {
    w.message('external_data', entryWriter('location', t.external.location));
    w.message('external_data', entryWriter('offset', String(t.external.offset)));
    if (t.external.length >= 0) w.message('external_data', entryWriter('length', String(t.external.length)));
    w.put('data_location', DATA_LOCATION_EXTERNAL);
  } else if (t.data) {
    if (Array.isArray(t.data)) w.putAll('string_data', t.data);
    else w.put('raw_data', new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
  } else if (numElements(t.dims) > 0) {
    throw new Error(`tensor '${t.name}' has neither data nor an external reference`);
  }
  if (t.unknownFields) w.raw(t.unknownFields);
  return w;
}
