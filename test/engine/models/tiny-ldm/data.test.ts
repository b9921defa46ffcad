// The pretraining's data and bookkeeping: deterministic corpus samples with the held-out defect
// families never drawn, mask images, bit-packed masks, the UNet batch (noising formula checked
// against an independent abar), PSNR, the learning-rate schedule, and the training folder default.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { homedir } from 'node:os';
import path from 'node:path';
import { SMOKE_LDM, buildVocabulary, latentSize } from '../../../../src/engine/models/tiny-ldm';
import { HELD_OUT_DEFECTS, corpusSample, downscale, sampleLabels } from '../../../../src/engine/models/tiny-ldm/train/data';
import { psnr } from '../../../../src/engine/models/tiny-ldm/train/evaluate';
import { packBits, unpackMask, type LatentSet } from '../../../../src/engine/models/tiny-ldm/train/latents';
import { SMOKE_PLAN, ZERO_SNR_V_SCHEDULE, defaultTrainDir, learningRate } from '../../../../src/engine/models/tiny-ldm/train/plan';
import { Rng } from '../../../../src/shared/random';
import { addOffsetNoise, minSnrWeight, unetBatch } from '../../../../src/engine/models/tiny-ldm/train/unet-phase';

test('corpus samples are deterministic, never use a held-out defect family, and label what they show', () => {
  const a = corpusSample(3, 'train', 5, 64);
  const b = corpusSample(3, 'train', 5, 64);
  assert.deepEqual(a, b);
  assert.notDeepEqual(corpusSample(3, 'train', 6, 64).image, a.image);
  const kinds = new Set<string>();
  for (let i = 0; i < 40; i++) {
    const s = corpusSample(11, 'train', i, 64);
    kinds.add(s.kind);
    assert.equal(s.image.length, 64 * 64 * 3);
    assert.equal(s.mask.length, 64 * 64);
    if (s.defect !== null) assert.ok(!HELD_OUT_DEFECTS.includes(s.defect), `sample ${i} uses held-out '${s.defect}'`);
    const labels = sampleLabels(s, 8);
    assert.equal(labels.length, 9);
    if (s.kind === 'normal') {
      assert.equal(s.defect, null);
      assert.ok(s.mask.every((v) => v === 0));
      assert.deepEqual(labels, [`family:${s.family}`, ...Array(8).fill('<null>')]);
    } else if (s.kind === 'defect') {
      assert.ok(s.mask.some((v) => v === 255), `defect sample ${i} has an empty mask`);
      assert.deepEqual(labels, [`family:${s.family}`, ...Array.from({ length: 8 }, (_, k) => `defect:${s.defect}:${k}`)]);
    } else {
      // a mask shown as an image: every pixel is 0 or 255 in all three channels alike
      assert.equal(labels[0], 'family:mask');
      for (let p = 0; p < 64 * 64; p++) {
        const v = s.image[p * 3]!;
        assert.ok(v === 0 || v === 255);
        assert.equal(s.image[p * 3 + 1], v);
        assert.equal(s.image[p * 3 + 2], v);
      }
      assert.ok(s.image.some((v) => v === 255), `mask image ${i} is empty`);
    }
  }
  assert.deepEqual([...kinds].sort(), ['defect', 'mask-image', 'normal']);
});

test('downscale is a box filter', () => {
  const gray = Uint8Array.of(0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110, 120, 130, 140, 150);
  // 4x4 -> 2x2: means of the 2x2 blocks
  assert.deepEqual([...downscale(gray, 4, 1, 2)], [25, 45, 105, 125]);
});

test('masks pack into bits and unpack to [-1, 1]', () => {
  const mask = new Uint8Array(64 * 64);
  for (let i = 0; i < mask.length; i++) if ((i * 7919) % 13 < 4) mask[i] = 255;
  const bits = packBits(mask);
  assert.equal(bits.length, 512);
  const both = new Uint8Array(1024);
  both.set(new Uint8Array(512), 0);
  both.set(bits, 512);
  const out = new Float32Array(4096);
  unpackMask(both, 4096, 1, out, 0);
  for (let i = 0; i < mask.length; i++) assert.equal(out[i], mask[i] ? 1 : -1);
});

test('psnr: 8-bit images off by one everywhere give 10 log10(255^2) = 48.13 dB', () => {
  const a = new Uint8Array(300).fill(100);
  const b = new Uint8Array(300).fill(101);
  assert.ok(Math.abs(psnr(a, b) - 48.1308) < 1e-3);
  assert.equal(psnr(a, a), Infinity);
  assert.throws(() => psnr(a, new Uint8Array(3)), /differ in size/);
});

test('learning rate: linear warmup, then cosine from the peak to the final rate', () => {
  const lr = learningRate({ steps: 110, batch: 1, lr: 1e-3, finalLr: 1e-4, warmup: 10 });
  assert.ok(Math.abs(lr(5) - 5e-4) < 1e-12);
  assert.ok(Math.abs(lr(10) - 1e-3) < 1e-12);
  assert.ok(Math.abs(lr(60) - 5.5e-4) < 1e-12);
  assert.ok(Math.abs(lr(110) - 1e-4) < 1e-12);
});

test('UNet batch: z_t = sqrt(abar_t) scale z0 + sqrt(1 - abar_t) eps, context dropping, masked loss weights', () => {
  const cfg = SMOKE_LDM;
  const g = latentSize(cfg);
  const C = cfg.vae.latentChannels;
  const S = cfg.imageSize;
  const count = 4;
  const per = C * g * g;
  // every latent is 0.5 everywhere, so z0 does not depend on which sample is drawn
  const masks = new Uint8Array(count * (S * S) / 8);
  // sample 1 is a defect whose mask covers the top-left 16x16 pixels = 2x2 latent cells
  const m = new Uint8Array(S * S);
  for (let y = 0; y < 16; y++) for (let x = 0; x < 16; x++) m[y * S + x] = 255;
  masks.set(packBits(m), (S * S) / 8);
  const data: LatentSet = {
    count,
    latents: new Float32Array(count * per).fill(0.5),
    masks,
    labels: [
      { kind: 'normal', family: 'wood', defect: null },
      { kind: 'defect', family: 'wood', defect: 'scratch' },
      { kind: 'mask-image', family: 'tile', defect: 'hole' },
      { kind: 'defect', family: 'leather', defect: 'scratch' },
    ],
    scale: 2,
    mean: 0.5,
    cpuSeconds: 0,
  };
  // abar_t from the scaled-linear schedule, computed here independently
  const abar = (t: number): number => {
    let prod = 1;
    for (let i = 0; i <= t; i++) prod *= 1 - (Math.sqrt(0.00085) + ((Math.sqrt(0.012) - Math.sqrt(0.00085)) * i) / 999) ** 2;
    return prod;
  };
  const vocab = buildVocabulary(cfg.defectTokens);
  const V = vocab.labels.length;
  const plan = { ...SMOKE_PLAN, unet: { ...SMOKE_PLAN.unet, batch: 6 } };
  let sawMasked = false;
  let sawNull = false;
  for (let step = 1; step <= 12; step++) {
    const b = unetBatch(plan, data, vocab, step);
    assert.deepEqual(unetBatch(plan, data, vocab, step), b, 'a step batch is a pure function of the step');
    const sample = b['sample']!.data as Float32Array;
    const eps = b['eps_target']!.data as Float32Array;
    const t = b['timestep']!.data as Float32Array;
    const weight = b['loss_weight']!.data as Float32Array;
    const onehot = b['label_onehot']!.data as Float32Array;
    for (let n = 0; n < 6; n++) {
      const a = abar(t[n]!);
      for (let i = 0; i < per; i += 37) {
        const expected = Math.sqrt(a) * 2 * 0.5 + Math.sqrt(1 - a) * eps[n * per + i]!;
        assert.ok(Math.abs(sample[n * per + i]! - expected) < 1e-5, `step ${step} sample ${n}`);
      }
      // exactly one 1 per context slot
      for (let l = 0; l < 9; l++) assert.equal(onehot.subarray((n * 9 + l) * V, (n * 9 + l + 1) * V).reduce((x, y) => x + y, 0), 1);
      if (onehot[(n * 9) * V + vocab.index['<null>']!] === 1) sawNull = true;
    }
    const w = [...weight];
    if (w.some((v) => v === 0)) {
      sawMasked = true;
      // masked batch: weights are 0/1 latent masks; a weighted sample has exactly the 2x2 top-left cells
      for (let n = 0; n < 6; n++) {
        const cells = w.slice(n * g * g, (n + 1) * g * g);
        const on = cells.map((v, i) => (v > 0 ? i : -1)).filter((i) => i >= 0);
        if (on.length > 0) assert.deepEqual(on, [0, 1, g, g + 1]);
      }
    } else {
      assert.ok(w.every((v) => v === 1));
    }
  }
  assert.ok(sawMasked, 'no masked-loss batch in 12 steps');
  assert.ok(sawNull, 'no dropped context in 12 steps');

  // defectWeight: the same draws; in the plain batches a defect's cells (any coverage) weigh 5
  const weighted = { ...plan, unet: { ...plan.unet, defectWeight: 5 } };
  let sawWeighted = false;
  for (let step = 1; step <= 12; step++) {
    const plain = unetBatch(plan, data, vocab, step);
    const b = unetBatch(weighted, data, vocab, step);
    for (const k of ['sample', 'eps_target', 'timestep', 'label_onehot', 'spatial_keep', 'mask']) assert.deepEqual(b[k], plain[k], `step ${step}: ${k} changed`);
    const w0 = [...(plain['loss_weight']!.data as Float32Array)];
    const w = [...(b['loss_weight']!.data as Float32Array)];
    if (w0.some((v) => v === 0)) {
      assert.deepEqual(w, w0, `step ${step}: a masked-loss batch keeps METHOD.md's 0/1 weights`);
      continue;
    }
    const masks = b['mask']!.data as Float32Array;
    for (let n = 0; n < 6; n++) {
      const cells = w.slice(n * g * g, (n + 1) * g * g);
      // only dataset sample 1 (a defect) has a mask: its top-left 2x2 cells
      const hasMask = masks[n * S * S]! > 0;
      const expected = Array.from({ length: g * g }, (_, i) => (hasMask && [0, 1, g, g + 1].includes(i) ? 5 : 1));
      assert.deepEqual(cells, expected, `step ${step} sample ${n}`);
      if (hasMask) sawWeighted = true;
    }
  }
  assert.ok(sawWeighted, 'no weighted defect sample in 12 steps');

  // minSnrGamma: the same draws, plus each sample's Min-SNR-5 factor for its timestep
  const minSnr = { ...plan, unet: { ...plan.unet, minSnrGamma: 5 } };
  const factors: number[] = [];
  for (let step = 1; step <= 12; step++) {
    const plain = unetBatch(plan, data, vocab, step);
    const b = unetBatch(minSnr, data, vocab, step);
    assert.equal(plain['timestep_weight'], undefined, 'a plan without minSnrGamma feeds no factor');
    for (const k of Object.keys(plain)) assert.deepEqual(b[k], plain[k], `step ${step}: ${k} changed`);
    const ts = b['timestep']!.data as Float32Array;
    const tw = b['timestep_weight']!;
    assert.deepEqual(tw.dims, [6, 1, 1, 1]);
    ts.forEach((t, n) => {
      const snr = abar(t) / (1 - abar(t));
      assert.ok(Math.abs((tw.data as Float32Array)[n]! - Math.min(1, 5 / snr)) < 1e-6, `step ${step} sample ${n} (t = ${t})`);
      factors.push((tw.data as Float32Array)[n]!);
    });
  }
  assert.ok(factors.some((v) => v < 0.999) && factors.some((v) => v === 1), 'both capped (low-noise) and uncapped (noisy) steps were drawn');

  // offsetNoise: the target is eps plus a constant per sample and channel, and z_t is built from
  // that target. A huge offset (100) makes the constants stand out: within a channel the target
  // keeps unit spread, across channels its means are ~100 apart.
  const offset = { ...plan, unet: { ...plan.unet, offsetNoise: 100 } };
  const channelMeans: number[] = [];
  for (let step = 1; step <= 4; step++) {
    const b = unetBatch(offset, data, vocab, step);
    const sample = b['sample']!.data as Float32Array;
    const eps = b['eps_target']!.data as Float32Array;
    const t = b['timestep']!.data as Float32Array;
    for (let n = 0; n < 6; n++) {
      const a = abar(t[n]!);
      for (let i = 0; i < per; i++) assert.ok(Math.abs(sample[n * per + i]! - (Math.sqrt(a) * 2 * 0.5 + Math.sqrt(1 - a) * eps[n * per + i]!)) < 1e-3 * Math.max(1, Math.abs(sample[n * per + i]!)), `offset step ${step} sample ${n} value ${i}`);
      for (let c = 0; c < C; c++) {
        const values = eps.subarray(n * per + c * g * g, n * per + (c + 1) * g * g);
        const mean = values.reduce((x, y) => x + y, 0) / values.length;
        const spread = Math.sqrt(values.reduce((x, y) => x + (y - mean) ** 2, 0) / values.length);
        assert.ok(spread > 0.6 && spread < 1.5, `offset step ${step} sample ${n} channel ${c}: spread ${spread}`);
        channelMeans.push(mean);
      }
    }
  }
  const rms = Math.sqrt(channelMeans.reduce((x, y) => x + y * y, 0) / channelMeans.length);
  assert.ok(rms > 60 && rms < 150, `rms of the per-channel target means ${rms} (offset std 100)`);

  // the zero-terminal-SNR v-prediction schedule: the same draws; z_t on the rescaled schedule and
  // the target v = sqrt(a) eps - sqrt(1 - a) z0, so z0 = sqrt(a) z_t - sqrt(1 - a) v (= 2 x 0.5)
  // and eps = sqrt(1 - a) z_t + sqrt(a) v is unit noise
  const zeroSnr = { ...plan, unet: { ...plan.unet, schedule: ZERO_SNR_V_SCHEDULE } };
  const first = Math.sqrt(abar(0));
  const last = Math.sqrt(abar(999));
  const rescaled = (t: number): number => (((Math.sqrt(abar(t)) - last) * first) / (first - last)) ** 2;
  const recovered: number[] = [];
  for (let step = 1; step <= 4; step++) {
    const plain = unetBatch(plan, data, vocab, step);
    const b = unetBatch(zeroSnr, data, vocab, step);
    for (const k of ['timestep', 'label_onehot', 'spatial_keep', 'mask', 'loss_weight']) assert.deepEqual(b[k], plain[k], `zero SNR step ${step}: ${k} changed`);
    const z = b['sample']!.data as Float32Array;
    const v = b['eps_target']!.data as Float32Array;
    const t = b['timestep']!.data as Float32Array;
    for (let n = 0; n < 6; n++) {
      const a = rescaled(t[n]!);
      for (let i = 0; i < per; i++) {
        const k = n * per + i;
        const z0 = Math.sqrt(a) * z[k]! - Math.sqrt(1 - a) * v[k]!;
        assert.ok(Math.abs(z0 - 1) < 1e-4, `zero SNR step ${step} sample ${n} value ${i}: z0 ${z0}`);
        recovered.push(Math.sqrt(1 - a) * z[k]! + Math.sqrt(a) * v[k]!);
      }
    }
  }
  const noiseStd = Math.sqrt(recovered.reduce((x, y) => x + y * y, 0) / recovered.length);
  assert.ok(noiseStd > 0.9 && noiseStd < 1.1, `the noise read back from (z_t, v) has std ${noiseStd}`);
});

test('offset noise adds std * n_c to every value of channel c, n_c the next normals of the stream', () => {
  const eps = Float32Array.of(1, 2, 3, -1, -2, -3);
  const n = new Rng(8).normals(2);
  addOffsetNoise(eps, 2, 3, 0.5, new Rng(8));
  const want = [1, 2, 3, -1, -2, -3].map((v, i) => v + 0.5 * n[Math.floor(i / 3)]!);
  eps.forEach((v, i) => assert.ok(Math.abs(v - want[i]!) < 1e-6, `value ${i}: ${v} vs ${want[i]}`));
});

test('Min-SNR-gamma weights: 1 while SNR <= gamma, gamma / SNR above', () => {
  assert.equal(minSnrWeight(0.5, 5), 1); // SNR 1
  assert.ok(Math.abs(minSnrWeight(5 / 6, 5) - 1) < 1e-12); // SNR 5
  assert.ok(Math.abs(minSnrWeight(0.9, 5) - 5 / 9) < 1e-12); // SNR 9
  assert.ok(Math.abs(minSnrWeight(0.99, 1) - 1 / 99) < 1e-12); // SNR 99
  // v-prediction: min(SNR, gamma) / (SNR + 1), 0 at the zero-SNR level
  assert.equal(minSnrWeight(0.5, 5, 'v_prediction'), 0.5); // SNR 1
  assert.ok(Math.abs(minSnrWeight(0.9, 5, 'v_prediction') - 5 / 10) < 1e-12); // SNR 9
  assert.equal(minSnrWeight(0, 5, 'v_prediction'), 0);
});

test('the training folder: DEFECTFORGE_TRAIN_DIR, else ~/.cache/defectforge/train-base', () => {
  assert.equal(defaultTrainDir({}), path.join(homedir(), '.cache', 'defectforge', 'train-base'));
  assert.equal(defaultTrainDir({ DEFECTFORGE_TRAIN_DIR: path.join('some dir', 'ü') }), path.resolve('some dir', 'ü'));
});
