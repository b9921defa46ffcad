// HostTensor <-> onnxruntime Tensor. Everything outside src/engine/runtime sees only HostTensors.

import * as ort from 'onnxruntime-node';
import type { DType, TensorData } from '../onnx/ir';

export interface HostTensor {
  dtype: DType;
  dims: number[];
  data: TensorData;
}

const ORT_TYPE: Partial<Record<DType, ort.Tensor.Type>> = {
  float32: 'float32',
  float16: 'float16',
  float64: 'float64',
  int8: 'int8',
  uint8: 'uint8',
  int16: 'int16',
  uint16: 'uint16',
  int32: 'int32',
  uint32: 'uint32',
  int64: 'int64',
  uint64: 'uint64',
  bool: 'bool',
  string: 'string',
};

export function toOrt(t: HostTensor, name: string): ort.Tensor {
  const type = ORT_TYPE[t.dtype];
  if (!type) throw new Error(`input '${name}': onnxruntime has no tensor type for ${t.dtype}`);
  return new ort.Tensor(type, t.data as never, t.dims);
}

export function fromOrt(t: ort.Tensor): HostTensor {
  return { dtype: t.type as DType, dims: [...t.dims], data: t.data as TensorData };
}
