// Loss terms of the pretraining, emitted into a training graph (all means are over every element).
//
//   reconstruction  L1(x, r) = mean |r - x|
//   edge term       mean |dx r - dx x| + mean |dy r - dy x|, with dx, dy the forward differences
//                   along W and H: it penalises blurred or shifted edges more than L1 does, so thin
//                   scratches survive the f=8 bottleneck
//   latent L2       mean z^2: keeps the deterministic autoencoder's latents bounded (the latent
//                   scale 1/std is measured after training, as SD's 0.18215)
//   eps MSE         sum(w * (eps_hat - eps)^2) / (C * sum(w)): plain MSE for w = 1, METHOD.md's
//                   masked loss for w = m' (the mask on the latent grid)

import type { Net, Value } from '../../../nn';

const meanAll = (net: Net, x: Value): Value => net.op('ReduceMean', [x.name], [], { keepdims: 0 });
const sumAll = (net: Net, x: Value): Value => net.op('ReduceSum', [x.name], [], { keepdims: 0 });

export function l1Loss(net: Net, a: Value, b: Value): Value {
  const diff = net.op('Sub', [a.name, b.name], a.shape);
  return meanAll(net, net.op('Abs', [diff.name], a.shape));
}

/** Forward difference along `axis` (x[i+1] - x[i]) of an NCHW value. */
function forwardDiff(net: Net, x: Value, axis: 2 | 3): Value {
  const n = x.shape[axis]!;
  const shape = [...x.shape];
  shape[axis] = n - 1;
  const slice = (start: number, end: number): string => net.b.op('Slice', [x.name, net.b.ints([start]), net.b.ints([end]), net.b.ints([axis])]);
  return net.op('Sub', [slice(1, n), slice(0, n - 1)], shape);
}

export function edgeLoss(net: Net, recon: Value, target: Value): Value {
  const dx = l1Loss(net, forwardDiff(net, recon, 3), forwardDiff(net, target, 3));
  const dy = l1Loss(net, forwardDiff(net, recon, 2), forwardDiff(net, target, 2));
  return net.op('Add', [dx.name, dy.name], []);
}

export function meanSquare(net: Net, x: Value): Value {
  return meanAll(net, net.op('Mul', [x.name, x.name], x.shape));
}

/** weight: [B, 1, h, w], broadcast over channels. */
export function weightedEpsLoss(net: Net, predicted: Value, target: Value, weight: Value): Value {
  const channels = predicted.shape[1]!;
  const diff = net.op('Sub', [predicted.name, target.name], predicted.shape);
  const weighted = net.op('Mul', [net.op('Mul', [diff.name, diff.name], diff.shape).name, weight.name], diff.shape);
  const denominator = net.op('Mul', [sumAll(net, weight).name, net.b.scalar(channels)], []);
  return net.op('Div', [sumAll(net, weighted).name, denominator.name], []);
}

/** a * wa + b * wb + ... as one scalar. */
export function weightedSum(net: Net, terms: [Value, number][]): Value {
  const scaled = terms.map(([v, w]) => (w === 1 ? v : net.op('Mul', [v.name, net.b.scalar(w)], [])));
  return scaled.slice(1).reduce((acc, v) => net.op('Add', [acc.name, v.name], []), scaled[0]!);
}
