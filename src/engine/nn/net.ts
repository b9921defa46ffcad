// The context every layer helper builds into: a GraphBuilder, a seed for deterministic weight
// initialisation, and values that carry their static shape (the helpers need channel counts and
// spatial sizes to emit Reshape targets and to size weights, before any shape inference runs).

import type { GraphBuilder } from '../onnx/builder';
import { Rng } from '../../shared/random';

/** A graph value together with its static shape. */
export interface Value {
  name: string;
  shape: number[];
}

/** How a parameter's initial values are drawn. */
export type Init =
  | { kind: 'uniform'; bound: number }
  | { kind: 'normal'; std: number }
  | { kind: 'constant'; value: number };

/** 32-bit FNV-1a of a string, mixed with a seed: a stable per-parameter seed. */
function hashSeed(seed: number, name: string): number {
  let h = (0x811c9dc5 ^ (seed >>> 0)) >>> 0;
  for (let i = 0; i < name.length; i++) {
    h ^= name.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

export class Net {
  /** names of every float parameter created through `param`, in creation order */
  readonly params: string[] = [];

  constructor(
    readonly b: GraphBuilder,
    readonly seed: number,
  ) {}

  /**
   * A float32 initializer whose values depend only on (seed, name): adding or removing a layer
   * elsewhere never changes another layer's initial weights.
   */
  param(name: string, dims: number[], init: Init): Value {
    const count = dims.reduce((a, d) => a * d, 1);
    let values: Float32Array;
    if (init.kind === 'constant') {
      values = new Float32Array(count).fill(init.value);
    } else {
      const rng = new Rng(hashSeed(this.seed, name));
      values = init.kind === 'uniform' ? rng.uniforms(count, -init.bound, init.bound) : rng.normals(count, init.std);
    }
    const created = this.b.param(name, dims, values);
    this.params.push(created);
    return { name: created, shape: [...dims] };
  }

  /** A float32 constant (not trained). */
  constant(values: ArrayLike<number>, dims: number[], prefix = 'const'): Value {
    return { name: this.b.constant(values, dims, 'float32', prefix), shape: [...dims] };
  }

  /** Emits a node with one output whose shape the caller knows. */
  op(opType: string, inputs: string[], shape: number[], attrs: Parameters<GraphBuilder['op']>[2] = {}): Value {
    return { name: this.b.op(opType, inputs, attrs), shape: [...shape] };
  }

  /** Reshape to a fully static shape. */
  reshape(x: Value, shape: number[]): Value {
    const n = (s: number[]): number => s.reduce((a, d) => a * d, 1);
    if (n(x.shape) !== n(shape)) throw new Error(`reshape of '${x.name}' [${x.shape}] to [${shape}]: element counts differ`);
    return this.op('Reshape', [x.name, this.b.ints(shape)], shape);
  }

  /** x[start:end] along one axis (static shapes: the result's shape is known here). */
  slice(x: Value, axis: number, start: number, end: number): Value {
    const size = x.shape[axis];
    if (size === undefined || !(0 <= start && start < end && end <= size)) throw new Error(`slice of '${x.name}' [${x.shape}]: [${start}, ${end}) on axis ${axis} is out of range`);
    const shape = [...x.shape];
    shape[axis] = end - start;
    return this.op('Slice', [x.name, this.b.ints([start]), this.b.ints([end]), this.b.ints([axis])], shape);
  }

  transpose(x: Value, perm: number[]): Value {
    if (perm.length !== x.shape.length) throw new Error(`transpose of '${x.name}' [${x.shape}]: perm [${perm}] has the wrong rank`);
    return this.op('Transpose', [x.name], perm.map((p) => x.shape[p]!), { perm });
  }
}

/** Broadcast shape of two static shapes (numpy rules); throws naming both values. */
export function broadcastShape(a: Value, b: Value): number[] {
  const rank = Math.max(a.shape.length, b.shape.length);
  const out: number[] = [];
  for (let i = 0; i < rank; i++) {
    const da = a.shape[a.shape.length - rank + i] ?? 1;
    const db = b.shape[b.shape.length - rank + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) throw new Error(`cannot broadcast '${a.name}' [${a.shape}] with '${b.name}' [${b.shape}]`);
    out.push(Math.max(da, db));
  }
  return out;
}

export function add(net: Net, a: Value, b: Value): Value {
  return net.op('Add', [a.name, b.name], broadcastShape(a, b));
}

export function mul(net: Net, a: Value, b: Value): Value {
  return net.op('Mul', [a.name, b.name], broadcastShape(a, b));
}
