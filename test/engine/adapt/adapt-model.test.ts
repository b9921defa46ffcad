import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { makeAdaptFixture, type AdaptFixture } from './fixture';
import { adaptModel, type AdaptProgress } from '../../../src/engine/adapt/adapt-model';
import { listAdaptedModels } from '../../../src/engine/adapt/adapted-artifact';
import { loadBuiltinModel, readBuiltinManifest } from '../../../src/engine/models/builtin/load';
import { packageContentHash } from '../../../src/engine/models/builtin/files';
import { JobStore } from '../../../src/main/jobs/job-store';
import { isUserError } from '../../../src/shared/errors';

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

test('early stopping ends the run when the held-out loss stops improving', async () => {
  const project = await fx.newProject('arrêt');
  try {
    // lr far below float32 resolution of the weights: nothing moves, so nothing improves
    const r = await adaptModel({ project, modelDir: fx.modelDir, settings: { mode: 'lora', rank: 2, steps: 50, evalEvery: 2, patience: 3, lr: 1e-12, variants: 1, checkpointEvery: 0 } });
    assert.equal(r.stoppedEarly, true);
    assert.equal(r.steps, 6);
    const row = listAdaptedModels(project)[0]!;
    assert.equal((row.metrics['evals'] as unknown[]).length, 4);
  } finally {
    project.close();
  }
});

test('a stopped and resumed LoRA adaptation ends bit-identical to an uninterrupted one', async () => {
  const settings = { mode: 'lora' as const, rank: 2, steps: 8, evalEvery: 3, patience: 100, lr: 2e-3, variants: 1, checkpointEvery: 2, seed: 4 };
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
          if (p.step === 5 && p.loss !== undefined) controller.abort();
        },
      }),
      /cancelled/,
    );
    jobs.markCancelled(first, 'test stop');
    assert.equal(listAdaptedModels(split).length, 0, 'a stopped run saves no artifact');
    const second = jobs.insert('adapt', {});
    jobs.markRunning(second);
    const c = await adaptModel({ project: split, modelDir: fx.modelDir, settings, jobId: second, resume: true });
    assert.equal(c.resumedFromStep, 5);
    assert.equal(c.steps, 8);
    const ma = await readBuiltinManifest(a.modelDir);
    const mc = await readBuiltinManifest(c.modelDir);
    assert.equal(mc.files.unet.sha256, ma.files.unet.sha256);
    assert.equal(mc.files.vae_decoder.sha256, ma.files.vae_decoder.sha256);
    assert.equal(c.modelHash, a.modelHash);
    assert.deepEqual(listAdaptedModels(split)[0]!.metrics['lossCurve'], listAdaptedModels(whole)[0]!.metrics['lossCurve']);
    assert.deepEqual(c.heldOutFinal, a.heldOutFinal);
  } finally {
    whole.close();
    split.close();
  }
});
