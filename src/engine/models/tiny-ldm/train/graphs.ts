// The two training graphs of the pretraining (forward + loss; the composer adds the backward).
//
// VAE phase: image crops x [B, 3, s, s] -> z = E(x), r = D(z)
//   loss = L1(r, x) + edgeWeight * edge(r, x) + latentWeight * mean(z^2)     (./losses)
// with a gaussian posterior (VaeConfig.posterior): (mean, logvar) = E(x), z = mean +
//   exp(logvar / 2) * noise (noise an input), r = D(z)
//   loss = L1(r, x) + edgeWeight * edge(r, x) + klWeight * KL(q(z|x) || N(0, I))
//
// Decoder phase (optional, plan.decoder), on the frozen encoder:
//   z = E(x) (the posterior mean; E's weights are constants here), r = D'(z) with D' the
//   (usually wider) decoder of TinyLdmConfig.vae.decoderChannels
//   loss = L1(r, x) + edgeWeight * edge(r, x) + mseWeight * mean (r - x)^2
//   The MSE term aims at the PSNR the reconstruction is judged by. E is unchanged, so the cached
//   latents and the UNet trained on them stay valid whatever D' becomes.
//
// UNet phase, on cached latents:
//   context = [ onehot(labels) T  |  keep * E_s(mask) + (1 - keep) * T[<null>] ]
//     labels: the family token and the 8 anomaly rows ([B, 1 + 8, V] one-hot), T the token
//     table [V, W]; keep [B, 1, 1] drops the spatial tokens (to '<null>') per sample
//   loss = weighted eps MSE of UNet(z_t, t, context) against eps               (./losses)
//   with the UNet's mask input (cfg.unet.maskInput): UNet(z_t, t, context, keep * (mask + 1) / 2),
//   so a sample whose spatial tokens are dropped sees no mask either; labels-only drops keep it
//   (the context blended generation's CFG unconditional uses for such a UNet)
// Trained: UNet, spatial encoder and the token table, together.

import { GraphBuilder } from '../../../onnx/builder';
import type { Model } from '../../../onnx/ir';
import { Net, type Value } from '../../../nn';
import { latentSize, type TinyLdmConfig } from '../config';
import { spatialEncoder } from '../spatial-encoder';
import { buildVocabulary, initialTokenTable, oneHot, NULL_TOKEN, type TokenVocabulary } from '../tokens';
import { tinyLdmUNet } from '../unet';
import { vaeDecoder, vaeEncoder, vaeEncoderPosterior } from '../vae';
import { edgeLoss, klDivergence, l1Loss, meanSquare, reparameterise, weightedEpsLoss, weightedSum } from './losses';

export const TOKEN_TABLE_PARAM = 'token_table';

export interface TrainingGraph {
  model: Model;
  params: string[];
  loss: string;
  /** extra scalar outputs worth logging */
  metrics: string[];
}

export interface VaeLossWeights {
  edge: number;
  /** weight of mean(z^2) (deterministic VAE) */
  latent: number;
  /** beta of the KL term (gaussian VAE; required there, unused otherwise) */
  kl?: number;
}

export const VAE_LOSS_WEIGHTS: VaeLossWeights = { edge: 0.5, latent: 1e-4 };

function scalarOutput(b: GraphBuilder, v: Value, name: string): string {
  return b.output(v.name, name, { dtype: 'float32', shape: [] });
}

/** The name of the reparameterisation noise input of a gaussian VAE's training graph. */
export const VAE_NOISE_INPUT = 'noise';

export function buildVaeTrainingGraph(cfg: TinyLdmConfig, batch: number, crop: number, weights: VaeLossWeights = VAE_LOSS_WEIGHTS): TrainingGraph {
  if (cfg.vae.posterior === 'gaussian') return buildGaussianVaeTrainingGraph(cfg, batch, crop, weights);
  const b = new GraphBuilder('tiny_ldm_vae_training');
  const net = new Net(b, cfg.seed);
  const image: Value = { name: b.input('image', 'float32', [batch, 3, crop, crop]), shape: [batch, 3, crop, crop] };
  const latent = vaeEncoder(net, image, cfg.vae);
  const recon = vaeDecoder(net, latent, cfg.vae);
  const l1 = l1Loss(net, recon, image);
  const edge = edgeLoss(net, recon, image);
  const z2 = meanSquare(net, latent);
  const loss = weightedSum(net, [[l1, 1], [edge, weights.edge], [z2, weights.latent]]);
  scalarOutput(b, loss, 'loss');
  scalarOutput(b, l1, 'l1');
  scalarOutput(b, edge, 'edge');
  scalarOutput(b, z2, 'latent_ms');
  return { model: b.toModel(), params: [...net.params], loss: 'loss', metrics: ['l1', 'edge', 'latent_ms'] };
}

/** The KL-regularised variant (see the file comment); extra outputs: kl, latent_ms (of the mean), logvar_mean. */
function buildGaussianVaeTrainingGraph(cfg: TinyLdmConfig, batch: number, crop: number, weights: VaeLossWeights): TrainingGraph {
  if (weights.kl === undefined || !(weights.kl >= 0)) throw new Error(`VAE training graph: a gaussian VAE needs a KL weight >= 0, got ${String(weights.kl)}`);
  const b = new GraphBuilder('tiny_ldm_vae_training');
  const net = new Net(b, cfg.seed);
  const image: Value = { name: b.input('image', 'float32', [batch, 3, crop, crop]), shape: [batch, 3, crop, crop] };
  const { mean, logvar } = vaeEncoderPosterior(net, image, cfg.vae);
  const noise: Value = { name: b.input(VAE_NOISE_INPUT, 'float32', mean.shape), shape: mean.shape };
  const recon = vaeDecoder(net, reparameterise(net, mean, logvar, noise), cfg.vae);
  const l1 = l1Loss(net, recon, image);
  const edge = edgeLoss(net, recon, image);
  const kl = klDivergence(net, mean, logvar, batch * 3 * crop * crop);
  const loss = weightedSum(net, [[l1, 1], [edge, weights.edge], [kl, weights.kl]]);
  scalarOutput(b, loss, 'loss');
  scalarOutput(b, l1, 'l1');
  scalarOutput(b, edge, 'edge');
  scalarOutput(b, kl, 'kl');
  scalarOutput(b, meanSquare(net, mean), 'latent_ms');
  scalarOutput(b, net.op('ReduceMean', [logvar.name], [], { keepdims: 0 }), 'logvar_mean');
  return { model: b.toModel(), params: [...net.params], loss: 'loss', metrics: ['l1', 'edge', 'kl', 'latent_ms', 'logvar_mean'] };
}

export interface DecoderTrainingGraph extends TrainingGraph {
  /** the frozen encoder's initializers (to be loaded from the VAE checkpoint) */
  encoderParams: string[];
}

export function buildDecoderTrainingGraph(cfg: TinyLdmConfig, batch: number, crop: number, weights: { edge: number; mse: number }): DecoderTrainingGraph {
  const b = new GraphBuilder('tiny_ldm_decoder_training');
  const net = new Net(b, cfg.seed);
  const image: Value = { name: b.input('image', 'float32', [batch, 3, crop, crop]), shape: [batch, 3, crop, crop] };
  const latent = vaeEncoder(net, image, cfg.vae);
  const encoderParams = [...net.params];
  const recon = vaeDecoder(net, latent, cfg.vae);
  const l1 = l1Loss(net, recon, image);
  const edge = edgeLoss(net, recon, image);
  const mse = meanSquare(net, net.op('Sub', [recon.name, image.name], recon.shape));
  const loss = weightedSum(net, [[l1, 1], [edge, weights.edge], [mse, weights.mse]]);
  scalarOutput(b, loss, 'loss');
  scalarOutput(b, l1, 'l1');
  scalarOutput(b, mse, 'mse');
  const params = net.params.filter((p) => !encoderParams.includes(p));
  return { model: b.toModel(), params, encoderParams, loss: 'loss', metrics: ['l1', 'mse'] };
}

export interface UNetTrainingGraph extends TrainingGraph {
  vocabulary: TokenVocabulary;
  /** the token table's starting values */
  initialTokens: Float32Array;
}

/** timestepWeights: a per-sample loss factor input 'timestep_weight' [batch, 1, 1, 1] (weightedEpsLoss). */
export function buildUNetTrainingGraph(cfg: TinyLdmConfig, batch: number, options: { timestepWeights?: boolean } = {}): UNetTrainingGraph {
  const b = new GraphBuilder('tiny_ldm_unet_training');
  const net = new Net(b, cfg.seed);
  const vocabulary = buildVocabulary(cfg.defectTokens);
  const V = vocabulary.labels.length;
  const W = cfg.tokenWidth;
  const g = latentSize(cfg);
  const C = cfg.vae.latentChannels;
  const S = cfg.imageSize;
  const labelSlots = 1 + cfg.defectTokens;
  const input = (name: string, shape: number[]): Value => ({ name: b.input(name, 'float32', shape), shape });
  const sample = input('sample', [batch, C, g, g]);
  const timestep = input('timestep', [batch]);
  const target = input('eps_target', [batch, C, g, g]);
  const weight = input('loss_weight', [batch, 1, g, g]);
  const labels = input('label_onehot', [batch, labelSlots, V]);
  const keep = input('spatial_keep', [batch, 1, 1]);
  const mask = input('mask', [batch, 1, S, S]);
  const sampleWeight = options.timestepWeights ? input('timestep_weight', [batch, 1, 1, 1]) : undefined;

  const initialTokens = initialTokenTable(vocabulary, W, cfg.seed);
  const table: Value = { name: b.param(TOKEN_TABLE_PARAM, [V, W], initialTokens), shape: [V, W] };
  const labelTokens = net.op('MatMul', [labels.name, table.name], [batch, labelSlots, W]);
  const nullOneHot = net.constant(oneHot(vocabulary, [Array.from({ length: cfg.spatialTokens }, () => NULL_TOKEN)]), [1, cfg.spatialTokens, V], 'null_onehot');
  const nullTokens = net.op('MatMul', [nullOneHot.name, table.name], [1, cfg.spatialTokens, W]);
  const spatial = spatialEncoder(net, mask, cfg.spatial, cfg.spatialTokens, W);
  // keep * spatial + (1 - keep) * null  =  null + keep * (spatial - null)
  const delta = net.op('Sub', [spatial.name, nullTokens.name], spatial.shape);
  const mixed = net.op('Add', [nullTokens.name, net.op('Mul', [keep.name, delta.name], spatial.shape).name], spatial.shape);
  const context = net.op('Concat', [labelTokens.name, mixed.name], [batch, labelSlots + cfg.spatialTokens, W], { axis: 1 });
  let unetMask: Value | undefined;
  if (cfg.unet.maskInput) {
    // [-1, 1] -> {0, 1}, times keep [B, 1, 1] (broadcast over the mask's last three axes)
    const unit = net.op('Mul', [net.op('Add', [mask.name, net.constant([1], [1]).name], mask.shape).name, net.constant([0.5], [1]).name], mask.shape);
    unetMask = net.op('Mul', [unit.name, net.reshape(keep, [batch, 1, 1, 1]).name], mask.shape);
  }
  const eps = tinyLdmUNet(net, { sample, timestep, context, ...(unetMask ? { mask: unetMask } : {}) }, cfg.unet);
  const loss = weightedEpsLoss(net, eps, target, weight, sampleWeight);
  scalarOutput(b, loss, 'loss');
  return { model: b.toModel(), params: [TOKEN_TABLE_PARAM, ...net.params], loss: 'loss', metrics: [], vocabulary, initialTokens };
}
