// Gradient checks of the tiny LDM's parts as the composer differentiates them: the spatial
// encoder, the UNet with its AAR inputs, and the two full training graphs (with their losses).
// For random unit directions v over a group of tensors, the analytic <dL/dx, v> must match the
// central finite difference (L(x + h v) - L(x - h v)) / 2h through the same float32 graph.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { composeTraining, type Trainer } from '../../../../src/engine/autodiff/composer';
import { Adam } from '../../../../src/engine/autodiff/optim';
import { GraphBuilder } from '../../../../src/engine/onnx/builder';
import type { Model } from '../../../../src/engine/onnx/ir';
import type { HostTensor } from '../../../../src/engine/runtime';
import { Net, type Value } from '../../../../src/engine/nn';
import { SMOKE_LDM, SMOKE_LDM_V3, SMOKE_LDM_V4, contextLength, latentSize, oneHot, spatialEncoder, tinyLdmUNet } from '../../../../src/engine/models/tiny-ldm';
import { buildUNetTrainingGraph } from '../../../../src/engine/models/tiny-ldm/train/graphs';
import { edgeLoss, l1Loss, meanSquare, weightedEpsLoss } from '../../../../src/engine/models/tiny-ldm/train/losses';
import { vaeDecoder, vaeEncoder } from '../../../../src/engine/models/tiny-ldm/vae';
import { encodeModel } from '../../../../src/engine/onnx/serialize';
import { createSession } from '../../../../src/engine/runtime';
import { gradCheck } from '../../../helpers/gradcheck';
import { Rng } from '../../../../src/shared/random';

const cfg = SMOKE_LDM;
const f = (dims: number[], data: Float32Array): HostTensor => ({ dtype: 'float32', dims, data });

interface Check {
  label: string;
  analytic: number;
  numeric: number;
  rel: number;
  /** norm of the gradient over the group */
  gradNorm: number;
}

async function lossAlong(trainer: Trainer, batch: Record<string, HostTensor>, dir: Map<string, Float32Array>, h: number): Promise<number> {
  const saved = new Map<string, Float32Array>();
  for (const [name, v] of dir) {
    const p = trainer.params.get(name) as Float32Array;
    saved.set(name, p.slice());
    for (let i = 0; i < p.length; i++) p[i] = p[i]! + h * v[i]!;
  }
  const { loss } = await trainer.gradients(batch);
  for (const [name, p] of saved) (trainer.params.get(name) as Float32Array).set(p);
  return loss;
}

/** Directional checks for each group of trained names (2 directions per group). */
/** groups: [label, names, finite-difference step along a unit direction] */
async function check(model: Model, train: string[], initial: Record<string, Float32Array>, batch: Record<string, HostTensor>, groups: [string, string[], number][], seed: number): Promise<Check[]> {
  const trainer = await composeTraining(model, { loss: 'loss', train, initial, optimizer: new Adam({ lr: 0 }) });
  assert.deepEqual(trainer.warnings, []);
  const { grads } = await trainer.gradients(batch);
  const rng = new Rng(seed);
  const results: Check[] = [];
  for (const [label, names, h] of groups) {
    for (let k = 0; k < 2; k++) {
      const dir = new Map(names.map((n) => [n, rng.normals(trainer.params.get(n)!.length)]));
      const norm = Math.sqrt([...dir.values()].reduce((a, v) => a + v.reduce((c, x) => c + x * x, 0), 0));
      let analytic = 0;
      let gradSq = 0;
      for (const name of names) for (const gi of grads.get(name)!) gradSq += gi * gi;
      for (const [name, v] of dir) {
        const g = grads.get(name)!;
        for (let i = 0; i < v.length; i++) {
          v[i] = v[i]! / norm;
          analytic += g[i]! * v[i]!;
        }
      }
      const numeric = ((await lossAlong(trainer, batch, dir, h)) - (await lossAlong(trainer, batch, dir, -h))) / (2 * h);
      // relative error with a floor at a tenth of the gradient's norm (as the shared harness), so a
      // direction almost orthogonal to the gradient does not turn rounding into a large ratio
      const gradNorm = Math.sqrt(gradSq);
      const rel = Math.abs(analytic - numeric) / Math.max(Math.abs(analytic), Math.abs(numeric), 0.1 * gradNorm, 1e-6);
      results.push({ label, analytic, numeric, rel, gradNorm });
    }
  }
  await trainer.release();
  return results;
}

function assertAgree(results: Check[], tol = 1e-2): void {
  const text = (r: Check): string => `${r.label}: analytic ${r.analytic.toExponential(4)} numeric ${r.numeric.toExponential(4)} rel ${r.rel.toExponential(2)}`;
  console.log(results.map(text).join('\n'));
  for (const r of results) {
    assert.ok(r.rel < tol, text(r));
    assert.ok(r.gradNorm > 1e-4, `a vanishing gradient proves nothing: ${text(r)} (gradient norm ${r.gradNorm})`);
  }
}

/** Wraps `emit` (returning one value) with loss = ReduceSum(out * R). */
function readout(name: string, emit: (net: Net, b: GraphBuilder) => Value): { model: Model; params: string[] } {
  const b = new GraphBuilder(name);
  const net = new Net(b, 11);
  const out = emit(net, b);
  const r = b.constant(new Rng(99).normals(out.shape.reduce((a, d) => a * d, 1)), out.shape, 'float32', 'readout');
  b.output(b.op('ReduceSum', [b.op('Mul', [out.name, r])], { keepdims: 0 }), 'loss', { dtype: 'float32', shape: [] });
  return { model: b.toModel(), params: [...net.params] };
}

test('spatial encoder: gradients for the mask and all weights match finite differences', { timeout: 120_000 }, async () => {
  const S = cfg.imageSize;
  const { model, params } = readout('spatial', (net, b) => spatialEncoder(net, { name: b.input('mask', 'float32', [2, 1, S, S]), shape: [2, 1, S, S] }, cfg.spatial, cfg.spatialTokens, cfg.tokenWidth));
  const mask = new Rng(4).uniforms(2 * S * S, -1, 1);
  assertAgree(await check(model, ['mask', ...params], { mask }, {}, [['mask', ['mask'], 1], [`all ${params.length} weights`, params, 0.02]], 5));
});

test('UNet with AAR inputs: gradients for sample, context and all weights match finite differences', { timeout: 120_000 }, async () => {
  const g = latentSize(cfg);
  const L = contextLength(cfg);
  const C = cfg.vae.latentChannels;
  const { model, params } = readout('unet', (net, b) => {
    const input = (name: string, shape: number[]): Value => ({ name: b.input(name, 'float32', shape), shape });
    return tinyLdmUNet(net, {
      sample: input('sample', [2, C, g, g]),
      timestep: input('timestep', [2]),
      context: input('context', [2, L, cfg.tokenWidth]),
      aar: { weight: input('aar_weight', [2, g * g]), columns: input('aar_columns', [2, L]) },
    }, cfg.unet);
  });
  const rng = new Rng(8);
  const cols = new Float32Array(2 * L);
  cols.fill(1, 1, 1 + cfg.defectTokens);
  const batch = { timestep: f([2], Float32Array.of(50, 800)), aar_weight: f([2, g * g], rng.uniforms(2 * g * g, 1, 1.5)), aar_columns: f([2, L], cols) };
  const initial = { sample: rng.normals(2 * C * g * g), context: rng.normals(2 * L * cfg.tokenWidth) };
  assertAgree(await check(model, ['sample', 'context', ...params], initial, batch, [['sample', ['sample'], 0.04], ['context', ['context'], 0.04], [`all ${params.length} weights`, params, 0.04]], 9));
});

for (const [what, model] of [['', cfg], [' with the mask input (v3)', SMOKE_LDM_V3], [' with the family embedding (v4)', SMOKE_LDM_V4]] as const) test(`UNet training graph (token table + spatial encoder + UNet + weighted eps loss)${what}: gradients match`, { timeout: 120_000 }, async () => {
  const graph = buildUNetTrainingGraph(model, 2);
  const g = latentSize(cfg);
  const C = cfg.vae.latentChannels;
  const S = cfg.imageSize;
  const rng = new Rng(12);
  const V = graph.vocabulary.labels.length;
  const labels = [['family:wood', ...Array.from({ length: 8 }, (_, i) => `defect:scratch:${i}`)], ['family:mask', ...Array.from({ length: 8 }, (_, i) => `defect:hole:${i}`)]];
  const batch = {
    sample: f([2, C, g, g], rng.normals(2 * C * g * g)),
    timestep: f([2], Float32Array.of(10, 600)),
    eps_target: f([2, C, g, g], rng.normals(2 * C * g * g)),
    loss_weight: f([2, 1, g, g], rng.uniforms(2 * g * g, 0, 1)),
    label_onehot: f([2, 9, V], oneHot(graph.vocabulary, labels)),
    spatial_keep: f([2, 1, 1], Float32Array.of(1, 0)),
    mask: f([2, 1, S, S], rng.uniforms(2 * S * S, -1, 1)),
  };
  const spatial = graph.params.filter((p) => p.startsWith('spatial.'));
  const unet = graph.params.filter((p) => p.startsWith('unet.'));
  assertAgree(await check(graph.model, graph.params, {}, batch, [['token table', ['token_table'], 0.3], ['spatial encoder', spatial, 0.3], ['UNet', unet, 0.03]], 13));
});

test('VAE encoder + decoder: gradients for the image and all weights match finite differences', { timeout: 120_000 }, async () => {
  const { model, params } = readout('vae', (net, b) => vaeDecoder(net, vaeEncoder(net, { name: b.input('image', 'float32', [2, 3, 32, 32]), shape: [2, 3, 32, 32] }, cfg.vae), cfg.vae));
  const image = new Rng(14).uniforms(2 * 3 * 32 * 32, -1, 1);
  const encoder = params.filter((p) => p.startsWith('vae.encoder.'));
  const decoder = params.filter((p) => p.startsWith('vae.decoder.'));
  assertAgree(await check(model, ['image', ...params], { image }, {}, [['image', ['image'], 0.1], ['encoder', encoder, 0.04], ['decoder', decoder, 0.04]], 15));
});

// The loss terms on their own, through the shared harness; inputs a and b are drawn so that every
// difference |a - b| (and of their forward differences) stays far from the kink of |.| at 0.
test('VAE loss terms (L1, edge, latent L2) and the weighted eps loss: gradients match', async () => {
  const shape = [1, 2, 3, 4];
  const n = 24;
  const a = Array.from({ length: n }, (_, i) => i * 0.37);
  const b = Array.from({ length: n }, (_, i) => (i % 2 ? 1 : -1) * 0.2 - 0.5 * i);
  const spec = { a: { shape, wrt: true, values: a }, b: { shape, wrt: true, values: b } };
  const v = (name: string): Value => ({ name, shape });
  for (const [label, emit] of [
    ['l1', (net: Net, x: Record<string, string>) => l1Loss(net, v(x.a!), v(x.b!))],
    ['edge', (net: Net, x: Record<string, string>) => edgeLoss(net, v(x.a!), v(x.b!))],
    ['mean square', (net: Net, x: Record<string, string>) => meanSquare(net, v(x.a!))],
  ] as const) {
    const report = await gradCheck({ build: (gb, x) => emit(new Net(gb, 1), x).name, inputs: spec, step: 0.05, seed: 3 });
    assert.ok(report.worst < 3e-3, `${label}: worst relative error ${report.worst}`);
  }
  const w = { shape: [1, 1, 3, 4], wrt: false, generator: (rng: Rng, k: number) => rng.uniforms(k, 0.1, 1) };
  const report = await gradCheck({
    build: (gb, x) => weightedEpsLoss(new Net(gb, 1), v(x.a!), v(x.b!), { name: x.w!, shape: [1, 1, 3, 4] }).name,
    inputs: { a: { shape, wrt: true }, b: { shape, wrt: true }, w },
    seed: 4,
  });
  assert.ok(report.worst < 3e-3, `weighted eps loss: worst relative error ${report.worst}`);
  const perSample = { shape: [1, 1, 1, 1], wrt: false, generator: (rng: Rng, k: number) => rng.uniforms(k, 0.2, 1) };
  const timestepWeighted = await gradCheck({
    build: (gb, x) => weightedEpsLoss(new Net(gb, 1), v(x.a!), v(x.b!), { name: x.w!, shape: [1, 1, 3, 4] }, { name: x.s!, shape: [1, 1, 1, 1] }).name,
    inputs: { a: { shape, wrt: true }, b: { shape, wrt: true }, w, s: perSample },
    seed: 5,
  });
  assert.ok(timestepWeighted.worst < 3e-3, `weighted eps loss with a per-sample factor: worst relative error ${timestepWeighted.worst}`);
});

/**
 * weightedEpsLoss on fixed [2, 2, 2, 2] inputs through ONNX Runtime, and the same by hand: sum over
 * (n, c, y, x) of s[n] w[n, y, x] (p - t)^2, over C * sum(w) = 2 * 3 (s = 1 without factors, which
 * stay out of the normaliser).
 */
async function epsLossAndHandValue(sampleFactors?: Float32Array): Promise<{ loss: number; expected: number }> {
  const b = new GraphBuilder('eps_loss');
  const net = new Net(b, 1);
  const shape = [2, 2, 2, 2];
  const p = new Rng(1).normals(16);
  const t = new Rng(2).normals(16);
  const w = Float32Array.of(1, 0, 0, 1, 0.5, 0.5, 0, 0);
  const value = (name: string, dims: number[]): Value => ({ name: b.input(name, 'float32', dims), shape: dims });
  const factor = sampleFactors ? value('s', [2, 1, 1, 1]) : undefined;
  const loss = weightedEpsLoss(net, value('p', shape), value('t', shape), value('w', [2, 1, 2, 2]), factor);
  b.output(loss.name, 'loss', { dtype: 'float32', shape: [] });
  const session = await createSession(encodeModel(b.toModel()));
  const out = await session.run({ p: f(shape, p), t: f(shape, t), w: f([2, 1, 2, 2], w), ...(sampleFactors ? { s: f([2, 1, 1, 1], sampleFactors) } : {}) });
  await session.release();
  let num = 0;
  for (let n = 0; n < 2; n++) for (let c = 0; c < 2; c++) for (let k = 0; k < 4; k++) num += (sampleFactors?.[n] ?? 1) * w[n * 4 + k]! * (p[n * 8 + c * 4 + k]! - t[n * 8 + c * 4 + k]!) ** 2;
  return { loss: (out['loss']!.data as Float32Array)[0]!, expected: num / (2 * 3) };
}

test('the weighted eps loss equals an independent computation', async () => {
  const { loss, expected } = await epsLossAndHandValue();
  assert.ok(Math.abs(loss - expected) < 1e-5 * Math.max(1, expected));
});

test('a per-sample factor scales each sample\'s terms and stays out of the normaliser', async () => {
  const { loss, expected } = await epsLossAndHandValue(Float32Array.of(0.25, 1));
  assert.ok(Math.abs(loss - expected) < 1e-5 * Math.max(1, expected));
});
