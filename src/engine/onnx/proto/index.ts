// The ONNX protobuf codec: ModelProto bytes <-> graph IR.
export { decodeModel, encodeModel, OnnxDecodeError } from './codec';
export { subgraphValueReferences } from './subgraphs';
