// The ONE forward graph of (masked) textual inversion that the training composer differentiates:
//
//   z_t     = sqrt(abar_t) z_0 + sqrt(1 - abar_t) eps                  (q(z_t | z_0), in-graph)
//   context = Concat_tokens[ fixed rows | trained tokens | E(mask) ]   (the package's layout)
//   eps_hat = UNet(z_t, t, context)                                    (frozen: weights stay initializers)
//   L       = mean over (batch, channels, latent cells) of m' * (target - eps_hat)^2
//
// target is eps (or v = sqrt(abar) eps - sqrt(1 - abar) z_0 for v-prediction models); m' is the
// mask on the latent grid (METHOD.md, masked textual inversion) or absent (plain inversion, the
// mask embedding). The trained tokens are a graph input of shape [tokens, width], shared by the
// batch (Unsqueeze + Expand); the spatial encoder's weights are initializers that the composer
// turns into trained inputs. abar_t is computed on the host from t, so the graph needs no
// Gather on the schedule.
//
// What is model-specific is only how the frozen network(s) turn (z_t, t, context rows) into eps:
// a `ConditionedEps` stage. The built-in package's UNet reads the context rows directly
// (`builtinEps`); an SD 1.x folder runs them as inputs_embeds through its frozen text encoder
// first (anomaly/sd1-learning.ts). Everything else (forward process, context assembly, E, loss)
// is this one graph for every model.

import { GraphBuilder } from '../onnx/builder';
import { embedGraph } from '../onnx/compose';
import { defaultOpset, isDefaultDomain, type Model, type OpsetImport } from '../onnx/ir';
import { specialiseShapes } from '../onnx/passes/specialise-shapes';
import type { PredictionType } from '../diffusion/schedule';
import { encoderWeightNames } from './encoder-weights';

/** One run of context rows, in order: fixed rows (a token table's), trained tokens, or E(mask). */
export type ContextSegment =
  | { kind: 'fixed'; rows: Float32Array }
  | { kind: 'trained'; input: string; tokens: number }
  | { kind: 'encoder'; tokens: number };

/** The values a ConditionedEps stage reads, as names in the training graph. */
export interface EpsInputs {
  /** z_t [B, C, h, w] */
  sample: string;
  /** t as float32 [B] */
  timestep: string;
  /** the assembled context rows [B, L, tokenWidth] (fixed rows, trained tokens, E(mask)) */
  tokens: string;
  batch: number;
  /** L */
  tokenCount: number;
  tokenWidth: number;
  latent: { channels: number; width: number; height: number };
  image: { width: number; height: number };
  /** the defect mask [B, 1, H, W] in [-1, 1] (the spatial encoder's input), when the graph has one */
  mask?: string;
}

/** How a model turns (z_t, t, context rows) into eps (or v) inside the training graph; its weights stay frozen initializers. */
export interface ConditionedEps {
  /** the opset imports of the training graph (the frozen networks') */
  opsetImports: OpsetImport[];
  /** appends the frozen network(s) to the builder; returns the prediction [B, C, h, w] */
  build(b: GraphBuilder, inputs: EpsInputs): string;
}

export interface InversionGraphSpec {
  /** the package's UNet graph (batch symbolic; inputs sample, timestep, context, aar_weight, aar_columns; output eps); shorthand for eps: builtinEps(unet) */
  unet?: Model;
  /** the model-specific stage (required unless `unet` is given) */
  eps?: ConditionedEps;
  /** the spatial encoder graph (input mask [B,1,H,W] in [-1,1]; output tokens [B,n,W]), float32 weights */
  encoder?: Model;
  batch: number;
  latent: { channels: number; width: number; height: number };
  image: { width: number; height: number };
  tokenWidth: number;
  segments: ContextSegment[];
  /** weight the squared error by the latent-grid mask input 'loss_mask' */
  maskedLoss: boolean;
  predictionType: PredictionType;
}

export interface InversionGraph {
  model: Model;
  /** the trained token inputs (each [tokens, width]) */
  tokenInputs: string[];
  /** encoder weight names in the training graph -> the name in the encoder's own graph */
  encoderWeights: Map<string, string>;
  /** inputs every step feeds (besides the trained ones) */
  batchInputs: string[];
}

export const ENCODER_PREFIX = 'E/';
const UNET_PREFIX = 'unet/';

/**
 * The built-in package's stage: its UNet reads the context rows directly, AAR switched off. A UNet
 * that reads the defect mask (manifest.unetMask) gets the graph's mask as {0, 1}, or no mask (all
 * 0) when the graph has none (plain inversion of mask images).
 */
export function builtinEps(unetModel: Model): ConditionedEps {
  return {
    opsetImports: unetModel.opsetImports.map((o) => ({ ...o })),
    build(b, { sample, timestep, tokens, batch: B, tokenCount: L, tokenWidth: W, latent, image, mask }) {
      const { channels: C, width: w, height: h } = latent;
      const maskShape = [B, 1, image.height, image.width];
      const unetShapes: Record<string, number[]> = { sample: [B, C, h, w], timestep: [B], context: [B, L, W], aar_weight: [B, h * w], aar_columns: [B, L], mask: maskShape };
      const unetInputs = new Set(unetModel.graph.inputs.map((i) => i.name));
      const unet = specialiseShapes(unetModel, Object.fromEntries(Object.entries(unetShapes).filter(([k]) => unetInputs.has(k))));
      const bindings: Record<string, string> = { sample, timestep, context: tokens };
      // AAR off: weight 1 everywhere, no column selected (factor 1 in every layer)
      if (unetInputs.has('aar_weight')) bindings['aar_weight'] = b.constant(new Float32Array(B * h * w).fill(1), [B, h * w], 'float32', 'aar_weight_ones');
      if (unetInputs.has('aar_columns')) bindings['aar_columns'] = b.constant(new Float32Array(B * L), [B, L], 'float32', 'aar_columns_none');
      if (unetInputs.has('mask')) {
        // [-1, 1] -> {0, 1}: (m + 1) / 2
        bindings['mask'] = mask
          ? b.op('Mul', [b.op('Add', [mask, b.constant(new Float32Array([1]), [1], 'float32', 'one')]), b.constant(new Float32Array([0.5]), [1], 'float32', 'half')])
          : b.constant(new Float32Array(B * image.width * image.height), maskShape, 'float32', 'unet_mask_none');
      }
      const unetOut = embedGraph(b, unet, { prefix: UNET_PREFIX, bind: Object.fromEntries(Object.entries(bindings).filter(([k]) => unetInputs.has(k))) });
      return unetOut['eps'] ?? Object.values(unetOut)[0]!;
    },
  };
}

/** The per-batch inputs of a diffusion-loss graph: clean latents, noise, the level's sqrt(abar) and sqrt(1 - abar), and t. */
export function noisingInputs(b: GraphBuilder, latentShape: number[]): { z0: string; noise: string; sqrtAbar: string; sqrtOneMinus: string; timestep: string } {
  const B = latentShape[0]!;
  return {
    z0: b.input('z0', 'float32', latentShape),
    noise: b.input('noise', 'float32', latentShape),
    sqrtAbar: b.input('sqrt_abar', 'float32', [B, 1, 1, 1]),
    sqrtOneMinus: b.input('sqrt_one_minus_abar', 'float32', [B, 1, 1, 1]),
    timestep: b.input('timestep', 'float32', [B]),
  };
}

export function buildInversionGraph(spec: InversionGraphSpec): InversionGraph {
  const { batch: B, tokenWidth: W } = spec;
  const { channels: C, width: w, height: h } = spec.latent;
  const L = spec.segments.reduce((n, s) => n + (s.kind === 'fixed' ? s.rows.length / W : s.tokens), 0);
  const stage = spec.eps ?? (spec.unet ? builtinEps(spec.unet) : undefined);
  if (!stage) throw new Error('buildInversionGraph: give the model stage (eps) or the package UNet (unet)');
  const opset = stage.opsetImports.find((o) => isDefaultDomain(o.domain))?.version;
  if (spec.encoder && defaultOpset(spec.encoder) !== opset) {
    throw new Error(`spatial encoder uses opset ${defaultOpset(spec.encoder)}, the UNet ${opset}; they cannot share one training graph`);
  }
  const b = new GraphBuilder('masked_textual_inversion', { opsetImports: stage.opsetImports.map((o) => ({ ...o })) });
  const latentShape = [B, C, h, w];
  const { z0, noise, sqrtAbar, sqrtOneMinus, timestep } = noisingInputs(b, latentShape);
  const batchInputs = [z0, noise, sqrtAbar, sqrtOneMinus, timestep];

  // ---- context ----
  const tokenInputs: string[] = [];
  const encoderWeights = new Map<string, string>();
  const parts: string[] = [];
  let mask: string | undefined;
  for (const segment of spec.segments) {
    if (segment.kind === 'fixed') {
      const n = segment.rows.length / W;
      if (!Number.isInteger(n) || n < 1) throw new RangeError(`fixed context rows: ${segment.rows.length} values are not rows of width ${W}`);
      const rows = new Float32Array(B * n * W);
      for (let k = 0; k < B; k++) rows.set(segment.rows, k * n * W);
      parts.push(b.constant(rows, [B, n, W], 'float32', 'context_rows'));
    } else if (segment.kind === 'trained') {
      const input = b.input(segment.input, 'float32', [segment.tokens, W]);
      tokenInputs.push(input);
      const lifted = b.op('Unsqueeze', [input, b.ints([0])]);
      parts.push(b.op('Expand', [lifted, b.ints([B, segment.tokens, W])]));
    } else {
      if (!spec.encoder) throw new Error('an encoder segment needs the spatial encoder graph');
      mask = b.input('mask', 'float32', [B, 1, spec.image.height, spec.image.width]);
      batchInputs.push(mask);
      const encoder = specialiseShapes(spec.encoder, { mask: [B, 1, spec.image.height, spec.image.width] });
      const weights = new Set(encoderWeightNames(encoder));
      const before = new Set(b.graph.initializers.keys());
      const out = embedGraph(b, encoder, { prefix: ENCODER_PREFIX, bind: { mask } });
      for (const name of b.graph.initializers.keys()) {
        if (before.has(name)) continue;
        const original = name.slice(ENCODER_PREFIX.length);
        if (weights.has(original)) encoderWeights.set(name, original);
      }
      const tokens = out['tokens'];
      if (!tokens) throw new Error(`spatial encoder '${spec.encoder.graph.name}' has no output 'tokens'`);
      parts.push(tokens);
    }
  }
  const context = parts.length === 1 ? parts[0]! : b.op('Concat', parts, { axis: 1 });

  // ---- forward process and the frozen network(s) ----
  const zt = b.op('Add', [b.op('Mul', [sqrtAbar, z0]), b.op('Mul', [sqrtOneMinus, noise])]);
  const epsHat = stage.build(b, { sample: zt, timestep, tokens: context, batch: B, tokenCount: L, tokenWidth: W, latent: spec.latent, image: spec.image, ...(mask ? { mask } : {}) });

  // ---- loss ----
  const target = spec.predictionType === 'epsilon' ? noise : b.op('Sub', [b.op('Mul', [sqrtAbar, noise]), b.op('Mul', [sqrtOneMinus, z0])]);
  const diff = b.op('Sub', [target, epsHat]);
  let squared = b.op('Mul', [diff, diff]);
  if (spec.maskedLoss) {
    const lossMask = b.input('loss_mask', 'float32', [B, 1, h, w]);
    batchInputs.push(lossMask);
    squared = b.op('Mul', [squared, lossMask]);
  }
  const loss = b.op('ReduceMean', [squared], { keepdims: 0 }, { output: 'loss' });
  b.output(loss, undefined, { dtype: 'float32', shape: [] });
  b.output(epsHat, 'eps_hat', { dtype: 'float32', shape: latentShape });
  return { model: b.toModel({ docString: 'DefectForge masked textual inversion (forward + loss)' }), tokenInputs, encoderWeights, batchInputs };
}
