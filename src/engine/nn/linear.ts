// Dense layer on the last axis: y = x W + b, W of shape [in, out] (so MatMul broadcasts over any
// leading axes). PyTorch's default init: U(-1/sqrt(in), 1/sqrt(in)) for W and b.

import { Net, add, type Value } from './net';

export interface LinearOptions {
  bias?: boolean;
}

export function linear(net: Net, name: string, x: Value, outFeatures: number, opts: LinearOptions = {}): Value {
  const inFeatures = x.shape[x.shape.length - 1];
  if (inFeatures === undefined) throw new Error(`linear '${name}': input '${x.name}' is a scalar`);
  const bound = 1 / Math.sqrt(inFeatures);
  const w = net.param(`${name}.weight`, [inFeatures, outFeatures], { kind: 'uniform', bound });
  const y = net.op('MatMul', [x.name, w.name], [...x.shape.slice(0, -1), outFeatures]);
  if (opts.bias === false) return y;
  const b = net.param(`${name}.bias`, [outFeatures], { kind: 'uniform', bound });
  return add(net, y, b);
}
