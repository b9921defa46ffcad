// The interface every diffusion pipeline uses, whatever the model: the built-in package format
// (resources/models/<name>/manifest.json + ONNX files) or a Stable Diffusion 1.x ONNX folder.
// Tensors cross as flat Float32Arrays in NCHW order; batch sizes are explicit.

import type { ScheduleConfig } from '../diffusion/schedule';

export interface Size2 {
  width: number;
  height: number;
}

export interface ModelFacts {
  name: string;
  kind: 'builtin' | 'sd1';
  /** pixel size the VAE and UNet were specialised to */
  imageSize: Size2;
  latentChannels: number;
  latentSize: Size2;
  /** z = latentScale * VAE latent (0.18215 for SD 1.x) */
  latentScale: number;
  /** width of one injectable token vector (text-encoder input embeddings, or the context width) */
  tokenWidth: number;
  /** tokens in the UNet's context */
  contextLength: number;
  schedule: ScheduleConfig;
  /** the UNet reads the defect mask (NoiseRequest.masks); absent: false */
  unetMask?: boolean;
  /** true when an unconditional context exists (classifier-free guidance) */
  hasUnconditional: boolean;
  /** phi of guidance rescaling (diffusion/guidance.ts) a generation uses unless it gives its own; absent: 0 */
  guidanceRescale?: number;
  /** grids of the cross-attention layers, for resizing AAR weights */
  attentionGrids: Size2[];
  /** SHA-256 over the model's files: lineage records it */
  contentHash: string;
}

/** What conditions a generation: learned vectors injected at the placeholder, plus plain words. */
export interface Conditioning {
  /** [count, tokenWidth] learned vectors (e.g. e_a then e_s), injected where the placeholder goes */
  injected?: Float32Array;
  /** prompt words around the placeholder (SD: text; built-in: label tokens such as a texture family) */
  prompt?: string;
  /** built-in models: a defect family of the token table ('defect:<name>:i' rows) when nothing is injected */
  defect?: string;
  /** built-in models: the defect mask (0 / non-zero, row-major, image size) the spatial encoder reads when no spatial tokens are injected */
  mask?: { width: number; height: number; data: Uint8Array };
}

export interface NoiseRequest {
  /** [batch, C, h, w] model input (already scaled by the scheduler) */
  latents: Float32Array;
  batch: number;
  /** one timestep per batch item */
  timesteps: number[];
  /** [batch, contextLength, contextWidth] */
  context: Float32Array;
  /** AAR: [batch, h*w] weights on the latent grid, 1 = no re-weighting */
  attentionWeights?: Float32Array;
  /** AAR: [batch, contextLength] 1 for the columns (anomaly tokens) to re-weight, else 0 */
  attentionColumns?: Float32Array;
  /**
   * [batch, H*W] defect masks in {0, 1} at the image size, read by models whose facts say
   * unetMask (ignored by others); absent: no mask (all 0)
   */
  masks?: Float32Array;
}

export interface DiffusionModel {
  readonly facts: ModelFacts;
  /** [batch, 3, H, W] images in [-1, 1] -> [batch, C, h, w] scaled latents (the posterior mean) */
  encode(images: Float32Array, batch: number): Promise<Float32Array>;
  /** scaled latents -> images in [-1, 1] */
  decode(latents: Float32Array, batch: number): Promise<Float32Array>;
  /** the context for one conditioning (null: the unconditional context); [contextLength, width] */
  context(conditioning: Conditioning | null): Promise<{ context: Float32Array; anomalyColumns: Float32Array }>;
  /** eps (or v, per facts.schedule.predictionType) for a batch */
  predictNoise(request: NoiseRequest): Promise<Float32Array>;
  release(): Promise<void>;
}
