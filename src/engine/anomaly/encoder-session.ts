// The spatial encoder E as a function of its weights: one ONNX session whose weights are graph
// inputs, so previews during training (and mask-conditioned sampling) run E with the weights of
// the moment without building a session per set of weights.

import type { Model } from '../onnx/ir';
import { copyModel } from '../onnx/passes/graph-edit';
import { encodeModel } from '../onnx/serialize';
import { createSession, type Session, type SessionOptions } from '../runtime';

export interface EncoderRunner {
  /** mask 0 / non-zero at the image size -> [tokens, width] */
  tokens(mask: ArrayLike<number>, weights: ReadonlyMap<string, Float32Array>): Promise<Float32Array>;
  release(): Promise<void>;
}

export async function createEncoderRunner(encoder: Model, weightNames: readonly string[], image: { width: number; height: number }, session: SessionOptions = {}): Promise<EncoderRunner> {
  const model = copyModel(encoder);
  const g = model.graph;
  const dims = new Map<string, number[]>();
  for (const name of weightNames) {
    const t = g.initializers.get(name);
    if (!t) throw new Error(`spatial encoder '${g.name}': no weight '${name}'`);
    dims.set(name, [...t.dims]);
    g.initializers.delete(name);
    g.inputs.push({ name, dtype: 'float32', shape: [...t.dims] });
  }
  const s: Session = await createSession(encodeModel(model), session);
  const output = g.outputs[0]!.name;
  return {
    async tokens(mask, weights) {
      const { width: W, height: H } = image;
      if (mask.length !== W * H) throw new RangeError(`mask has ${mask.length} pixels; the encoder reads ${W}x${H}`);
      // METHOD.md: the mask mapped to [-1, 1]
      const input = new Float32Array(W * H);
      for (let k = 0; k < input.length; k++) input[k] = mask[k]! > 0 ? 1 : -1;
      const feeds: Record<string, { dtype: 'float32'; dims: number[]; data: Float32Array }> = { mask: { dtype: 'float32', dims: [1, 1, H, W], data: input } };
      for (const [name, d] of dims) {
        const w = weights.get(name);
        if (!w) throw new Error(`spatial encoder: no value for weight '${name}'`);
        feeds[name] = { dtype: 'float32', dims: d, data: w };
      }
      const out = await s.run(feeds, [output]);
      return out[output]!.data as Float32Array;
    },
    release: () => s.release(),
  };
}
