// A `train:base -- --plan v5 --smoke` package (the shipped design) end to end: the manifest declares the rescaled,
// v-prediction, trailing schedule; the loader reads it back; blended generation starts at the
// pure-noise level t = 999 and gives finite output that changes the mask; defect learning and
// adaptation (whose losses then target v, with abar = 0 at the last timestep) run and keep it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { alphasCumprod } from '../../../../src/engine/diffusion/schedule';
import { generateBlended } from '../../../../src/engine/diffusion/blended';
import { runPretraining } from '../../../../src/engine/models/tiny-ldm/train';
import { SMOKE_PLAN_V5, ZERO_SNR_V_SCHEDULE } from '../../../../src/engine/models/tiny-ldm/train/plan';
import { loadBuiltinModel, readBuiltinManifest } from '../../../../src/engine/models/builtin/load';
import type { DiffusionModel, NoiseRequest } from '../../../../src/engine/models/types';
import { learnDefect } from '../../../../src/engine/anomaly/learn-defect';
import { adaptModel } from '../../../../src/engine/adapt/adapt-model';
import { makeLearnFixture } from '../../anomaly/fixture';

test('a --plan v5 --smoke package: v-prediction schedule declared, sampled from t = 999, learnt and adapted on', { timeout: 300_000 }, async () => {
  const root = mkdtempSync(path.join(tmpdir(), 'tiny ldm zero snr '));
  const fx = await makeLearnFixture('zero-snr-learn');
  try {
    const outDir = path.join(root, 'package');
    const plan = SMOKE_PLAN_V5;
    const summary = await runPretraining({ plan, dir: path.join(root, 'train'), outDir });
    assert.equal(summary.complete, true);
    assert.deepEqual((await readBuiltinManifest(outDir)).schedule, ZERO_SNR_V_SCHEDULE);
    assert.equal(alphasCumprod(ZERO_SNR_V_SCHEDULE)[999], 0);

    const model = await loadBuiltinModel(outDir);
    try {
      assert.deepEqual(model.facts.schedule, ZERO_SNR_V_SCHEDULE);
      const { width: W, height: H } = model.facts.imageSize;
      const seen: number[] = [];
      const spy: DiffusionModel = Object.assign(Object.create(model) as DiffusionModel, {
        predictNoise: (r: NoiseRequest) => (seen.push(...r.timesteps), model.predictNoise(r)),
      });
      const pixels = new Uint8Array(W * H);
      for (let y = 16; y < 40; y++) for (let x = 16; x < 44; x++) pixels[y * W + x] = 255;
      const normal = { width: W, height: H, channels: 3 as const, data: new Uint8Array(W * H * 3).fill(120) };
      const result = await generateBlended(
        spy,
        { normal, mask: pixels, conditioning: { prompt: model.tokens.families()[0]!, defect: model.tokens.defects()[0]!, mask: { width: W, height: H, data: pixels } }, seed: 3, sampler: { sampler: 'ddim', steps: 4 }, guidanceScale: 3 },
        { keepDecoded: true },
      );
      assert.equal(seen[0], 999, 'trailing spacing: the first step is the pure-noise level');
      let inside = 0;
      let count = 0;
      for (let p = 0; p < W * H; p++) {
        if (!pixels[p]) continue;
        for (let c = 0; c < 3; c++) inside += Math.abs(result.decoded!.data[p * 3 + c]! - 120);
        count += 3;
      }
      assert.ok(inside / count > 1, `the mask changed by ${inside / count} levels`);
    } finally {
      await model.release();
    }

    const project = await fx.newProject('zero-snr');
    try {
      const learned = await learnDefect({ project, type: 'widget/crack', modelDir: outDir, settings: { steps: 3, variants: 1, previewEvery: 0, checkpointEvery: 0 } });
      assert.equal(learned.steps, 3);
      for (const loss of [learned.finalLoss, learned.probeLoss.start, learned.probeLoss.end]) assert.ok(Number.isFinite(loss), `defect learning loss ${loss}`);
      const adapted = await adaptModel({ project, modelDir: outDir, settings: { mode: 'full', steps: 2, evalEvery: 2, patience: 100, lr: 1e-3, variants: 1, heldOutFraction: 0.5, checkpointEvery: 0, seed: 1 } });
      assert.deepEqual((await readBuiltinManifest(adapted.modelDir)).schedule, ZERO_SNR_V_SCHEDULE, 'an adapted package keeps the schedule');
    } finally {
      project.close();
    }
  } finally {
    fx.cleanup();
    rmSync(root, { recursive: true, force: true });
  }
});
