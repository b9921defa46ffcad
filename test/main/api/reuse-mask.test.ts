// samples:reuseMask ("use this mask again") against the real store, a real engine process and the
// tiny random model: the pair's mask joins its type's drawn masks on a synthetic image row (pixel
// for pixel, once), "generate N" runs a synthesis job whose every pair carries exactly that mask,
// and the refusals (no engine, bad requests) change nothing; another drawn mask of the type does not leak in.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import sharp from 'sharp';
import { createApi, type Api } from '../../../src/main/api';
import { EngineHost, forkEngineFactory, sourceEngineLaunch } from '../../../src/main/engine-host';
import { dispatch } from '../../../src/main/ipc/dispatch';
import { runSynthesis } from '../../../src/engine/synthesis/job';
import { openProject, type Project } from '../../../src/main/store/project';
import { jobSamples, getSample } from '../../../src/main/store/samples';
import type { IpcResult, ReuseMaskResult } from '../../../src/shared/ipc';
import { makeTempDir } from '../../fixtures/temp-dir';
import { loadTiny, makeSynthesisFixture, newJob, planFor, type SynthesisFixture } from '../../engine/synthesis/fixture';

const tmp = makeTempDir('api reuse mask 마스크 재사용');

/** Channel 0 of a PNG blob, as the pixels a user sees (0 / 255 for masks). */
async function pixels(project: Project, hash: string): Promise<{ width: number; height: number; data: Buffer }> {
  const { data, info } = await sharp(project.blobs.read(hash)).extractChannel(0).raw().toBuffer({ resolveWithObject: true });
  return { width: info.width, height: info.height, data };
}

function ok<T>(reply: IpcResult<unknown>): T {
  assert.ok('result' in reply, `expected a result, got ${JSON.stringify(reply)}`);
  return reply.result as T;
}

function error(reply: IpcResult<unknown>): { code: string; message: string } {
  assert.ok('error' in reply, `expected an error, got ${JSON.stringify(reply)}`);
  return reply.error;
}

describe('samples:reuseMask', () => {
  let fx: SynthesisFixture;
  let sampleId: number;
  let sourceMask: string;

  before(async () => {
    fx = await makeSynthesisFixture(join(tmp.dir, 'fx'));
    // one generated pair of wood/scratch, made in this process (3 sampler steps)
    const project = openProject(fx.projectDir);
    const model = await loadTiny(fx.modelDir);
    try {
      const job = newJob(project);
      const run = await runSynthesis(project, model, await planFor(project, model, ['wood/scratch'], 1, 3), { runJobId: job, appVersion: 'test' });
      sampleId = run.sampleIds[0]!;
      sourceMask = getSample(project, sampleId).maskBlob;
    } finally {
      await model.release();
      project.close();
    }
  });

  after(() => tmp.cleanup());

  const synthetic = (api: Api): number => api.session.current().db.prepare("SELECT count(*) FROM images WHERE origin = 'synthetic'").pluck().get() as number;

  test('without an engine, generating is refused before anything is written; adding works and is idempotent', async () => {
    const api = createApi({ configDir: join(tmp.dir, 'config'), electronVersion: null, pickFolder: async () => null, emit: () => {} });
    try {
      await api.handlers['project:open']({ dir: fx.projectDir });
      const call = (request: unknown) => dispatch(api.handlers, 'samples:reuseMask', request);
      assert.equal(error(await call({ id: sampleId, generate: 2 })).code, 'NO_ENGINE');
      assert.equal(synthetic(api), 0, 'a refused request adds no image');
      assert.match(error(await call({ id: sampleId, generate: 0 })).message, /request\.generate: must be >= 1/);
      assert.match(error(await call({ id: sampleId, generate: 1001 })).message, /request\.generate: must be <= 1000/);
      assert.equal(error(await call({ id: 9999 })).code, 'SAMPLE_NOT_FOUND');

      const first = ok<ReuseMaskResult>(await call({ id: sampleId }));
      assert.equal(first.added, true);
      assert.equal(first.jobId, null);
      const project = api.session.current();
      const image = project.db.prepare('SELECT i.origin, i.defect_split, i.blob_hash, t.name FROM images i JOIN defect_types t ON t.id = i.defect_type_id WHERE i.id = ?').get(first.imageId) as {
        origin: string;
        defect_split: string | null;
        blob_hash: string;
        name: string;
      };
      assert.deepEqual(image, { origin: 'synthetic', defect_split: null, blob_hash: getSample(project, sampleId).imageBlob, name: 'scratch' });
      const mask = project.db.prepare('SELECT source, blob_hash FROM masks WHERE id = ?').get(first.maskId) as { source: string; blob_hash: string };
      assert.equal(mask.source, 'drawn');
      const stored = await pixels(project, mask.blob_hash);
      const original = await pixels(project, sourceMask);
      assert.equal(stored.width, original.width);
      assert.ok(stored.data.equals(original.data), 'the drawn mask is the pair mask, pixel for pixel');

      const again = ok<ReuseMaskResult>(await call({ id: sampleId }));
      assert.equal(again.added, false);
      assert.equal(again.imageId, first.imageId);
      assert.equal(synthetic(api), 1);
      // the grid lists it among the synthetic images, with its mask
      const page = ok<{ total: number; items: { id: number; maskCount: number }[] }>(await dispatch(api.handlers, 'images:list', { origin: 'synthetic', offset: 0, limit: 10 }));
      assert.deepEqual(page.items.map((i) => [i.id, i.maskCount]), [[first.imageId, 1]]);
    } finally {
      await api.close();
    }
  });

  test('generate 2: a synthesis job whose pairs all carry exactly the mask, also when the type has other drawn masks', async () => {
    const engine = new EngineHost(forkEngineFactory(sourceEngineLaunch()));
    const api = createApi({ configDir: join(tmp.dir, 'config'), electronVersion: null, pickFolder: async () => null, emit: () => {}, engine });
    try {
      await api.handlers['project:open']({ dir: fx.projectDir });
      const project = api.session.current();
      const reply = ok<ReuseMaskResult>(await dispatch(api.handlers, 'samples:reuseMask', { id: sampleId, generate: 2, seed: 77 }));
      assert.ok(reply.jobId !== null);
      const job = await api.jobs()!.waitFor(reply.jobId);
      assert.equal(job.state, 'succeeded', job.error ?? '');
      const made = jobSamples(project, reply.jobId);
      assert.equal(made.length, 2);
      const original = await pixels(project, sourceMask);
      for (const s of made) {
        const m = await pixels(project, s.maskBlob);
        assert.ok(m.data.equals(original.data), `sample ${s.id}: its mask is the reused one, pixel for pixel`);
        const lineage = getSample(project, s.id).lineage!;
        assert.equal(lineage.maskOrigin, 'drawn');
        assert.equal(lineage.maskSource['maskId'], reply.maskId);
        assert.equal(s.defectType, 'scratch');
      }

      // a second drawn mask of the type: the run stays pinned to the reused mask
      const other = project.db.prepare("SELECT i.id, i.width, i.height FROM images i JOIN defect_types t ON t.id = i.defect_type_id WHERE t.name = 'scratch' AND i.origin = 'real' LIMIT 1").get() as {
        id: number;
        width: number;
        height: number;
      };
      const drawn = new Uint8Array(other.width * other.height);
      drawn.fill(255, 0, other.width * 3);
      const png = await sharp(drawn, { raw: { width: other.width, height: other.height, channels: 1 } }).png().toBuffer();
      ok(await dispatch(api.handlers, 'masks:save', { imageId: other.id, pngBase64: png.toString('base64') }));
      const again = ok<ReuseMaskResult>(await dispatch(api.handlers, 'samples:reuseMask', { id: sampleId, generate: 3, seed: 78 }));
      assert.equal(again.added, false, 'the mask was added the first time');
      const second = await api.jobs()!.waitFor(again.jobId!);
      assert.equal(second.state, 'succeeded', second.error ?? '');
      const remade = jobSamples(project, again.jobId!);
      assert.equal(remade.length, 3);
      for (const s of remade) assert.ok((await pixels(project, s.maskBlob)).data.equals(original.data), `sample ${s.id}: only the reused mask, not the other drawn one`);
    } finally {
      await api.close();
      await engine.dispose();
    }
  });
});
