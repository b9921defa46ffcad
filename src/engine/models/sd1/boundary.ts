// Converting at the boundary of a model: the pipelines hand float32, float16 models take and return
// IEEE binary16 bit patterns (or a Float16Array where the platform has one); timesteps take the
// model's integer or float type.

import type { HostTensor } from '../../runtime';
import { float32ToHalf, halfToFloat32 } from './float16';
import type { FloatType, TimestepType } from './signatures';

export function floatTensor(values: Float32Array, dims: number[], dtype: FloatType): HostTensor {
  return dtype === 'float16' ? { dtype, dims, data: float32ToHalf(values) } : { dtype, dims, data: values };
}

/** A model output as float32, whatever its float type. */
export function readFloats(t: HostTensor, where: string): Float32Array {
  if (t.dtype === 'float32') return t.data as Float32Array;
  if (t.dtype === 'float16') {
    const data = t.data as ArrayLike<number>;
    // a Float16Array already holds numbers; a Uint16Array holds bit patterns
    return data instanceof Uint16Array ? halfToFloat32(data) : Float32Array.from(data);
  }
  throw new Error(`${where}: expected a float32 or float16 output, got ${t.dtype}`);
}

export function timestepTensor(timesteps: number[], dtype: TimestepType, rank: 0 | 1, where: string): HostTensor {
  let values = timesteps;
  if (rank === 0) {
    if (timesteps.some((t) => t !== timesteps[0])) throw new Error(`${where}: the model takes one scalar timestep; got different timesteps [${timesteps}] in one batch`);
    values = [timesteps[0]!];
  }
  const dims = rank === 0 ? [] : [values.length];
  switch (dtype) {
    case 'int64':
      return { dtype, dims, data: BigInt64Array.from(values, (t) => BigInt(Math.round(t))) };
    case 'int32':
      return { dtype, dims, data: Int32Array.from(values, (t) => Math.round(t)) };
    case 'float32':
      return { dtype, dims, data: Float32Array.from(values) };
    case 'float16':
      return { dtype, dims, data: float32ToHalf(values) };
  }
}
