// The ONE module that imports onnxruntime-node. Everything else passes HostTensors
// ({ dtype, dims, data }) and never sees ORT types.

import * as ort from 'onnxruntime-node';
import type { DType, TensorData } from '../onnx/ir';

export interface HostTensor {
  dtype: DType;
  dims: number[];
  data: TensorData;
}

export interface SessionOptions {
  /** ORT intra-op threads; 1 is fastest on 2-core VMs (measured) */
  intraOpNumThreads?: number;
}

export interface Session {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  run(feeds: Record<string, HostTensor>, outputs?: string[]): Promise<Record<string, HostTensor>>;
  release(): Promise<void>;
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

function toOrt(t: HostTensor): ort.Tensor {
  const type = ORT_TYPE[t.dtype];
  if (!type) throw new Error(`onnxruntime has no tensor type for ${t.dtype}`);
  return new ort.Tensor(type, t.data as never, t.dims);
}

function fromOrt(t: ort.Tensor): HostTensor {
  const dtype = (t.type === 'float16' ? 'float16' : t.type) as DType;
  return { dtype, dims: [...t.dims], data: t.data as TensorData };
}

/** Creates an inference session from model bytes or a path to a .onnx file. */
export async function createSession(model: Uint8Array | string, options: SessionOptions = {}): Promise<Session> {
  const sessionOptions: ort.InferenceSession.SessionOptions = {
    executionProviders: ['cpu'],
    intraOpNumThreads: options.intraOpNumThreads ?? 1,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
  };
  const session =
    typeof model === 'string' ? await ort.InferenceSession.create(model, sessionOptions) : await ort.InferenceSession.create(model, sessionOptions);
  return {
    inputNames: session.inputNames,
    outputNames: session.outputNames,
    async run(feeds, outputs) {
      const ortFeeds: Record<string, ort.Tensor> = {};
      for (const [k, v] of Object.entries(feeds)) ortFeeds[k] = toOrt(v);
      const result = outputs ? await session.run(ortFeeds, outputs) : await session.run(ortFeeds);
      const out: Record<string, HostTensor> = {};
      for (const [k, v] of Object.entries(result)) out[k] = fromOrt(v);
      return out;
    },
    release: () => session.release(),
  };
}

export function onnxruntimeVersion(): string {
  return ort.env.versions.common ?? 'unknown';
}
