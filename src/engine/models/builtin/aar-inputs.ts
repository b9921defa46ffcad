// The package format's AAR inputs (manifest.ts): a UNet takes
//   aar_weight  [B, h*w]  the re-weighting map w_m on the latent grid (1 = no re-weighting)
//   aar_columns [B, L]    1 for the context columns (anomaly tokens) to re-weight, else 0
// and each cross-attention layer on a grid (gh, gw) multiplies its attention probabilities
// [B, heads, gh*gw, L] by
//   factor = 1 + cols (x) (pool(w) - 1)          [B, 1, gh*gw, L]
// where pool(w) is w averaged over the (h/gh) x (w/gw) latent cells each grid cell covers
// (AveragePool with kernel = stride; exact for w = 1, so w = 1 gives the unweighted model
// bit for bit, and so do all-zero columns).
//
// `attachAarInputs` turns a UNet whose attention layers read per-layer factor inputs (nn's
// buildTinyUNet with reweightInputs: `reweight_<res>` of shape [B, 1, res*res, L]) into one with
// the two contract inputs: the factors are computed inside the graph.

import { UserError } from '../../../shared/errors';
import { GraphBuilder } from '../../onnx/builder';
import type { Dim, Model } from '../../onnx/ir';
import { copyModel } from '../../onnx/passes/graph-edit';

export const AAR_WEIGHT_INPUT = 'aar_weight';
export const AAR_COLUMNS_INPUT = 'aar_columns';

export interface AarGraphSpec {
  /** the latent grid aar_weight is given on */
  latent: { width: number; height: number };
  contextLength: number;
  /** graph input name of each per-layer factor input -> the grid of that layer */
  factorInputs: Record<string, { width: number; height: number }>;
}

/**
 * Emits the factor computation for one grid into `b` and returns the value name: `weight` is the
 * [B, h*w] map, `columns` the [B, L] selection.
 */
export function emitAarFactor(b: GraphBuilder, weight: string, columns: string, spec: Pick<AarGraphSpec, 'latent' | 'contextLength'>, grid: { width: number; height: number }, output?: string): string {
  const { width: w, height: h } = spec.latent;
  if (h % grid.height !== 0 || w % grid.width !== 0) {
    throw new UserError('MODEL_AAR', `attention grid ${grid.width}x${grid.height} does not divide the latent grid ${w}x${h}`);
  }
  const kh = h / grid.height;
  const kw = w / grid.width;
  let pooled = b.op('Reshape', [weight, b.ints([-1, 1, h, w])]);
  if (kh > 1 || kw > 1) pooled = b.op('AveragePool', [pooled], { kernel_shape: [kh, kw], strides: [kh, kw] });
  const rows = b.op('Reshape', [pooled, b.ints([-1, 1, grid.height * grid.width, 1])]);
  const cols = b.op('Reshape', [columns, b.ints([-1, 1, 1, spec.contextLength])]);
  const one = b.scalar(1);
  const excess = b.op('Mul', [cols, b.op('Sub', [rows, one])]);
  return b.op('Add', [one, excess], {}, output ? { output } : {});
}

export function attachAarInputs(unet: Model, spec: AarGraphSpec): Model {
  const out = copyModel(unet);
  const g = out.graph;
  const batch: Dim = g.inputs[0]?.shape?.[0] ?? 'batch';
  for (const name of Object.keys(spec.factorInputs)) {
    if (!g.inputs.some((i) => i.name === name)) {
      throw new UserError('MODEL_AAR', `model '${g.name}': no input '${name}' (inputs: ${g.inputs.map((i) => i.name).join(', ')})`);
    }
  }
  if (g.inputs.some((i) => i.name === AAR_WEIGHT_INPUT || i.name === AAR_COLUMNS_INPUT)) {
    throw new UserError('MODEL_AAR', `model '${g.name}' already has AAR inputs`);
  }
  g.inputs = g.inputs.filter((i) => !(i.name in spec.factorInputs));
  const original = g.nodes;
  g.nodes = [];
  const b = new GraphBuilder(g.name, { graph: g, opsetImports: out.opsetImports });
  for (const node of original) {
    if (node.name) b.reserve(node.name);
    for (const o of node.outputs) if (o) b.reserve(o);
  }
  for (const name of Object.keys(spec.factorInputs)) b.reserve(name);
  const weight = b.input(AAR_WEIGHT_INPUT, 'float32', [batch, spec.latent.width * spec.latent.height]);
  const columns = b.input(AAR_COLUMNS_INPUT, 'float32', [batch, spec.contextLength]);
  // the factor nodes come first, so the node list stays in topological order
  for (const [name, grid] of Object.entries(spec.factorInputs)) emitAarFactor(b, weight, columns, spec, grid, name);
  g.nodes.push(...original);
  out.opsetImports = b.opsetImports;
  return out;
}
