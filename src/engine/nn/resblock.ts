// The diffusion UNet residual block:
//   h = Conv3x3(SiLU(GN(x))) + Linear(SiLU(temb))[:, :, None, None]
//   h = Conv3x3(SiLU(GN(h)))
//   out = skip(x) + h,   skip = 1x1 conv when the channel count changes, identity otherwise.

import { silu } from './activation';
import { conv2d } from './conv';
import { linear } from './linear';
import { groupNorm, type GroupNormOptions } from './norm';
import { add, type Net, type Value } from './net';

export interface ResBlockOptions {
  groups: number;
  /** [B, E] timestep embedding, added after the first conv */
  temb?: Value;
  norm?: GroupNormOptions;
}

export function resBlock(net: Net, name: string, x: Value, outChannels: number, opts: ResBlockOptions): Value {
  const [batch, c] = x.shape as [number, number, number, number];
  let h = conv2d(net, `${name}.conv1`, silu(net, groupNorm(net, `${name}.norm1`, x, opts.groups, opts.norm)), outChannels);
  if (opts.temb) {
    const projected = linear(net, `${name}.time_emb_proj`, silu(net, opts.temb), outChannels);
    h = add(net, h, net.reshape(projected, [batch, outChannels, 1, 1]));
  }
  h = conv2d(net, `${name}.conv2`, silu(net, groupNorm(net, `${name}.norm2`, h, opts.groups, opts.norm)), outChannels);
  const skip = c === outChannels ? x : conv2d(net, `${name}.skip`, x, outChannels, { kernel: 1 });
  return add(net, skip, h);
}
