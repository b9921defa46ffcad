// Shared by the pass tests: run a model in onnxruntime and compare outputs.
import assert from 'node:assert/strict';
import type { Model } from '../../../../src/engine/onnx/ir';
import { encodeModel } from '../../../../src/engine/onnx/serialize';
import { createSession, type HostTensor } from '../../../../src/engine/runtime';
import { Rng } from '../../../../src/shared/random';

export async function runModel(model: Model, feeds: Record<string, HostTensor>): Promise<Record<string, HostTensor>> {
  const session = await createSession(encodeModel(model));
  try {
    return await session.run(feeds);
  } finally {
    await session.release();
  }
}

export function randomFeed(rng: Rng, dims: number[], scale = 1): HostTensor {
  return { dtype: 'float32', dims, data: rng.normals(dims.reduce((a, d) => a * d, 1), scale) };
}

export function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tolerance: number, label: string): void {
  assert.equal(actual.length, expected.length, `${label}: length`);
  let worst = 0;
  let at = 0;
  for (let i = 0; i < actual.length; i++) {
    const err = Math.abs(actual[i]! - expected[i]!) / (1 + Math.abs(expected[i]!));
    if (!(err <= worst)) {
      worst = err;
      at = i;
    }
  }
  assert.ok(worst <= tolerance, `${label}: element ${at} is ${actual[at]}, expected ${expected[at]} (relative error ${worst})`);
}

/** Runs both models on the same feeds and compares every output of `before`. */
export async function assertSameOutputs(before: Model, after: Model, feeds: Record<string, HostTensor>, tolerance = 1e-5): Promise<void> {
  const a = await runModel(before, feeds);
  const b = await runModel(after, feeds);
  for (const name of Object.keys(a)) {
    assert.ok(b[name], `output '${name}' is missing after the pass`);
    assert.deepEqual(b[name]!.dims, a[name]!.dims, `output '${name}' dims`);
    assertClose(Array.from(b[name]!.data as ArrayLike<number>), Array.from(a[name]!.data as ArrayLike<number>), tolerance, `output '${name}'`);
  }
}
