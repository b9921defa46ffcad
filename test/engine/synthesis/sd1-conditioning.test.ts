// Synthesis with a defect type learnt on an SD 1.x folder: the artifact's e_a rows and E(mask)
// go into the inputs_embeds rows of the prompt's placeholder.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { makeLearnFixture, type LearnFixture } from '../anomaly/fixture';
import { learnDefect } from '../../../src/engine/anomaly/learn-defect';
import { generateBlended } from '../../../src/engine/diffusion/blended';
import { DEFAULT_AAR } from '../../../src/engine/diffusion/aar';
import { DEFAULT_PASTE_BACK, squaredDistanceToMask } from '../../../src/engine/diffusion/paste-back';
import type { RgbImage } from '../../../src/engine/diffusion/image-tensor';
import { loadSd1Folder } from '../../../src/engine/models/sd1';
import { EmbeddingCache, resolveConditioning } from '../../../src/engine/synthesis/conditioning';
import { listArtifacts } from '../../../src/main/store/artifacts';
import { isUserError } from '../../../src/shared/errors';
import { Rng } from '../../../src/shared/random';
import { BASE_VARIANT, writeTinySd1Folder } from '../../fixtures/sd1';

let fx: LearnFixture;
before(async () => {
  fx = await makeLearnFixture('sd1 synthèse');
});
after(() => fx.cleanup());
const imageSize = { width: 64, height: 64 };

test('a defect learnt on an SD 1.x folder conditions its synthesis: the result differs from the unconditioned one inside the mask only', async () => {
  const sdDir = join(fx.root, 'sd tiny');
  await writeTinySd1Folder(sdDir);
  const project = await fx.newProject('sd synthèse');
  const learnt = await learnDefect({ project, type: 'widget/crack', modelDir: sdDir, imageSize, settings: { steps: 3, variants: 1, previewEvery: 0, checkpointEvery: 0, seed: 4 } });
  const artifact = listArtifacts(project, 'anomaly-embedding').find((a) => a.id === learnt.artifactId)!;
  const blobs = { read: (h: string) => project.blobs.read(h), path: (h: string) => project.blobs.path(h) };
  const model = await loadSd1Folder(sdDir, { imageSize });
  try {
    const mask = new Uint8Array(64 * 64);
    for (let y = 20; y < 44; y++) for (let x = 12; x < 36; x++) mask[y * 64 + x] = 255;
    const spec = { kind: 'embedding' as const, artifactId: artifact.id, blob: artifact.blobHash };
    const { conditioning, summary } = await resolveConditioning(model, spec, mask, new EmbeddingCache(blobs));
    assert.equal(summary.injectedVectors, 12);
    assert.equal(summary.spatialTokens, 'embedding-encoder');
    // e_a's rows first, exactly as learnt, then E(mask) from the artifact's E
    const embedding = new EmbeddingCache(blobs).get(artifact.blobHash);
    assert.deepEqual(conditioning.injected!.slice(0, 8 * 32), embedding.anomaly.data);
    assert.deepEqual(conditioning.injected!.slice(8 * 32), await model.spatialTokens({ ...imageSize, data: mask }, embedding.spatialEncoder!));
    const cond = await model.context(conditioning);
    assert.deepEqual(Array.from(cond.anomalyColumns.slice(0, 19)), [0, 0, 0, 0, 0, ...new Array(12).fill(1), 0, 0]);

    const rng = new Rng(8);
    const normal: RgbImage = { width: 64, height: 64, channels: 3, data: Uint8Array.from({ length: 64 * 64 * 3 }, () => 60 + Math.floor(rng.uniform() * 120)) };
    const request = { normal, mask, seed: 17, sampler: { sampler: 'ddim' as const, steps: 4, eta: 0 }, guidanceScale: 1, aar: { ...DEFAULT_AAR, enabled: false } };
    const learned = await generateBlended(model, { ...request, conditioning });
    const plain = await generateBlended(model, { ...request, conditioning: {} });
    const again = await generateBlended(model, { ...request, conditioning });
    assert.deepEqual(again.image.data, learned.image.data, 'the same inputs give the same pixels');
    const dist = squaredDistanceToMask(mask, 64, 64);
    const reach = (DEFAULT_PASTE_BACK.dilate + DEFAULT_PASTE_BACK.feather) ** 2;
    let insideDiff = 0;
    for (let p = 0; p < 64 * 64; p++) {
      const differs = [0, 1, 2].some((c) => learned.image.data[p * 3 + c] !== plain.image.data[p * 3 + c]);
      if (dist[p]! >= reach) assert.ok(!differs, `pixel ${p % 64},${Math.floor(p / 64)} outside the mask differs`);
      if (mask[p] && differs) insideDiff++;
    }
    assert.ok(insideDiff > 0.5 * 24 * 24, `only ${insideDiff} of ${24 * 24} mask pixels differ`);
  } finally {
    await model.release();
  }

  // an embedding only means something in the model it was learnt against; SD folders know no defect families
  const otherDir = join(fx.root, 'sd autre');
  await writeTinySd1Folder(otherDir, { ...BASE_VARIANT, seed: 99 });
  const other = await loadSd1Folder(otherDir, { imageSize });
  try {
    const mask = new Uint8Array(64 * 64).fill(255, 0, 64 * 8);
    await assert.rejects(resolveConditioning(other, { kind: 'embedding', artifactId: artifact.id, blob: artifact.blobHash }, mask, new EmbeddingCache(blobs)), (e) => isUserError(e) && e.code === 'EMBEDDING_MODEL_MISMATCH');
    await assert.rejects(resolveConditioning(other, { kind: 'model-defect', defect: 'crack' }, mask, new EmbeddingCache(blobs)), (e) => isUserError(e) && e.code === 'CONDITIONING_UNSUPPORTED');
  } finally {
    await other.release();
  }
  project.close();
});
