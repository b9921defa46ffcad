// Whole-model gradient check: a small UNet built with src/engine/nn (convs, group norm, SiLU,
// cross-attention with softmax over context tokens, nearest upsampling, skip concats, sin/cos
// timestep embedding), loss L = sum(out * R) for a fixed random R, differentiated by the composer
// with respect to its input, its context tokens and all of its weights at once. For random unit
// directions v over each group, the analytic <dL/dx, v> must match the central finite difference
// (L(x + h v) - L(x - h v)) / 2h run through the same float32 graph.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { composeTraining, type Trainer } from '../../../src/engine/autodiff/composer';
import { Adam } from '../../../src/engine/autodiff/optim';
import { findRule } from '../../../src/engine/autodiff/table';
import type { RuleEntry } from '../../../src/engine/autodiff/types';
import { buildTinyUNet, type TinyUNetConfig } from '../../../src/engine/nn';
import { GraphBuilder } from '../../../src/engine/onnx/builder';
import type { Model } from '../../../src/engine/onnx/ir';
import type { HostTensor } from '../../../src/engine/runtime';
import { Rng } from '../../../src/shared/random';

const BASE: TinyUNetConfig = {
  batch: 1, latentChannels: 4, size: 16, channels: [8, 16], attentionAt: [8, 4],
  contextTokens: 4, contextDim: 32, heads: 2, groups: 4, seed: 3,
};

/** The UNet plus loss = ReduceSum(out * R). */
function withLoss(cfg: TinyUNetConfig): { model: Model; params: string[] } {
  const unet = buildTinyUNet(cfg);
  const b = new GraphBuilder(unet.model.graph.name, { graph: unet.model.graph, opsetImports: unet.model.opsetImports });
  const r = b.constant(new Rng(99).normals(unet.outputShape.reduce((a, d) => a * d, 1)), unet.outputShape, 'float32', 'readout');
  b.output(b.op('ReduceSum', [b.op('Mul', [unet.output, r])], { keepdims: 0 }), 'loss', { dtype: 'float32', shape: [] });
  return { model: b.toModel(), params: unet.params };
}

/** Loss at params + h * direction (direction given for some names), restoring the params after. */
async function lossAlong(trainer: Trainer, batch: Record<string, HostTensor>, direction: Map<string, Float32Array>, h: number): Promise<number> {
  const saved = new Map<string, Float32Array>();
  for (const [name, v] of direction) {
    const p = trainer.params.get(name) as Float32Array;
    saved.set(name, p.slice());
    for (let i = 0; i < p.length; i++) p[i] = p[i]! + h * v[i]!;
  }
  const { loss } = await trainer.gradients(batch);
  for (const [name, p] of saved) (trainer.params.get(name) as Float32Array).set(p);
  return loss;
}

/** A random direction over the named tensors with unit norm over all of them together. */
function unitDirection(rng: Rng, trainer: Trainer, names: string[]): Map<string, Float32Array> {
  const dir = new Map(names.map((n) => [n, rng.normals(trainer.params.get(n)!.length)]));
  const norm = Math.sqrt([...dir.values()].reduce((a, v) => a + v.reduce((c, x) => c + x * x, 0), 0));
  for (const v of dir.values()) for (let i = 0; i < v.length; i++) v[i] = v[i]! / norm;
  return dir;
}

interface DirectionResult {
  label: string;
  analytic: number;
  numeric: number;
  rel: number;
}

async function checkModel(cfg: TinyUNetConfig, gradientRules?: RuleEntry[]): Promise<DirectionResult[]> {
  const { model, params } = withLoss(cfg);
  const rng = new Rng(cfg.seed + 100);
  const sample = rng.normals(cfg.batch * cfg.latentChannels * cfg.size * cfg.size);
  const context = rng.normals(cfg.batch * cfg.contextTokens * cfg.contextDim);
  const trainer = await composeTraining(model, {
    loss: 'loss',
    train: ['sample', 'context', ...params],
    initial: { sample, context },
    optimizer: new Adam({ lr: 0 }),
    ...(gradientRules ? { gradientRules } : {}),
  });
  assert.deepEqual(trainer.warnings, []);
  const batch: Record<string, HostTensor> = { timestep: { dtype: 'float32', dims: [cfg.batch], data: Float32Array.from({ length: cfg.batch }, (_, i) => 300 + 200 * i) } };
  const { grads } = await trainer.gradients(batch);
  const results: DirectionResult[] = [];
  // h = 0.04 along a unit direction: measured on this model, smaller steps drown in float32
  // rounding of the loss (errors up to 1e-2 at h = 0.005) and larger ones in curvature; at 0.04
  // every direction agreed to better than 2e-3
  const h = 0.04;
  const groups: [string, string[]][] = [
    ['sample', ['sample']],
    ['context', ['context']],
    [`all ${params.length} weights`, params],
  ];
  for (const [label, names] of groups) {
    for (let k = 0; k < 2; k++) {
      const dir = unitDirection(rng, trainer, names);
      let analytic = 0;
      for (const [name, v] of dir) {
        const g = grads.get(name)!;
        for (let i = 0; i < v.length; i++) analytic += g[i]! * v[i]!;
      }
      const numeric = ((await lossAlong(trainer, batch, dir, h)) - (await lossAlong(trainer, batch, dir, -h))) / (2 * h);
      const rel = Math.abs(analytic - numeric) / Math.max(Math.abs(analytic), Math.abs(numeric), 1e-3);
      results.push({ label, analytic, numeric, rel });
    }
  }
  await trainer.release();
  return results;
}

const describe = (r: DirectionResult): string => `${r.label}: analytic ${r.analytic.toFixed(5)} numeric ${r.numeric.toFixed(5)} rel ${r.rel.toExponential(2)}`;

function assertAllAgree(results: DirectionResult[]): void {
  console.log(results.map(describe).join('\n'));
  for (const r of results) {
    // a rule off by a few percent (e.g. a gradient scaled by 1.05) fails this
    assert.ok(r.rel < 1e-2, describe(r));
    assert.ok(Math.abs(r.analytic) > 1e-3, `a direction with a vanishing derivative proves nothing: ${describe(r)}`);
  }
}

test('tiny UNet: gradients for input, context tokens and all weights match finite differences', { timeout: 60_000 }, async () => {
  assertAllAgree(await checkModel(BASE));
});

test('tiny UNet, batch 2 with the moment-based group norm and Expand upsampling: gradients match finite differences', { timeout: 60_000 }, async () => {
  assertAllAgree(await checkModel({ ...BASE, batch: 2, groupNormImpl: 'moments', upsampleImpl: 'expand', seed: 4 }));
});

test('the whole-model check bites: a Softmax gradient 3% too large fails it for the context', { timeout: 60_000 }, async () => {
  const softmax = findRule('Softmax', '', 17)!;
  assert.ok(typeof softmax.rule === 'function');
  const trueRule = softmax.rule;
  const broken: RuleEntry = {
    opType: 'Softmax',
    rule: (ctx) => trueRule(ctx).map((g) => (g === undefined ? g : ctx.b.op('Mul', [g, ctx.b.scalar(1.03)]))),
  };
  const results = await checkModel(BASE, [broken]);
  const context = results.filter((r) => r.label === 'context');
  assert.ok(context.some((r) => r.rel > 1e-2), `the broken rule went unnoticed: ${context.map(describe).join('; ')}`);
  // the input's gradient passes through the attention layers' queries too
  assert.ok(results.some((r) => r.label === 'sample' && r.rel > 1e-2) || results.some((r) => r.label.startsWith('all') && r.rel > 1e-2), results.map(describe).join('; '));
});
