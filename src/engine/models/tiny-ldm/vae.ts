// The tiny LDM's autoencoder: a deterministic f=8 convolutional autoencoder (as SD's VAE, but the
// encoder returns the latent directly - the manifest's "unscaled posterior mean" - and the
// pretraining keeps the latents bounded with a small L2 term instead of a KL term).
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

/** image [B, 3, H, W] in [-1, 1] -> latent [B, C, H/f, W/f] */
export function vaeEncoder(net: Net, image: Value, cfg: VaeConfig): Value {
  checkSpatial(image, vaeFactor(cfg), 'VAE encoder');
  const p = VAE_ENCODER_PREFIX;
  const { channels, groups } = cfg;
  let h = conv2d(net, `${p}.conv_in`, image, channels[0]!);
  for (let i = 1; i < channels.length; i++) {
    h = downsample(net, `${p}.down${i}`, h, channels[i]!);
    h = resBlock(net, `${p}.block${i}`, h, channels[i]!, { groups });
  }
  return conv2d(net, `${p}.conv_out`, silu(net, groupNorm(net, `${p}.norm_out`, h, groups)), cfg.latentChannels);
}

/** latent [B, C, h, w] -> image [B, 3, h*f, w*f] (unbounded; the export clips it to [-1, 1]) */
export function vaeDecoder(net: Net, latent: Value, cfg: VaeConfig): Value {
  if (latent.shape.length !== 4 || latent.shape[1] !== cfg.latentChannels) {
    throw new Error(`VAE decoder: latent '${latent.name}' must be [B, ${cfg.latentChannels}, h, w], got [${latent.shape}]`);
  }
  const p = VAE_DECODER_PREFIX;
  const { channels, groups } = cfg;
  const top = channels.length - 1;
  let h = conv2d(net, `${p}.conv_in`, latent, channels[top]!);
  h = resBlock(net, `${p}.block${top}`, h, channels[top]!, { groups });
  for (let i = top - 1; i >= 0; i--) {
    h = conv2d(net, `${p}.up${i}`, upsampleNearest2x(net, h), channels[i]!);
    if (i > 0) h = resBlock(net, `${p}.block${i}`, h, channels[i]!, { groups });
  }
  return conv2d(net, `${p}.conv_out`, silu(net, groupNorm(net, `${p}.norm_out`, h, groups)), 3);
}
