// Group normalisation over NCHW: the C channels are split into G groups, each normalised over
// (C/G, H, W) to zero mean and unit variance (biased variance, as PyTorch), then an affine
// per-channel scale gamma and shift beta.
//
// Two equivalent forms, so a model can use whichever the gradient table supports best:
//  - 'instance-norm': Reshape to [N, G, C/G*H*W] and InstanceNormalization (scale 1, bias 0 per
//    group): InstanceNormalization normalises each (n, channel) over the remaining axis, which
//    here is exactly one group;
//  - 'moments': mean = ReduceMean, var = ReduceMean((x - mean)^2), (x - mean) / sqrt(var + eps).

import { add, mul, type Net, type Value } from './net';

export interface GroupNormOptions {
  eps?: number;
  impl?: 'instance-norm' | 'moments';
}

export function groupNorm(net: Net, name: string, x: Value, groups: number, opts: GroupNormOptions = {}): Value {
  if (x.shape.length !== 4) throw new Error(`groupNorm '${name}': input '${x.name}' must be NCHW, got [${x.shape}]`);
  const [n, c, h, w] = x.shape as [number, number, number, number];
  if (c % groups !== 0) throw new Error(`groupNorm '${name}': ${c} channels do not split into ${groups} groups`);
  const eps = opts.eps ?? 1e-5;
  const grouped = net.reshape(x, [n, groups, (c / groups) * h * w]);
  let normed: Value;
  if ((opts.impl ?? 'instance-norm') === 'instance-norm') {
    const ones = net.constant(new Float32Array(groups).fill(1), [groups], `${name}.ones`);
    const zeros = net.constant(new Float32Array(groups), [groups], `${name}.zeros`);
    normed = net.op('InstanceNormalization', [grouped.name, ones.name, zeros.name], grouped.shape, { epsilon: eps });
  } else {
    const statShape = [n, groups, 1];
    const mean = net.op('ReduceMean', [grouped.name], statShape, { axes: [2], keepdims: 1 });
    const centred = net.op('Sub', [grouped.name, mean.name], grouped.shape);
    const variance = net.op('ReduceMean', [mul(net, centred, centred).name], statShape, { axes: [2], keepdims: 1 });
    const std = net.op('Sqrt', [net.op('Add', [variance.name, net.b.scalar(eps)], statShape).name], statShape);
    normed = net.op('Div', [centred.name, std.name], grouped.shape);
  }
  const back = net.reshape(normed, x.shape);
  const gamma = net.param(`${name}.weight`, [c, 1, 1], { kind: 'constant', value: 1 });
  const beta = net.param(`${name}.bias`, [c, 1, 1], { kind: 'constant', value: 0 });
  return add(net, mul(net, back, gamma), beta);
}
