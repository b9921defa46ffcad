// 2-D convolution over NCHW with 'same'-style symmetric padding, and the strided 3x3 conv used
// to halve the resolution. PyTorch's default init: U(-1/sqrt(fanIn), 1/sqrt(fanIn)),
// fanIn = inChannels * k * k.

import type { Net, Value } from './net';

export interface Conv2dOptions {
  kernel?: number;
  stride?: number;
  /** symmetric padding; default (kernel - 1) / 2, which keeps the size at stride 1 */
  pad?: number;
  bias?: boolean;
}

export function conv2d(net: Net, name: string, x: Value, outChannels: number, opts: Conv2dOptions = {}): Value {
  if (x.shape.length !== 4) throw new Error(`conv2d '${name}': input '${x.name}' must be NCHW, got [${x.shape}]`);
  const [n, c, h, w] = x.shape as [number, number, number, number];
  const k = opts.kernel ?? 3;
  const stride = opts.stride ?? 1;
  const pad = opts.pad ?? (k - 1) / 2;
  if (!Number.isInteger(pad)) throw new Error(`conv2d '${name}': kernel ${k} has no symmetric 'same' padding; pass pad`);
  const outH = Math.floor((h + 2 * pad - k) / stride) + 1;
  const outW = Math.floor((w + 2 * pad - k) / stride) + 1;
  const bound = 1 / Math.sqrt(c * k * k);
  const weight = net.param(`${name}.weight`, [outChannels, c, k, k], { kind: 'uniform', bound });
  const inputs = [x.name, weight.name];
  if (opts.bias !== false) inputs.push(net.param(`${name}.bias`, [outChannels], { kind: 'uniform', bound }).name);
  return net.op('Conv', inputs, [n, outChannels, outH, outW], {
    kernel_shape: [k, k],
    strides: [stride, stride],
    pads: [pad, pad, pad, pad],
  });
}

/** Halves H and W with a stride-2 3x3 conv (the usual UNet downsampler). */
export function downsample(net: Net, name: string, x: Value, outChannels?: number): Value {
  return conv2d(net, name, x, outChannels ?? x.shape[1]!, { kernel: 3, stride: 2, pad: 1 });
}
