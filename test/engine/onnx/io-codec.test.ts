import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import protobuf from 'protobufjs';
import { GraphBuilder } from '../../../src/engine/onnx/builder';
import type { Model, Tensor } from '../../../src/engine/onnx/ir';
import { decodeModel, encodeModel } from '../../../src/engine/onnx/proto';
import { GENERATED_FILE, PROTO_FILE, generateSchemaSource, protoDirectory } from '../../../src/engine/onnx/proto/generate-schema';
import { subgraphValueReferences } from '../../../src/engine/onnx/proto/subgraphs';
import { createSession } from '../../../src/engine/runtime';

// An independent encoder for the tests: protobufjs over a wider slice of onnx.proto than the
// codec's schema, including fields the IR does not model (functions, training_info, node
// metadata_props, graph-valued attributes, tensor segments).
const FULL_PROTO = `
syntax = "proto2";
package onnx;
message StringStringEntryProto { optional string key = 1; optional string value = 2; }
message OperatorSetIdProto { optional string domain = 1; optional int64 version = 2; }
message TensorShapeProto { message Dimension { optional int64 dim_value = 1; optional string dim_param = 2; } repeated Dimension dim = 1; }
message TypeProto { message Tensor { optional int32 elem_type = 1; optional TensorShapeProto shape = 2; } optional Tensor tensor_type = 1; }
message ValueInfoProto { optional string name = 1; optional TypeProto type = 2; optional string doc_string = 3; }
message TensorProto {
  message Segment { optional int64 begin = 1; optional int64 end = 2; }
  repeated int64 dims = 1; optional int32 data_type = 2; optional Segment segment = 3;
  repeated float float_data = 4 [packed = true]; repeated int32 int32_data = 5 [packed = true];
  repeated bytes string_data = 6; repeated int64 int64_data = 7 [packed = true]; optional string name = 8;
  optional bytes raw_data = 9; repeated double double_data = 10 [packed = true]; repeated uint64 uint64_data = 11 [packed = true];
  repeated StringStringEntryProto external_data = 13; optional int32 data_location = 14;
}
message AttributeProto {
  optional string name = 1; optional float f = 2; optional int64 i = 3; optional bytes s = 4; optional TensorProto t = 5;
  optional GraphProto g = 6; repeated float floats = 7; repeated int64 ints = 8; repeated bytes strings = 9; optional int32 type = 20;
}
message NodeProto {
  repeated string input = 1; repeated string output = 2; optional string name = 3; optional string op_type = 4;
  repeated AttributeProto attribute = 5; optional string domain = 7; repeated StringStringEntryProto metadata_props = 9;
}
message GraphProto {
  repeated NodeProto node = 1; optional string name = 2; repeated TensorProto initializer = 5;
  repeated ValueInfoProto input = 11; repeated ValueInfoProto output = 12; repeated ValueInfoProto value_info = 13;
}
message FunctionProto { optional string name = 1; repeated string input = 4; repeated string output = 5; optional string domain = 10; }
message TrainingInfoProto { optional GraphProto initialization = 1; }
message ModelProto {
  optional int64 ir_version = 1; optional string producer_name = 2; optional GraphProto graph = 7;
  repeated OperatorSetIdProto opset_import = 8; repeated StringStringEntryProto metadata_props = 14;
  repeated TrainingInfoProto training_info = 20; repeated FunctionProto functions = 25;
}`;
const root = protobuf.parse(FULL_PROTO, { keepCase: true }).root;
const ModelProto = root.lookupType('onnx.ModelProto');

function tensorValues(t: Tensor): unknown[] {
  return Array.from(t.data as ArrayLike<unknown>);
}

/** The IR with typed arrays replaced by plain arrays, for deep comparison. */
function plain(model: Model): unknown {
  return JSON.parse(
    JSON.stringify(model, (_k, v: unknown) => {
      if (v instanceof Map) return Object.fromEntries(v);
      if (typeof v === 'bigint') return `${v}n`;
      if (ArrayBuffer.isView(v)) return { typed: v.constructor.name, values: Array.from(v as unknown as ArrayLike<unknown>, (x) => (typeof x === 'bigint' ? `${x}n` : x)) };
      return v;
    }),
  );
}

function richModel(): Model {
  const b = new GraphBuilder('rich ü', { opset: 17 });
  const x = b.input('x', 'float32', ['batch', 3]);
  const w = b.param('w', [3, 3], [1, 2, 3, 4, 5, 6, 7, 8, 9]);
  const y = b.op('MatMul', [x, w]);
  const starts = b.constant([0], [1], 'int64');
  const ends = b.constant([Number.MAX_SAFE_INTEGER], [1], 'int64');
  const sliced = b.op('Slice', [y, starts, ends]);
  const h = b.constant(new Uint16Array([0x3c00, 0xc000]), [2], 'float16');
  b.constant(new BigUint64Array([2n ** 64n - 1n]), [1], 'uint64');
  b.constant(Uint8Array.from([1, 0, 1]), [3], 'bool');
  b.initializer({ name: 'labels', dtype: 'string', dims: [2], data: ['ok', 'défaut'] });
  b.op('Cast', [h], { to: 1 });
  const g = b.op('LeakyRelu', [sliced], { alpha: 0.25 });
  b.opN('Custom', [g], { ints: [1, -2, 2 ** 40], floats: { type: 'floats', value: [0.5, -1.5] }, names: ['a', 'b'], mode: 'nearest' }, { domain: 'com.example', outputs: 1 });
  b.output(g, 'out', { shape: ['batch', 3] });
  b.graph.valueInfo.set(y, { name: y, dtype: 'float32', shape: ['batch', ''] });
  return b.toModel({ docString: 'doc', metadata: { source: 'test', 'clé': 'valeur' } });
}

test('the generated schema table matches the .proto it was generated from', () => {
  const dir = protoDirectory();
  const expected = generateSchemaSource(readFileSync(join(dir, PROTO_FILE), 'utf8'));
  assert.equal(readFileSync(join(dir, GENERATED_FILE), 'utf8'), expected);
});

test('decode -> encode -> decode gives the same IR, and re-encoding is byte-identical', () => {
  const model = richModel();
  const bytes = encodeModel(model);
  const decoded = decodeModel(bytes);
  assert.deepEqual(plain(decoded), plain(model));
  const again = encodeModel(decoded);
  assert.deepEqual(again, bytes);
  assert.deepEqual(plain(decodeModel(again)), plain(model));
});

test('what the codec writes is what protobufjs reads', () => {
  const bytes = encodeModel(richModel());
  const obj = ModelProto.toObject(ModelProto.decode(bytes), { longs: String, bytes: Array }) as {
    graph: { name: string; node: { op_type: string; attribute: { name: string; ints?: string[]; f?: number }[] }[]; initializer: { name: string; raw_data?: number[] }[] };
    metadata_props: { key: string; value: string }[];
  };
  assert.equal(obj.graph.name, 'rich ü');
  assert.deepEqual(obj.metadata_props, [
    { key: 'source', value: 'test' },
    { key: 'clé', value: 'valeur' },
  ]);
  const custom = obj.graph.node.find((n) => n.op_type === 'Custom')!;
  assert.deepEqual(custom.attribute.find((a) => a.name === 'ints')!.ints, ['1', '-2', String(2 ** 40)]);
  const w = obj.graph.initializer.find((t) => t.name === 'w')!;
  assert.deepEqual(Array.from(new Float32Array(new Uint8Array(w.raw_data!).buffer)), [1, 2, 3, 4, 5, 6, 7, 8, 9]);
});

test('typed data fields (float_data, int64_data, int32_data, uint64_data, double_data, string_data) decode to the right values', () => {
  const tensors = [
    { name: 'f', data_type: 1, dims: [2], float_data: [1.5, -2] },
    { name: 'i', data_type: 7, dims: [3], int64_data: ['-9223372036854775808', '9223372036854775807', '5'] },
    { name: 'h', data_type: 10, dims: [2], int32_data: [0x3c00, 0xc000] },
    { name: 'b', data_type: 9, dims: [2], int32_data: [1, 0] },
    { name: 'n8', data_type: 3, dims: [2], int32_data: [-128, 127] },
    { name: 'u', data_type: 12, dims: [1], uint64_data: ['4294967295'] },
    { name: 'd', data_type: 11, dims: [1], double_data: [Math.PI] },
    { name: 's', data_type: 8, dims: [1], string_data: [Buffer.from('naïve')] },
    { name: 'empty', data_type: 1, dims: [0] },
  ];
  const bytes = ModelProto.encode(ModelProto.fromObject({ ir_version: 8, opset_import: [{ domain: '', version: 17 }], graph: { name: 'g', initializer: tensors } })).finish();
  const inits = decodeModel(bytes).graph.initializers;
  assert.deepEqual(tensorValues(inits.get('f')!), [1.5, -2]);
  assert.ok(inits.get('i')!.data instanceof BigInt64Array);
  assert.deepEqual(tensorValues(inits.get('i')!), [-(2n ** 63n), 2n ** 63n - 1n, 5n]);
  assert.ok(inits.get('h')!.data instanceof Uint16Array);
  assert.deepEqual(tensorValues(inits.get('h')!), [0x3c00, 0xc000]);
  assert.deepEqual(tensorValues(inits.get('b')!), [1, 0]);
  assert.deepEqual(tensorValues(inits.get('n8')!), [-128, 127]);
  assert.deepEqual(tensorValues(inits.get('u')!), [4294967295]);
  assert.deepEqual(tensorValues(inits.get('d')!), [Math.PI]);
  assert.deepEqual(inits.get('s')!.data, ['naïve']);
  assert.equal((inits.get('empty')!.data as Float32Array).length, 0);
});

test('fields the IR does not model survive a round trip at every level', () => {
  const thenBranch = { name: 'then', node: [{ op_type: 'Identity', input: ['outer_value'], output: ['t_out'] }], output: [{ name: 't_out' }] };
  const source = {
    ir_version: 8,
    producer_name: 'hand-made',
    opset_import: [{ domain: '', version: 17 }],
    functions: [{ name: 'MyFn', domain: 'local', input: ['a'], output: ['b'] }],
    training_info: [{ initialization: { name: 'init' } }],
    graph: {
      name: 'g',
      node: [
        { op_type: 'Relu', input: ['x'], output: ['outer_value'], metadata_props: [{ key: 'k', value: 'v' }] },
        { op_type: 'If', input: ['cond'], output: ['y'], attribute: [{ name: 'then_branch', type: 5, g: thenBranch }] },
      ],
      initializer: [{ name: 'seg', data_type: 1, dims: [1], float_data: [3], segment: { begin: 0, end: 1 } }],
      input: [{ name: 'x', doc_string: 'input doc', type: { tensor_type: { elem_type: 1, shape: { dim: [{ dim_value: 2 }] } } } }],
    },
  };
  const bytes = ModelProto.encode(ModelProto.fromObject(source)).finish();
  const model = decodeModel(bytes);
  assert.ok(model.unknownFields && model.unknownFields.length > 0);
  assert.ok(model.graph.nodes[0]!.unknownFields);
  const ifAttr = model.graph.nodes[1]!.attrs.then_branch!;
  assert.equal(ifAttr.type, 'raw');
  assert.deepEqual([...subgraphValueReferences(ifAttr)], ['outer_value']);
  assert.ok(model.graph.initializers.get('seg')!.unknownFields);
  assert.ok(model.graph.inputs[0]!.unknownFields);

  const back = ModelProto.toObject(ModelProto.decode(encodeModel(model)), { longs: Number }) as typeof source;
  assert.deepEqual(back.functions, source.functions);
  assert.deepEqual(back.training_info, source.training_info);
  assert.deepEqual(back.graph.node[0]!.metadata_props, source.graph.node[0]!.metadata_props);
  assert.deepEqual(back.graph.node[1]!.attribute, source.graph.node[1]!.attribute);
  assert.deepEqual(back.graph.initializer[0]!.segment, { begin: 0, end: 1 });
  assert.equal(back.graph.input[0]!.doc_string, 'input doc');
});

test('a hand-crafted unknown field appended to a message is kept byte for byte', () => {
  const model = richModel();
  const bytes = encodeModel(model);
  // field 99, wire type 2, payload "xyz": tag = 99 << 3 | 2 = 794 = varint [0x9a, 0x06]
  const unknown = Uint8Array.from([0x9a, 0x06, 3, 0x78, 0x79, 0x7a]);
  const crafted = new Uint8Array(bytes.length + unknown.length);
  crafted.set(bytes);
  crafted.set(unknown, bytes.length);
  const decoded = decodeModel(crafted);
  assert.deepEqual(decoded.unknownFields, unknown);
  assert.deepEqual(encodeModel(decoded), crafted);
});

test('int64 attribute sentinels (INT64_MAX ends) are clamped, never wrapped to negative', () => {
  const b = new GraphBuilder('slice');
  const x = b.input('x', 'float32', [4]);
  b.output(b.op('Slice', [x], { starts: [1], ends: [Number.MAX_VALUE], axes: [0] }), 'y', { shape: [3] });
  const model = b.toModel({});
  model.opsetImports = [{ domain: '', version: 9 }];
  const bytes = encodeModel(model);
  const obj = ModelProto.toObject(ModelProto.decode(bytes), { longs: String }) as { graph: { node: { attribute: { name: string; ints: string[] }[] }[] } };
  assert.deepEqual(obj.graph.node[0]!.attribute.find((a) => a.name === 'ends')!.ints, ['9223372036854775807']);
  const decoded = decodeModel(bytes);
  assert.deepEqual(encodeModel(decoded), bytes);
});

test('big raw_data initializers are views into the model bytes where aligned, copies elsewhere', () => {
  // the byte offset of raw_data depends on the graph name written before it; over four name
  // lengths one is 4-byte aligned, and that one must not be copied
  let views = 0;
  for (const name of ['g', 'gg', 'ggg', 'gggg']) {
    const b = new GraphBuilder(name);
    const x = b.input('x', 'float32', [1, 1024]);
    const w = b.param('w', [1024, 256], Float32Array.from({ length: 1024 * 256 }, (_, i) => (i % 7) - 3));
    b.output(b.op('MatMul', [x, w]), 'y');
    const bytes = encodeModel(b.toModel());
    const data = decodeModel(bytes).graph.initializers.get(w)!.data as Float32Array;
    if (data.buffer === bytes.buffer) views++;
    assert.equal(data[8], (8 % 7) - 3);
    assert.equal(data[1024 * 256 - 1], ((1024 * 256 - 1) % 7) - 3);
  }
  assert.equal(views, 1);
});

test('a decoded model still runs in onnxruntime with the same numbers', async () => {
  const model = decodeModel(encodeModel(richModel()));
  model.graph.nodes = model.graph.nodes.filter((n) => n.opType !== 'Custom');
  const session = await createSession(encodeModel(model));
  const out = await session.run({ x: { dtype: 'float32', dims: [1, 3], data: new Float32Array([1, 0, -1]) } });
  // [1,0,-1] x [[1,2,3],[4,5,6],[7,8,9]] = [-6,-6,-6] -> LeakyRelu(0.25) = -1.5
  assert.deepEqual(Array.from(out.out!.data as Float32Array), [-1.5, -1.5, -1.5]);
  await session.release();
});

test('malformed bytes are refused with the source named', () => {
  assert.throws(() => decodeModel(Uint8Array.from([0x3a, 0x50, 1, 2]), 'broken.onnx'), /broken\.onnx/);
  assert.throws(() => decodeModel(new Uint8Array(0), 'empty.onnx'), /empty\.onnx: the model has no graph/);
});
