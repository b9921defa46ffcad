import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { makeAdaptFixture, type AdaptFixture } from './fixture';
import { adaptModel, type AdaptProgress } from '../../../src/engine/adapt/adapt-model';
import { listAdaptedModels } from '../../../src/engine/adapt/adapted-artifact';
import { loadBuiltinModel, readBuiltinManifest } from '../../../src/engine/models/builtin/load';
import { packageContentHash, packagePath } from '../../../src/engine/models/builtin/files';
import { heldOutItems } from '../../../src/engine/adapt/batches';
import { loadTrainNormals, splitNormals } from '../../../src/engine/adapt/normals';
import { resizeRgb } from '../../../src/engine/anomaly/augment';
import { imageToTensor } from '../../../src/engine/diffusion/image-tensor';
import { alphasCumprod } from '../../../src/engine/diffusion/schedule';
import type { Project } from '../../../src/main/store/project';
import { JobStore } from '../../../src/main/jobs/job-store';
import { isUserError } from '../../../src/shared/errors';
import { loadModel } from '../../../src/engine/onnx/io';
import type { GraphRole } from '../../../src/engine/models/builtin/contract';

/** A package graph's initializers (name -> values as float32), for comparing weights across packages. */
async function initializers(dir: string, role: GraphRole): Promise<Map<string, number[]>> {
  const manifest = await readBuiltinManifest(dir);
  const model = await loadModel(packagePath(dir, manifest.files[role].path), { loadExternal: true });
  return new Map([...model.graph.initializers].map(([name, t]) => [name, Array.from(t.data as ArrayLike<number>)]));
}

/**
 * The held-out losses of a model computed through its inference sessions (model.encode, decode and
 * predictNoise), not through the training graph: eps-MSE on the held-out items and the decoder's
 * mean |decode(z0) - image|, each the mean over items.
 */
async function inferenceHeldOut(project: Project, modelDir: string, heldOutFraction: number, seed: number): Promise<{ unetLoss: number; vaeLoss: number; items: number }> {
  const split = splitNormals(project, await loadTrainNormals(project), heldOutFraction, seed);
  const model = await loadBuiltinModel(modelDir);
  try {
    const images = split.heldOut.map((n) => imageToTensor(resizeRgb(n.image, model.facts.imageSize)));
    const examples = [];
    for (const image of images) examples.push({ image, z0: await model.encode(image, 1) });
    const abar = alphasCumprod(model.facts.schedule);
    const { context } = await model.context(null);
    let unetLoss = 0;
    const items = heldOutItems(examples, abar.length, examples[0]!.z0.length, seed);
    for (const { ex, t, noise } of items) {
      const x = ex.z0.map((z, i) => Math.sqrt(abar[t]!) * z + Math.sqrt(1 - abar[t]!) * noise[i]!);
      const eps = await model.predictNoise({ latents: x, batch: 1, timesteps: [t], context });
      unetLoss += eps.reduce((sum, e, i) => sum + (e - noise[i]!) ** 2, 0) / eps.length / items.length;
    }
    let vaeLoss = 0;
    for (const ex of examples) {
      const back = await model.decode(ex.z0, 1);
      vaeLoss += back.reduce((sum, v, i) => sum + Math.abs(v - ex.image[i]!), 0) / back.length / examples.length;
    }
    return { unetLoss, vaeLoss, items: items.length };
  } finally {
    await model.release();
  }
}

let fx: AdaptFixture;
before(async () => {
  fx = await makeAdaptFixture('adapt');
});
after(() => fx.cleanup());

test('no train/good images is a clear UserError naming the project', async () => {
  const project = fx.emptyProject('vide');
  try {
    await assert.rejects(adaptModel({ project, modelDir: fx.modelDir }), (e: unknown) => isUserError(e) && e.code === 'NO_NORMAL_IMAGES' && e.message.includes(project.dir));
  } finally {
    project.close();
  }
});

test('full adaptation lowers the held-out loss, writes a package that loads with verified hashes, and records the artifact', async () => {
  const project = await fx.newProject('complet');
  try {
    const progress: AdaptProgress[] = [];
    const r = await adaptModel({
      project,
      modelDir: fx.modelDir,
      settings: { mode: 'full', steps: 24, evalEvery: 6, patience: 100, lr: 3e-3, variants: 2, heldOutFraction: 0.2, checkpointEvery: 0, seed: 1 },
      onProgress: (p) => progress.push(p),
    });
    assert.equal(r.trainImages, 8);
    assert.equal(r.heldOutImages, 2);
    assert.equal(r.steps, 24);
    assert.equal(r.stoppedEarly, false);
    assert.deepEqual(progress.filter((p) => p.loss !== undefined).map((p) => p.step), Array.from({ length: 24 }, (_, i) => i + 1));
    assert.ok(r.heldOutBest.loss < r.heldOutBefore.loss, `held-out loss ${r.heldOutBefore.loss} -> best ${r.heldOutBest.loss}`);
    assert.ok(r.heldOutFinal.vaeLoss < r.heldOutBefore.vaeLoss, `decoder L1 ${r.heldOutBefore.vaeLoss} -> ${r.heldOutFinal.vaeLoss}`);
    // the decoder learnt to reconstruct the product: PSNR on held-out normals goes up
    assert.ok(Number.isFinite(r.psnrBefore) && r.psnrAfter > r.psnrBefore, `PSNR ${r.psnrBefore} -> ${r.psnrAfter}`);

    assert.equal(path.dirname(r.modelDir), path.join(project.dir, 'models'));
    assert.equal(path.basename(r.modelDir), 'tiny-random-adapted-1');
    const manifest = await readBuiltinManifest(r.modelDir);
    const base = await readBuiltinManifest(fx.modelDir);
    assert.equal(manifest.training?.['adaptedFrom'], packageContentHash(base));
    assert.equal(r.baseModelHash, packageContentHash(base));
    assert.equal(manifest.files.vae_encoder.sha256, base.files.vae_encoder.sha256, 'the encoder is the base\'s');
    assert.equal(manifest.files.spatial_encoder.sha256, base.files.spatial_encoder.sha256);
    assert.notEqual(manifest.files.unet.sha256, base.files.unet.sha256);
    assert.notEqual(manifest.files.vae_decoder.sha256, base.files.vae_decoder.sha256);
    const loaded = await loadBuiltinModel(r.modelDir);
    assert.equal(loaded.facts.contentHash, r.modelHash);
    await loaded.release();
    const [row] = listAdaptedModels(project);
    assert.equal(row!.id, r.artifactId);
    assert.equal(row!.version, 1);
    assert.equal(row!.config['packageDir'], 'models/tiny-random-adapted-1');
    assert.equal(row!.metrics['psnrAfter'], r.psnrAfter);
    assert.ok(project.blobs.has(row!.blobHash));

    // a damaged file is caught by the hash check
    const unetFile = path.join(r.modelDir, manifest.files.unet.path);
    const bytes = await fs.readFile(unetFile);
    bytes[bytes.length - 1] = bytes[bytes.length - 1]! ^ 1;
    await fs.writeFile(unetFile, bytes);
    await assert.rejects(loadBuiltinModel(r.modelDir), (e: unknown) => isUserError(e) && e.code === 'MODEL_FILE_HASH');
  } finally {
    project.close();
  }
});

test('the held-out losses the training graph measures equal the model\'s own inference (before and after)', async () => {
  const project = await fx.newProject('contrôle');
  try {
    // 10 normals, 4 held out: 16 items, 4 whole batches (no item counted twice in the mean)
    const r = await adaptModel({ project, modelDir: fx.modelDir, settings: { mode: 'lora', rank: 2, steps: 4, evalEvery: 2, lr: 1e-2, decoderLr: 1e-3, warmupSteps: 0, heldOutFraction: 0.4, variants: 1, checkpointEvery: 0, seed: 5 } });
    assert.deepEqual(r.selection.improved, ['unet', 'decoder']);
    const before = await inferenceHeldOut(project, fx.modelDir, 0.4, 5);
    assert.equal(before.items, 16);
    const after = await inferenceHeldOut(project, r.modelDir, 0.4, 5);
    const close = (a: number, b: number, what: string): void => assert.ok(Math.abs(a - b) <= 1e-5 * Math.max(1, Math.abs(b)), `${what}: training graph ${a}, inference ${b}`);
    close(r.heldOutBefore.unetLoss, before.unetLoss, 'base UNet');
    close(r.heldOutBefore.vaeLoss, before.vaeLoss, 'base decoder');
    // the package holds the selected weights: its inference losses are the selected ones
    close(r.heldOutBest.unetLoss, after.unetLoss, 'adapted UNet');
    close(r.heldOutBest.vaeLoss, after.vaeLoss, 'adapted decoder');
  } finally {
    project.close();
  }
});

test('early stopping ends the run when neither part improves, and the package then keeps the base weights', async () => {
  const project = await fx.newProject('arrêt');
  try {
    // rates far below float32 resolution of the weights: nothing moves, so nothing improves
    const warnings: string[] = [];
    const r = await adaptModel({
      project,
      modelDir: fx.modelDir,
      settings: { mode: 'lora', rank: 2, steps: 50, evalEvery: 2, patience: 3, lr: 1e-12, decoderLr: 1e-12, variants: 1, checkpointEvery: 0 },
      log: (level, message) => level === 'warn' && warnings.push(message),
    });
    assert.equal(r.stoppedEarly, true);
    assert.equal(r.steps, 6);
    const row = listAdaptedModels(project)[0]!;
    assert.equal((row.metrics['evals'] as unknown[]).length, 4);
    assert.deepEqual(r.selection.improved, []);
    assert.deepEqual([r.selection.unet.step, r.selection.decoder.step], [0, 0]);
    assert.deepEqual(r.heldOutBest, r.heldOutBefore);
    assert.match(warnings.join('\n'), /neither the UNet's nor the decoder's held-out loss went below the base model's/);
    // the package's UNet and decoder are the base's, so the round trip is exactly the base's
    assert.deepEqual(await initializers(r.modelDir, 'unet'), await initializers(fx.modelDir, 'unet'));
    assert.deepEqual(await initializers(r.modelDir, 'vae_decoder'), await initializers(fx.modelDir, 'vae_decoder'));
    assert.equal(r.psnrAfter, r.psnrBefore);
  } finally {
    project.close();
  }
});

test('each part keeps its best held-out weights, not the last: a UNet that only got worse stays the base\'s', async () => {
  // LoRA at lr 0.3 makes the UNet's held-out loss worse at every evaluation; the decoder at 1e-2
  // improves to a best at step 4 and then overshoots (worse at the final step 12)
  const settings = { mode: 'lora' as const, rank: 2, evalEvery: 2, patience: 100, lr: 0.3, decoderLr: 1e-2, warmupSteps: 0, variants: 1, checkpointEvery: 0, seed: 2 };
  const long = await fx.newProject('meilleur');
  const short = await fx.newProject('court');
  try {
    const r = await adaptModel({ project: long, modelDir: fx.modelDir, settings: { ...settings, steps: 12 } });
    const evals = listAdaptedModels(long)[0]!.metrics['evals'] as { step: number; unetLoss: number; vaeLoss: number }[];
    assert.deepEqual(evals.map((e) => e.step), [0, 2, 4, 6, 8, 10, 12]);
    assert.ok(evals.slice(1).every((e) => e.unetLoss > r.heldOutBefore.unetLoss), 'the UNet got worse at every evaluation');
    const bestDecoder = evals.reduce((a, b) => (b.vaeLoss < a.vaeLoss ? b : a));
    assert.ok(bestDecoder.step > 0 && bestDecoder.step < 12 && r.heldOutFinal.vaeLoss > bestDecoder.vaeLoss, `decoder best at ${bestDecoder.step}`);
    assert.deepEqual(r.selection.improved, ['decoder']);
    assert.deepEqual(r.selection.unet, { step: 0, loss: r.heldOutBefore.unetLoss });
    assert.deepEqual(r.selection.decoder, { step: bestDecoder.step, loss: bestDecoder.vaeLoss });
    assert.equal(r.heldOutBest.unetLoss, r.heldOutBefore.unetLoss);
    assert.equal(r.heldOutBest.vaeLoss, bestDecoder.vaeLoss);
    assert.deepEqual(await initializers(r.modelDir, 'unet'), await initializers(fx.modelDir, 'unet'), 'the UNet is the base\'s');
    assert.ok(r.psnrAfter > r.psnrBefore, `PSNR ${r.psnrBefore} -> ${r.psnrAfter}`);

    // the decoder written is the one of the best step: a run that stops there writes the same bytes
    const s = await adaptModel({ project: short, modelDir: fx.modelDir, settings: { ...settings, steps: bestDecoder.step } });
    assert.equal(s.selection.decoder.step, bestDecoder.step);
    const [ml, ms] = [await readBuiltinManifest(r.modelDir), await readBuiltinManifest(s.modelDir)];
    assert.equal(ml.files.vae_decoder.sha256, ms.files.vae_decoder.sha256);
    assert.notEqual(ml.files.vae_decoder.sha256, (await readBuiltinManifest(fx.modelDir)).files.vae_decoder.sha256);
  } finally {
    long.close();
    short.close();
  }
});

test('a stopped and resumed LoRA adaptation ends bit-identical to an uninterrupted one, the best weights selected before the stop included', async () => {
  // with these rates the decoder's best held-out loss is at step 6 (worse at 8): its copy is in
  // the checkpoint written when the run stops at step 7, and must come back from it
  const settings = { mode: 'lora' as const, rank: 2, steps: 8, evalEvery: 3, patience: 100, lr: 0.1, decoderLr: 2e-2, warmupSteps: 0, variants: 1, checkpointEvery: 2, seed: 4 };
  const whole = await fx.newProject('entier');
  const split = await fx.newProject('interrompu');
  try {
    const a = await adaptModel({ project: whole, modelDir: fx.modelDir, settings });
    const jobs = new JobStore(split.db);
    const first = jobs.insert('adapt', {});
    jobs.markRunning(first);
    const controller = new AbortController();
    await assert.rejects(
      adaptModel({
        project: split,
        modelDir: fx.modelDir,
        settings,
        jobId: first,
        signal: controller.signal,
        onProgress: (p) => {
          if (p.step === 7 && p.loss !== undefined) controller.abort();
        },
      }),
      /cancelled/,
    );
    jobs.markCancelled(first, 'test stop');
    assert.equal(listAdaptedModels(split).length, 0, 'a stopped run saves no artifact');
    const second = jobs.insert('adapt', {});
    jobs.markRunning(second);
    const c = await adaptModel({ project: split, modelDir: fx.modelDir, settings, jobId: second, resume: true });
    assert.equal(c.resumedFromStep, 7);
    assert.equal(a.selection.decoder.step, 6);
    assert.ok(a.heldOutFinal.vaeLoss > a.selection.decoder.loss);
    assert.equal(c.steps, 8);
    const ma = await readBuiltinManifest(a.modelDir);
    const mc = await readBuiltinManifest(c.modelDir);
    assert.equal(mc.files.unet.sha256, ma.files.unet.sha256);
    assert.equal(mc.files.vae_decoder.sha256, ma.files.vae_decoder.sha256);
    assert.equal(c.modelHash, a.modelHash);
    assert.deepEqual(listAdaptedModels(split)[0]!.metrics['lossCurve'], listAdaptedModels(whole)[0]!.metrics['lossCurve']);
    assert.deepEqual(c.heldOutFinal, a.heldOutFinal);
    assert.deepEqual(c.selection, a.selection);
  } finally {
    whole.close();
    split.close();
  }
});
