// The spatial encoder E of METHOD.md ("Spatial anomaly embedding"): a mask -> n spatial tokens.
// A small pyramid of the paper's shape:
//   stem   stride-2 3x3 conv (1 -> t0)                  @S/2
//   c4     stride-2 3x3 conv (t0 -> t0)                 @S/4   tap
//   c8     stride-2 3x3 conv (t0 -> t1)                 @S/8   tap
//   c16    stride-2 3x3 conv (t1 -> t2)                 @S/16  tap
//   top-down fusion: p16 = L16(c16); p8 = L8(c8) + up(p16); p4 = L4(c4) + up(p8)   (L = 1x1 conv -> F)
//   p4 -> 1x1 by log2(S/4) stride-2 3x3 convs (F -> F), SiLU between
//   token k = Linear_k(flatten) (F -> W), one linear per token
// Input: the mask at the image size, in [-1, 1] (-1 = background). Output [B, n, W].
//
// The stack is 10+ convs deep, narrow and has no normalisation; with PyTorch's default init
// (U(+-1/sqrt(fanIn)), variance 1/(3 fanIn)) every conv+SiLU shrinks the signal about 3x and the
// tokens barely depend on the mask at all (measured: a moved mask changed them by 2e-6). The
// convs here use He init instead, N(0, 2/fanIn) with zero bias, which keeps the signal's scale
// through SiLU layers, so the encoder starts out position-sensitive and its early layers get
// gradient.

import { add, linear, silu, upsampleNearest2x, type Net, type Value } from '../../nn';
import type { SpatialEncoderConfig } from './config';

export const SPATIAL_PREFIX = 'spatial';

/** A square conv with He-normal weights and zero bias (see the file comment). */
function heConv(net: Net, name: string, x: Value, outChannels: number, kernel: number, stride: number): Value {
  const [n, c, h, w] = x.shape as [number, number, number, number];
  const pad = (kernel - 1) / 2;
  const weight = net.param(`${name}.weight`, [outChannels, c, kernel, kernel], { kind: 'normal', std: Math.sqrt(2 / (c * kernel * kernel)) });
  const bias = net.param(`${name}.bias`, [outChannels], { kind: 'constant', value: 0 });
  const out = [n, outChannels, Math.floor((h + 2 * pad - kernel) / stride) + 1, Math.floor((w + 2 * pad - kernel) / stride) + 1];
  return net.op('Conv', [x.name, weight.name, bias.name], out, { kernel_shape: [kernel, kernel], strides: [stride, stride], pads: [pad, pad, pad, pad] });
}

export function spatialEncoder(net: Net, mask: Value, cfg: SpatialEncoderConfig, tokens: number, width: number): Value {
  const p = SPATIAL_PREFIX;
  if (mask.shape.length !== 4 || mask.shape[1] !== 1) throw new Error(`spatial encoder: mask '${mask.name}' must be [B, 1, H, W], got [${mask.shape}]`);
  const [batch, , size, sizeW] = mask.shape as [number, number, number, number];
  if (size !== sizeW || size % 16 !== 0 || !Number.isInteger(Math.log2(size / 4))) {
    throw new Error(`spatial encoder: mask '${mask.name}' must be square with a power-of-two side >= 16, got ${size}x${sizeW}`);
  }
  const [t0, t1, t2] = cfg.tapChannels;
  const F = cfg.fusedChannels;
  const down = (name: string, x: Value, out: number): Value => silu(net, heConv(net, name, x, out, 3, 2));
  const stem = down(`${p}.stem`, mask, t0);
  const c4 = down(`${p}.c4`, stem, t0);
  const c8 = down(`${p}.c8`, c4, t1);
  const c16 = down(`${p}.c16`, c8, t2);
  const lateral = (name: string, x: Value): Value => heConv(net, name, x, F, 1, 1);
  const p16 = lateral(`${p}.lateral16`, c16);
  const p8 = add(net, lateral(`${p}.lateral8`, c8), upsampleNearest2x(net, p16));
  let h = add(net, lateral(`${p}.lateral4`, c4), upsampleNearest2x(net, p8));
  for (let i = 0; h.shape[2]! > 1; i++) h = down(`${p}.reduce${i}`, h, F);
  const flat = net.reshape(h, [batch, F]);
  const perToken = Array.from({ length: tokens }, (_, k) => net.reshape(linear(net, `${p}.token${k}`, flat, width), [batch, 1, width]));
  if (perToken.length === 1) return perToken[0]!;
  return net.op('Concat', perToken.map((t) => t.name), [batch, tokens, width], { axis: 1 });
}
