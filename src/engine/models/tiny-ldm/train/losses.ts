// Loss terms of the pretraining, emitted into a training graph (all means are over every element).
//
//   reconstruction  L1(x, r) = mean |r - x|
//   edge term       mean |dx r - dx x| + mean |dy r - dy x|, with dx, dy the forward differences
//                   along W and H: it penalises blurred or shifted edges more than L1 does, so thin
//                   scratches survive the f=8 bottleneck
//   latent L2       mean z^2: keeps the deterministic autoencoder's latents bounded (the latent
//                   scale 1/std is measured after training, as SD's 0.18215)
//   KL term         KL(q(z|x) || N(0, I)) of a gaussian posterior N(mean, exp(logvar)):
//                     0.5 * sum(mean^2 + exp(logvar) - 1 - logvar)   over every latent element,
//                   divided by the number of IMAGE elements (B * 3 * H * W). SD's autoencoder
//                   sums its reconstruction loss over pixels and its KL over latents (both per
//                   image, weight 1e-6 on the KL); dividing both by the pixel count turns that into
//                   our mean L1 + beta * this term with the same beta, so beta means what it
//                   means in SD's configs
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
  const next = net.slice(x, axis, 1, n);
  return net.op('Sub', [next.name, net.slice(x, axis, 0, n - 1).name], next.shape);
}

export function edgeLoss(net: Net, recon: Value, target: Value): Value {
  const dx = l1Loss(net, forwardDiff(net, recon, 3), forwardDiff(net, target, 3));
  const dy = l1Loss(net, forwardDiff(net, recon, 2), forwardDiff(net, target, 2));
  return net.op('Add', [dx.name, dy.name], []);
}

export function meanSquare(net: Net, x: Value): Value {
  return meanAll(net, net.op('Mul', [x.name, x.name], x.shape));
}

/**
 * KL(N(mean, exp(logvar)) || N(0, I)) summed over all latent elements, divided by `imageElements`
 * (see the file comment). Built from Exp, Mul, Add, Sub, ReduceSum (ops with gradient rules).
 */
export function klDivergence(net: Net, mean: Value, logvar: Value, imageElements: number): Value {
  if (mean.shape.join(',') !== logvar.shape.join(',')) throw new Error(`KL term: mean [${mean.shape}] and log-variance [${logvar.shape}] differ in shape`);
  if (!(imageElements > 0)) throw new Error(`KL term: image element count must be positive, got ${imageElements}`);
  const m2 = net.op('Mul', [mean.name, mean.name], mean.shape);
  const variance = net.op('Exp', [logvar.name], logvar.shape);
  // mean^2 + exp(logvar) - logvar - 1 per element
  const inner = net.op('Sub', [net.op('Add', [m2.name, variance.name], mean.shape).name, logvar.name], mean.shape);
  const perElement = net.op('Sub', [inner.name, net.b.scalar(1)], mean.shape);
  return net.op('Mul', [sumAll(net, perElement).name, net.b.scalar(0.5 / imageElements)], []);
}

/**
 * z = mean + exp(logvar / 2) * noise, noise ~ N(0, I) fed from outside (the batch's seeded Rng),
 * so a training step stays a pure function of (seed, step) and resumes bit for bit.
 */
export function reparameterise(net: Net, mean: Value, logvar: Value, noise: Value): Value {
  const std = net.op('Exp', [net.op('Mul', [logvar.name, net.b.scalar(0.5)], logvar.shape).name], logvar.shape);
  return net.op('Add', [mean.name, net.op('Mul', [std.name, noise.name], mean.shape).name], mean.shape);
}

/**
 * sum(w * s * (predicted - target)^2) / (C * sum(w)): weight w [B, 1, h, w] (per latent cell,
 * broadcast over channels) sets which cells count; the optional per-sample factor s [B, 1, 1, 1]
 * (a timestep weighting) scales a sample's terms without entering the normaliser, so a batch of
 * down-weighted samples contributes less instead of being renormalised back.
 */
export function weightedEpsLoss(net: Net, predicted: Value, target: Value, weight: Value, sampleWeight?: Value): Value {
  const channels = predicted.shape[1]!;
  const diff = net.op('Sub', [predicted.name, target.name], predicted.shape);
  let weighted = net.op('Mul', [net.op('Mul', [diff.name, diff.name], diff.shape).name, weight.name], diff.shape);
  if (sampleWeight) weighted = net.op('Mul', [weighted.name, sampleWeight.name], diff.shape);
  const denominator = net.op('Mul', [sumAll(net, weight).name, net.b.scalar(channels)], []);
  return net.op('Div', [sumAll(net, weighted).name, denominator.name], []);
}

/** a * wa + b * wb + ... as one scalar. */
export function weightedSum(net: Net, terms: [Value, number][]): Value {
  const scaled = terms.map(([v, w]) => (w === 1 ? v : net.op('Mul', [v.name, net.b.scalar(w)], [])));
  return scaled.slice(1).reduce((acc, v) => net.op('Add', [acc.name, v.name], []), scaled[0]!);
}
