// GENERATED from onnx-subset.proto by generate-schema.ts. Do not edit; regenerate with
//   node --import tsx src/engine/onnx/proto/generate-schema.ts

import type { Schema } from './schema-types';

export const ONNX_SCHEMA: Schema = {
  'AttributeProto': {
    name: 'AttributeProto',
    fields: [
      { name: 'name', number: 1, kind: 'string', repeated: false, packed: false },
      { name: 'f', number: 2, kind: 'float', repeated: false, packed: false },
      { name: 'i', number: 3, kind: 'int64', repeated: false, packed: false },
      { name: 's', number: 4, kind: 'bytes', repeated: false, packed: false },
      { name: 't', number: 5, kind: 'message', message: 'TensorProto', repeated: false, packed: false },
      { name: 'floats', number: 7, kind: 'float', repeated: true, packed: false },
      { name: 'ints', number: 8, kind: 'int64', repeated: true, packed: false },
      { name: 'strings', number: 9, kind: 'bytes', repeated: true, packed: false },
      { name: 'type', number: 20, kind: 'int32', repeated: false, packed: false },
    ],
  },
  'GraphProto': {
    name: 'GraphProto',
    fields: [
      { name: 'node', number: 1, kind: 'message', message: 'NodeProto', repeated: true, packed: false },
      { name: 'name', number: 2, kind: 'string', repeated: false, packed: false },
      { name: 'initializer', number: 5, kind: 'message', message: 'TensorProto', repeated: true, packed: false },
      { name: 'doc_string', number: 10, kind: 'string', repeated: false, packed: false },
      { name: 'input', number: 11, kind: 'message', message: 'ValueInfoProto', repeated: true, packed: false },
      { name: 'output', number: 12, kind: 'message', message: 'ValueInfoProto', repeated: true, packed: false },
      { name: 'value_info', number: 13, kind: 'message', message: 'ValueInfoProto', repeated: true, packed: false },
    ],
  },
  'ModelProto': {
    name: 'ModelProto',
    fields: [
      { name: 'ir_version', number: 1, kind: 'int64', repeated: false, packed: false },
      { name: 'producer_name', number: 2, kind: 'string', repeated: false, packed: false },
      { name: 'producer_version', number: 3, kind: 'string', repeated: false, packed: false },
      { name: 'domain', number: 4, kind: 'string', repeated: false, packed: false },
      { name: 'model_version', number: 5, kind: 'int64', repeated: false, packed: false },
      { name: 'doc_string', number: 6, kind: 'string', repeated: false, packed: false },
      { name: 'graph', number: 7, kind: 'message', message: 'GraphProto', repeated: false, packed: false },
      { name: 'opset_import', number: 8, kind: 'message', message: 'OperatorSetIdProto', repeated: true, packed: false },
      { name: 'metadata_props', number: 14, kind: 'message', message: 'StringStringEntryProto', repeated: true, packed: false },
    ],
  },
  'NodeProto': {
    name: 'NodeProto',
    fields: [
      { name: 'input', number: 1, kind: 'string', repeated: true, packed: false },
      { name: 'output', number: 2, kind: 'string', repeated: true, packed: false },
      { name: 'name', number: 3, kind: 'string', repeated: false, packed: false },
      { name: 'op_type', number: 4, kind: 'string', repeated: false, packed: false },
      { name: 'attribute', number: 5, kind: 'message', message: 'AttributeProto', repeated: true, packed: false },
      { name: 'doc_string', number: 6, kind: 'string', repeated: false, packed: false },
      { name: 'domain', number: 7, kind: 'string', repeated: false, packed: false },
    ],
  },
  'OperatorSetIdProto': {
    name: 'OperatorSetIdProto',
    fields: [
      { name: 'domain', number: 1, kind: 'string', repeated: false, packed: false },
      { name: 'version', number: 2, kind: 'int64', repeated: false, packed: false },
    ],
  },
  'StringStringEntryProto': {
    name: 'StringStringEntryProto',
    fields: [
      { name: 'key', number: 1, kind: 'string', repeated: false, packed: false },
      { name: 'value', number: 2, kind: 'string', repeated: false, packed: false },
    ],
  },
  'TensorProto': {
    name: 'TensorProto',
    fields: [
      { name: 'dims', number: 1, kind: 'int64', repeated: true, packed: false },
      { name: 'data_type', number: 2, kind: 'int32', repeated: false, packed: false },
      { name: 'float_data', number: 4, kind: 'float', repeated: true, packed: true },
      { name: 'int32_data', number: 5, kind: 'int32', repeated: true, packed: true },
      { name: 'string_data', number: 6, kind: 'bytes', repeated: true, packed: false },
      { name: 'int64_data', number: 7, kind: 'int64', repeated: true, packed: true },
      { name: 'name', number: 8, kind: 'string', repeated: false, packed: false },
      { name: 'raw_data', number: 9, kind: 'bytes', repeated: false, packed: false },
      { name: 'double_data', number: 10, kind: 'double', repeated: true, packed: true },
      { name: 'uint64_data', number: 11, kind: 'uint64', repeated: true, packed: true },
      { name: 'doc_string', number: 12, kind: 'string', repeated: false, packed: false },
      { name: 'external_data', number: 13, kind: 'message', message: 'StringStringEntryProto', repeated: true, packed: false },
      { name: 'data_location', number: 14, kind: 'int32', repeated: false, packed: false },
    ],
  },
  'TensorShapeProto': {
    name: 'TensorShapeProto',
    fields: [
      { name: 'dim', number: 1, kind: 'message', message: 'TensorShapeProto.Dimension', repeated: true, packed: false },
    ],
  },
  'TensorShapeProto.Dimension': {
    name: 'TensorShapeProto.Dimension',
    fields: [
      { name: 'dim_value', number: 1, kind: 'int64', repeated: false, packed: false },
      { name: 'dim_param', number: 2, kind: 'string', repeated: false, packed: false },
    ],
  },
  'TypeProto': {
    name: 'TypeProto',
    fields: [
      { name: 'tensor_type', number: 1, kind: 'message', message: 'TypeProto.Tensor', repeated: false, packed: false },
    ],
  },
  'TypeProto.Tensor': {
    name: 'TypeProto.Tensor',
    fields: [
      { name: 'elem_type', number: 1, kind: 'int32', repeated: false, packed: false },
      { name: 'shape', number: 2, kind: 'message', message: 'TensorShapeProto', repeated: false, packed: false },
    ],
  },
  'ValueInfoProto': {
    name: 'ValueInfoProto',
    fields: [
      { name: 'name', number: 1, kind: 'string', repeated: false, packed: false },
      { name: 'type', number: 2, kind: 'message', message: 'TypeProto', repeated: false, packed: false },
    ],
  },
};
