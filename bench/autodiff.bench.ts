// Autodiff cost on a realistic small UNet (4x32x32 latent, channels 32/64, cross-attention at
// 16x16 and 8x8 over 8 context tokens of width 64), batch 4, CPU, one intra-op thread:
//   forward            the UNet + loss, weights as initializers (inference)
//   ctx                forward + backward w.r.t. the context only (textual inversion's case)
//   weights            forward + backward w.r.t. all weights, as initializers
//   weights (trainer)  the composer's training graph: weights fed as inputs every run, plus the
//                      TS-side gradient norm; and a full step including the Adam update
// reported as ratios to the forward (median, and minimum, of interleaved runs after warm-up).
// Goals: ctx <= 2.5x, all weights <= 3.5x.

import { buildGradientGraph } from '../src/engine/autodiff/gradient';
import { composeTraining } from '../src/engine/autodiff/composer';
import { Adam } from '../src/engine/autodiff/optim';
import { buildTinyUNet, type TinyUNetConfig } from '../src/engine/nn';
import { GraphBuilder } from '../src/engine/onnx/builder';
import type { Model } from '../src/engine/onnx/ir';
import { encodeModel } from '../src/engine/onnx/serialize';
import { createSession, type HostTensor, type Session } from '../src/engine/runtime';
import { Rng } from '../src/shared/random';
import type { BenchReport } from './run';

const CONFIG: TinyUNetConfig = {
  batch: 4, latentChannels: 4, size: 32, channels: [32, 64], attentionAt: [16, 8],
  contextTokens: 8, contextDim: 64, heads: 4, groups: 8, seed: 1,
};
const WARMUP = 2;
const RUNS = 9;

interface Timing {
  median: number;
  min: number;
}

/**
 * Runs every case once per round, round after round, so that load from other processes on a
 * shared machine hits all cases alike; reports the median and the minimum per case (the minimum
 * is the least disturbed by other processes).
 */
async function timeInterleaved(cases: (() => Promise<unknown>)[]): Promise<Timing[]> {
  const times = cases.map(() => [] as number[]);
  for (let round = 0; round < WARMUP + RUNS; round++) {
    for (let k = 0; k < cases.length; k++) {
      const t0 = performance.now();
      await cases[k]!();
      if (round >= WARMUP) times[k]!.push(performance.now() - t0);
    }
  }
  return times.map((ts) => {
    const sorted = [...ts].sort((a, b) => a - b);
    const mid = sorted.length >> 1;
    return { median: sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2, min: sorted[0]! };
  });
}

function modelWithLoss(): { model: Model; params: string[] } {
  const unet = buildTinyUNet(CONFIG);
  const b = new GraphBuilder(unet.model.graph.name, { graph: unet.model.graph, opsetImports: unet.model.opsetImports });
  const r = b.constant(new Rng(2).normals(unet.outputShape.reduce((a, d) => a * d, 1)), unet.outputShape, 'float32', 'readout');
  b.output(b.op('ReduceSum', [b.op('Mul', [unet.output, r])], { keepdims: 0 }), 'loss', { dtype: 'float32', shape: [] });
  b.graph.outputs = b.graph.outputs.filter((o) => o.name === 'loss');
  return { model: b.toModel(), params: unet.params };
}

export async function run(): Promise<BenchReport> {
  const { model, params } = modelWithLoss();
  const rng = new Rng(3);
  const { batch, latentChannels, size, contextTokens, contextDim } = CONFIG;
  const feeds: Record<string, HostTensor> = {
    sample: { dtype: 'float32', dims: [batch, latentChannels, size, size], data: rng.normals(batch * latentChannels * size * size) },
    timestep: { dtype: 'float32', dims: [batch], data: Float32Array.from([10, 250, 500, 900]) },
    context: { dtype: 'float32', dims: [batch, contextTokens, contextDim], data: rng.normals(batch * contextTokens * contextDim) },
  };
  const paramCount = params.reduce((a, p) => a + model.graph.initializers.get(p)!.dims.reduce((x, d) => x * d, 1), 0);
  const session = (m: Model): Promise<Session> => createSession(encodeModel(m), { intraOpNumThreads: 1 });

  const forward = await session(model);
  let t0 = performance.now();
  const ctxGraph = buildGradientGraph(model, { loss: 'loss', wrt: ['context'] });
  const buildCtxMs = performance.now() - t0;
  const ctx = await session(ctxGraph.model);
  t0 = performance.now();
  const weightsGraph = buildGradientGraph(model, { loss: 'loss', wrt: params });
  const buildWeightsMs = performance.now() - t0;
  const weights = await session(weightsGraph.model);
  const trainer = await composeTraining(model, { loss: 'loss', train: params, optimizer: new Adam({ lr: 1e-4 }), session: { intraOpNumThreads: 1 } });
  const [tForward, tCtx, tWeights, tTrainerGrads, tTrainerStep] = (await timeInterleaved([
    () => forward.run(feeds),
    () => ctx.run(feeds),
    () => weights.run(feeds),
    () => trainer.gradients(feeds),
    () => trainer.step(feeds),
  ])) as [Timing, Timing, Timing, Timing, Timing];
  for (const s of [forward, ctx, weights]) await s.release();
  await trainer.release();

  const forwardNodes = model.graph.nodes.length;
  const ratio = (t: Timing): number => t.median / tForward.median;
  const minRatio = (t: Timing): number => t.min / tForward.min;
  const values: Record<string, number | string> = {
    config: JSON.stringify(CONFIG),
    params: paramCount,
    forward_nodes: forwardNodes,
    ctx_nodes: ctxGraph.model.graph.nodes.length,
    weights_nodes: weightsGraph.model.graph.nodes.length,
    build_ctx_ms: +buildCtxMs.toFixed(1),
    build_weights_ms: +buildWeightsMs.toFixed(1),
  };
  const rows: [string, string, Timing][] = [
    ['forward', 'forward', tForward],
    ['ctx', 'forward+backward, context', tCtx],
    ['weights', 'forward+backward, all weights', tWeights],
    ['trainer_grads', 'trainer.gradients (weights fed)', tTrainerGrads],
    ['trainer_step', 'trainer.step (+ Adam in TS)', tTrainerStep],
  ];
  for (const [key, , t] of rows) {
    values[`${key}_ms`] = +t.median.toFixed(2);
    values[`${key}_min_ms`] = +t.min.toFixed(2);
    if (key !== 'forward') {
      values[`${key}_ratio`] = +ratio(t).toFixed(3);
      values[`${key}_min_ratio`] = +minRatio(t).toFixed(3);
    }
  }
  const goals: Record<string, number> = { ctx: 2.5, weights: 3.5 };
  const goal = (key: string, t: Timing): string => {
    const limit = goals[key];
    if (limit === undefined) return '';
    return ratio(t) <= limit ? `  ok, goal <= ${limit}x` : `  OVER the goal of ${limit}x`;
  };
  return {
    name: 'autodiff (tiny UNet 4x32x32, ch 32/64, batch 4, CPU, 1 thread)',
    lines: [
      `${paramCount} weights; graph nodes: forward ${forwardNodes}, +grad(ctx) ${values.ctx_nodes}, +grad(weights) ${values.weights_nodes}`,
      `buildGradientGraph: ctx ${buildCtxMs.toFixed(0)} ms, all weights ${buildWeightsMs.toFixed(0)} ms`,
      ...rows.map(([key, label, t]) =>
        `${label.padEnd(32)} median ${t.median.toFixed(1).padStart(6)} ms = ${ratio(t).toFixed(2)}x   min ${t.min.toFixed(1).padStart(6)} ms = ${minRatio(t).toFixed(2)}x${goal(key, t)}`),
      `${RUNS} interleaved rounds after ${WARMUP} warm-up rounds; ratios are to the forward's median (min to min)`,
    ],
    values,
  };
}
