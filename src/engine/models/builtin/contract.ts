// The ONNX I/O of each graph in a built-in package (manifest.ts): names and shapes after the
// symbolic batch dimension, derived from the manifest's sizes. The exporter checks graphs against
// it before writing anything; the loader checks the opened sessions' names.

import { UserError } from '../../../shared/errors';
import type { Model } from '../../onnx/ir';
import { contextLength, type BuiltinManifest } from './manifest';

export const GRAPH_ROLES = ['vae_encoder', 'vae_decoder', 'unet', 'spatial_encoder'] as const;
export type GraphRole = (typeof GRAPH_ROLES)[number];

export interface IoSpec {
  /** value name -> dims after the batch dimension */
  inputs: Record<string, number[]>;
  outputs: Record<string, number[]>;
}

export type ContractSizes = Pick<BuiltinManifest, 'imageSize' | 'latent' | 'tokens' | 'unetMask'>;

export function graphContract(m: ContractSizes): Record<GraphRole, IoSpec> {
  const { width: W, height: H } = m.imageSize;
  const { channels: C, width: w, height: h } = m.latent;
  const L = contextLength(m);
  const D = m.tokens.width;
  return {
    vae_encoder: { inputs: { image: [3, H, W] }, outputs: { latent: [C, h, w] } },
    vae_decoder: { inputs: { latent: [C, h, w] }, outputs: { image: [3, H, W] } },
    unet: {
      inputs: { sample: [C, h, w], timestep: [], context: [L, D], aar_weight: [h * w], aar_columns: [L], ...(m.unetMask ? { mask: [1, H, W] } : {}) },
      outputs: { eps: [C, h, w] },
    },
    spatial_encoder: { inputs: { mask: [1, H, W] }, outputs: { tokens: [m.tokens.spatialTokens, D] } },
  };
}

/**
 * Checks a graph's inputs and outputs against its contract: the same names (no extra inputs: the
 * loader feeds only these), float32, a symbolic batch dimension and exactly the fixed dims.
 */
export function checkGraphContract(model: Model, role: GraphRole, spec: IoSpec): void {
  const where = `${role} graph '${model.graph.name}'`;
  const fail = (problem: string): never => {
    throw new UserError('MODEL_CONTRACT', `${where}: ${problem}`);
  };
  const check = (kind: 'input' | 'output', values: Model['graph']['inputs'], expected: Record<string, number[]>): void => {
    const names = values.map((v) => v.name);
    const want = Object.keys(expected);
    const missing = want.filter((n) => !names.includes(n));
    const extra = names.filter((n) => !want.includes(n));
    if (missing.length || extra.length) {
      fail(`${kind}s are [${names.join(', ')}]; the package format wants [${want.join(', ')}]`);
    }
    for (const v of values) {
      const dims = expected[v.name]!;
      if (v.dtype !== 'float32') fail(`${kind} '${v.name}' is ${v.dtype}, not float32`);
      const shape = v.shape;
      if (!shape || shape.length !== dims.length + 1) fail(`${kind} '${v.name}' has shape [${shape ?? '?'}]; wanted [batch, ${dims.join(', ')}]`);
      if (typeof shape![0] !== 'string') fail(`${kind} '${v.name}' has a fixed batch ${shape![0]}; the batch must be symbolic (see symbolicBatch)`);
      dims.forEach((d, i) => {
        if (shape![i + 1] !== d) fail(`${kind} '${v.name}' has shape [${shape}]; wanted [batch, ${dims.join(', ')}]`);
      });
    }
  };
  check('input', model.graph.inputs, spec.inputs);
  check('output', model.graph.outputs, spec.outputs);
}
