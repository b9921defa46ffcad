// The synthesis job's cache of normal-image reconstructions (restoring the detail needs one per
// pair): least recently used out, keyed by blob and window; a job whose pairs reuse normal images
// decodes each once, and every pair still regenerates bit for bit without the cache.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { makeTempDir } from '../../fixtures/temp-dir';
import { jobSamples } from '../../../src/main/store/samples';
import type { RgbImage } from '../../../src/engine/diffusion/image-tensor';
import { runSynthesis } from '../../../src/engine/synthesis/job';
import { pairRecipe } from '../../../src/engine/synthesis/recipe';
import { ReconstructionCache } from '../../../src/engine/synthesis/reconstruction-cache';
import { regenerateSample } from '../../../src/engine/synthesis/regenerate';
import { newJob, planFor, withSynthesisFixture } from './fixture';

const picture = (v: number): RgbImage => ({ width: 1, height: 1, channels: 3, data: Uint8Array.from([v, v, v]) });

test('the cache keeps the most recently used images, keyed by blob and window', () => {
  const cache = new ReconstructionCache(2);
  cache.set('a', picture(1));
  cache.set('b', picture(2));
  assert.equal(cache.get('a')!.data[0], 1); // a is now the most recent
  cache.set('c', picture(3)); // evicts b
  assert.equal(cache.get('b'), undefined);
  assert.deepEqual([cache.get('a')!.data[0], cache.get('c')!.data[0], cache.size], [1, 3, 2]);
  assert.equal(ReconstructionCache.key('h1'), 'h1');
  assert.equal(ReconstructionCache.key('h1', { x: 3, y: 4, width: 64, height: 64, squeezed: false }), 'h1@3,4,64x64');
  assert.notEqual(ReconstructionCache.key('h1', { x: 0, y: 0, width: 80, height: 72, squeezed: true }), ReconstructionCache.key('h1', { x: 0, y: 0, width: 80, height: 72, squeezed: false }));
  assert.throws(() => new ReconstructionCache(0), /capacity must be a whole number >= 1, got 0/);
});

const tmp = makeTempDir('reconstruction cache');
after(() => tmp.cleanup());

test('a job restoring the detail decodes each normal image once; its pairs regenerate bit for bit without the cache', async () => {
  // model-size normal images: the pair is generated on the whole image, so every pair on the
  // same normal image can reuse its reconstruction
  await withSynthesisFixture(join(tmp.dir, 'p'), { width: 64, height: 64 }, async (project, model) => {
    const pairs = 8;
    const plan = { ...(await planFor(project, model, ['wood/hole'], pairs, 21)), restoreDetail: true };
    const normals = new Set(Array.from({ length: pairs }, (_, i) => pairRecipe(plan, i).normal.blob));
    assert.ok(normals.size < pairs, 'the plan reuses normal images');
    // count the decoder's images: each pair's own latent, and the reconstructions
    const decode = model.decode.bind(model);
    let decodes = 0;
    model.decode = async (latents, n) => {
      decodes += n;
      return decode(latents, n);
    };
    const job = newJob(project);
    try {
      await runSynthesis(project, model, plan, { runJobId: job, appVersion: 'test' });
    } finally {
      model.decode = decode;
    }
    // one per pair for its own latent, one per distinct normal image for the reconstruction
    assert.equal(decodes, pairs + normals.size);
    for (const sample of jobSamples(project, job)) {
      const report = await regenerateSample(project, sample.id, { appVersion: 'test', load: { intraOpNumThreads: 1 } });
      assert.equal(report.identical, true, `sample ${sample.id}`);
    }
  });
});
