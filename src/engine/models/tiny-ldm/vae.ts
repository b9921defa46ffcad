// The tiny LDM's autoencoder: an f=8 convolutional autoencoder. Two variants (VaeConfig.posterior):
//   deterministic (TINY_LDM): the encoder returns the latent directly - the manifest's "unscaled
//     posterior mean" - and the pretraining keeps it bounded with a small L2 term;
//   gaussian (TINY_LDM_V2): as SD's KL autoencoder, a second head `conv_logvar` predicts the
//     log-variance of q(z|x) = N(mean, exp(logvar)); only the pretraining uses it (it samples z),
//     the shipped encoder returns the mean, so inference stays deterministic.
//
//   encoder: conv_in(3 -> c0) @S, then per level i>0: stride-2 conv (c_{i-1} -> c_i), ResBlock(c_i);
//            GN, SiLU, conv_out(-> C)                                      @S / 2^(L-1)
//   decoder: conv_in(C -> c_{L-1}), ResBlock; per level i<L-1 (reverse): nearest x2, conv3x3 -> c_i,
//            ResBlock(c_i) except at full resolution (a ResBlock there costs as much as the rest);
//            GN, SiLU, conv_out(c0 -> 3)
// Both are fully convolutional, so they train on crops and run on any size divisible by f.

import { conv2d, downsample, groupNorm, resBlock, silu, upsampleNearest2x, type Net, type Value } from '../../nn';
import { vaeFactor, type VaeConfig } from './config';

export const VAE_ENCODER_PREFIX = 'vae.encoder';
export const VAE_DECODER_PREFIX = 'vae.decoder';

function checkSpatial(x: Value, multiple: number, what: string): void {
  if (x.shape.length !== 4) throw new Error(`${what}: input '${x.name}' must be NCHW, got [${x.shape}]`);
  if (x.shape[2]! % multiple !== 0 || x.shape[3]! % multiple !== 0) {
    throw new Error(`${what}: input '${x.name}' is ${x.shape[2]}x${x.shape[3]}, not divisible by ${multiple}`);
  }
}

/** The encoder trunk up to the heads: GN + SiLU features at the latent resolution. */
function encoderFeatures(net: Net, image: Value, cfg: VaeConfig): Value {
  checkSpatial(image, vaeFactor(cfg), 'VAE encoder');
  const p = VAE_ENCODER_PREFIX;
  const { channels, groups } = cfg;
  let h = conv2d(net, `${p}.conv_in`, image, channels[0]!);
  for (let i = 1; i < channels.length; i++) {
    h = downsample(net, `${p}.down${i}`, h, channels[i]!);
    h = resBlock(net, `${p}.block${i}`, h, channels[i]!, { groups });
  }
  return silu(net, groupNorm(net, `${p}.norm_out`, h, groups));
}

/** image [B, 3, H, W] in [-1, 1] -> latent [B, C, H/f, W/f] (the posterior mean for a gaussian VAE) */
export function vaeEncoder(net: Net, image: Value, cfg: VaeConfig): Value {
  return conv2d(net, `${VAE_ENCODER_PREFIX}.conv_out`, encoderFeatures(net, image, cfg), cfg.latentChannels);
}

export interface Posterior {
  mean: Value;
  logvar: Value;
}

/** image -> q(z|x) = N(mean, exp(logvar)), both [B, C, H/f, W/f]; only for a gaussian VAE. */
export function vaeEncoderPosterior(net: Net, image: Value, cfg: VaeConfig): Posterior {
  if (cfg.posterior !== 'gaussian') throw new Error(`VAE encoder: the posterior needs a 'gaussian' VAE config, this one is deterministic`);
  const h = encoderFeatures(net, image, cfg);
  const mean = conv2d(net, `${VAE_ENCODER_PREFIX}.conv_out`, h, cfg.latentChannels);
  const logvar = conv2d(net, `${VAE_ENCODER_PREFIX}.conv_logvar`, h, cfg.latentChannels);
  return { mean, logvar };
}

/** latent [B, C, h, w] -> image [B, 3, h*f, w*f] (unbounded; the export clips it to [-1, 1]) */
export function vaeDecoder(net: Net, latent: Value, cfg: VaeConfig): Value {
  if (latent.shape.length !== 4 || latent.shape[1] !== cfg.latentChannels) {
    throw new Error(`VAE decoder: latent '${latent.name}' must be [B, ${cfg.latentChannels}, h, w], got [${latent.shape}]`);
  }
  const p = VAE_DECODER_PREFIX;
  const { groups } = cfg;
  const channels = cfg.decoderChannels ?? cfg.channels;
  const top = channels.length - 1;
  let h = conv2d(net, `${p}.conv_in`, latent, channels[top]!);
  h = resBlock(net, `${p}.block${top}`, h, channels[top]!, { groups });
  for (let i = top - 1; i >= 0; i--) {
    h = conv2d(net, `${p}.up${i}`, upsampleNearest2x(net, h), channels[i]!);
    if (i > 0) h = resBlock(net, `${p}.block${i}`, h, channels[i]!, { groups });
  }
  return conv2d(net, `${p}.conv_out`, silu(net, groupNorm(net, `${p}.norm_out`, h, groups)), 3);
}
