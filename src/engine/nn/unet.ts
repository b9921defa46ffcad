// A small text-conditioned diffusion UNet built from the layer helpers: the model the autodiff
// whole-model check, the learning tests and the autodiff benchmark run, and the shape of
// DefectForge's built-in tiny LDM.
//
//   sample [B, C, S, S], timestep [B], context [B, M, D]  ->  out [B, C, S, S]
//
//   temb = TimestepEmbedding(timestep)
//   h = conv_in(sample)
//   down level i (resolution S / 2^i): ResBlock(ch_i, temb) [+ cross-attention] -> skip_i -> stride-2 conv
//   mid (resolution S / 2^L):          ResBlock [+ cross-attention] + ResBlock
//   up level i (reverse):             upsample x2, concat skip_i, ResBlock(ch_i) [+ cross-attention]
//   out = conv_out(SiLU(GN(h)))
//
// Cross-attention sits at the resolutions listed in `attentionAt`. With `reweightInputs`, each of
// those layers takes an input `reweight_<res>` of shape [B, 1, res*res, M] multiplying its
// attention probabilities (AnomalyDiffusion's adaptive attention re-weighting).

import { GraphBuilder } from '../onnx/builder';
import type { Model } from '../onnx/ir';
import { silu } from './activation';
import { spatialAttention } from './attention';
import { conv2d, downsample } from './conv';
import { timestepEmbedding } from './embedding';
import { Net, type Value } from './net';
import { groupNorm, type GroupNormOptions } from './norm';
import { resBlock } from './resblock';
import { upsampleNearest2x } from './upsample';

export interface TinyUNetConfig {
  batch: number;
  latentChannels: number;
  /** latent height = width; must be divisible by 2^channels.length */
  size: number;
  /** channels per resolution level, e.g. [32, 64] */
  channels: number[];
  /** resolutions (height) that get a cross-attention layer, e.g. [16, 8] */
  attentionAt: number[];
  contextTokens: number;
  contextDim: number;
  heads?: number;
  groups: number;
  seed: number;
  reweightInputs?: boolean;
  groupNormImpl?: GroupNormOptions['impl'];
  upsampleImpl?: 'resize' | 'expand';
}

export interface TinyUNet {
  model: Model;
  /** names of every trainable initializer */
  params: string[];
  inputs: { sample: string; timestep: string; context: string; reweight: Record<number, string> };
  output: string;
  outputShape: number[];
}

export function buildTinyUNet(config: TinyUNetConfig): TinyUNet {
  const { batch, latentChannels, size, channels, groups } = config;
  const levels = channels.length;
  if (levels === 0) throw new Error('tiny UNet: channels must list at least one level');
  if (size % 2 ** levels !== 0) throw new Error(`tiny UNet: size ${size} is not divisible by 2^${levels}`);
  const b = new GraphBuilder('tiny_unet');
  const net = new Net(b, config.seed);
  const norm: GroupNormOptions = { impl: config.groupNormImpl ?? 'instance-norm' };
  const sample: Value = { name: b.input('sample', 'float32', [batch, latentChannels, size, size]), shape: [batch, latentChannels, size, size] };
  const timestep: Value = { name: b.input('timestep', 'float32', [batch]), shape: [batch] };
  const contextShape = [batch, config.contextTokens, config.contextDim];
  const context: Value = { name: b.input('context', 'float32', contextShape), shape: contextShape };
  const reweight: Record<number, string> = {};

  const attend = (name: string, h: Value): Value => {
    const res = h.shape[2]!;
    if (!config.attentionAt.includes(res)) return h;
    let weightInput: Value | undefined;
    if (config.reweightInputs) {
      // one input per resolution, shared by every attention layer at that resolution
      reweight[res] ??= b.input(`reweight_${res}`, 'float32', [batch, 1, res * res, config.contextTokens]);
      weightInput = { name: reweight[res]!, shape: [batch, 1, res * res, config.contextTokens] };
    }
    return spatialAttention(net, name, h, context, { groups, heads: config.heads ?? 1, norm, ...(weightInput ? { reweight: weightInput } : {}) });
  };

  const ch0 = channels[0]!;
  const temb = timestepEmbedding(net, 'time_embedding', timestep, ch0, 4 * ch0);
  let h = conv2d(net, 'conv_in', sample, ch0);
  const skips: Value[] = [];
  channels.forEach((ch, i) => {
    h = resBlock(net, `down${i}.res`, h, ch, { groups, temb, norm });
    h = attend(`down${i}.attn`, h);
    skips.push(h);
    h = downsample(net, `down${i}.downsample`, h);
  });
  const midCh = channels[levels - 1]!;
  h = resBlock(net, 'mid.res1', h, midCh, { groups, temb, norm });
  h = attend('mid.attn', h);
  h = resBlock(net, 'mid.res2', h, midCh, { groups, temb, norm });
  for (let i = levels - 1; i >= 0; i--) {
    const up = upsampleNearest2x(net, h, config.upsampleImpl);
    const skip = skips[i]!;
    const joined = net.op('Concat', [up.name, skip.name], [batch, up.shape[1]! + skip.shape[1]!, skip.shape[2]!, skip.shape[3]!], { axis: 1 });
    h = resBlock(net, `up${i}.res`, joined, channels[i]!, { groups, temb, norm });
    h = attend(`up${i}.attn`, h);
  }
  const out = conv2d(net, 'conv_out', silu(net, groupNorm(net, 'norm_out', h, groups, norm)), latentChannels);
  b.output(out.name, 'out', { dtype: 'float32', shape: out.shape });
  return {
    model: b.toModel({ docString: 'DefectForge tiny UNet' }),
    params: [...net.params],
    inputs: { sample: sample.name, timestep: timestep.name, context: context.name, reweight },
    output: 'out',
    outputShape: out.shape,
  };
}
