// The training, augmentation and gallery channels against a real engine process and the tiny
// random model package: a learning job reports loss and a preview, an augmentation of 2 pairs per
// type exports and fills the samples list, a sample's lineage names its inputs and regenerating it
// is bit-identical (CPU).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createApi, type Api } from '../../../src/main/api';
import { EngineHost, forkEngineFactory, sourceEngineLaunch } from '../../../src/main/engine-host';
import { dispatch } from '../../../src/main/ipc/dispatch';
import { EXPORT_FORMATS } from '../../../src/engine/export';
import { AUGMENT_FORMATS, type AugmentUpdateEvent, type JobUpdateEvent } from '../../../src/shared/ipc';
import { makeTempDir } from '../../fixtures/temp-dir';
import { makeSynthesisFixture, type SynthesisFixture } from '../../engine/synthesis/fixture';
import { findDefaultModel } from '../../../src/main/default-model';

const tmp = makeTempDir('api synthesis 합성');

describe('training, augmentation and gallery channels', () => {
  let api: Api;
  let engine: EngineHost;
  let fx: SynthesisFixture;
  const jobEvents: JobUpdateEvent[] = [];
  const augmentEvents: AugmentUpdateEvent[] = [];

  before(async () => {
    fx = await makeSynthesisFixture(join(tmp.dir, 'fx'));
    engine = new EngineHost(forkEngineFactory(sourceEngineLaunch()));
    api = createApi({
      configDir: join(tmp.dir, 'config'),
      electronVersion: null,
      pickFolder: async () => null,
      emit: (event, payload) => {
        if (event === 'jobs:update') jobEvents.push(payload as JobUpdateEvent);
        if (event === 'augment:update') augmentEvents.push(payload as AugmentUpdateEvent);
      },
      engine,
    });
    await api.handlers['project:open']({ dir: fx.projectDir });
    // small learning for the tiny model (the hidden project settings the e2e test uses too)
    const settings = { learning: { defect: { steps: 6, variants: 2, previewSteps: 2 }, mask: { steps: 4, variants: 2 } }, maskSampling: { steps: 4, threshold: 0.2 } };
    api.session.current().db.prepare('UPDATE project SET settings_json = ? WHERE id = 1').run(JSON.stringify(settings));
  });

  after(async () => {
    await api?.close();
    await engine?.dispose();
    tmp.cleanup();
  });

  const typeId = (name: string): number => {
    const row = api.session.current().db.prepare('SELECT id FROM defect_types WHERE name = ?').get(name) as { id: number };
    return row.id;
  };

  test('the format list matches the exporter', () => {
    assert.deepEqual([...AUGMENT_FORMATS], [...EXPORT_FORMATS]);
  });

  test('model: the embedded default at first, a non-package folder is refused naming it, a package is kept with its name and hash', async () => {
    const initial = await api.handlers['model:get']({});
    assert.equal(initial.isDefault, true);
    assert.equal(initial.dir, findDefaultModel());
    assert.equal(initial.name, 'tiny-ldm');
    await assert.rejects(async () => api.handlers['model:set']({ dir: fx.datasetDir }), (e: Error) => e.message.includes(fx.datasetDir));
    const set = await api.handlers['model:set']({ dir: fx.modelDir });
    assert.equal(set.dir, fx.modelDir);
    assert.equal(set.name, 'tiny-random');
    assert.match(set.contentHash ?? '', /^[0-9a-f]{16,}$/);
    assert.equal(set.isDefault, false);
    assert.deepEqual(await api.handlers['model:get']({}), set);
    // the other project settings are kept
    const stored = JSON.parse((api.session.current().db.prepare('SELECT settings_json FROM project').get() as { settings_json: string }).settings_json) as Record<string, unknown>;
    assert.ok(stored['learning'], 'learning settings survive');
  });

  test('learn:start runs a learn-defect job whose progress carries loss every step and a preview blob', async () => {
    const { id } = await api.handlers['learn:start']({ typeId: typeId('hole'), steps: 4, previewEvery: 2 });
    const done = await api.jobs()!.waitFor(id);
    assert.equal(done.state, 'succeeded', done.error ?? '');
    const mine = jobEvents.filter((e) => e.jobId === id && e.progress);
    const losses = mine.filter((e) => e.progress!.loss !== undefined);
    assert.ok(losses.length >= 4, `a loss per step (got ${losses.length})`);
    for (const e of losses) assert.ok(Number.isFinite(e.progress!.loss) && e.progress!.loss! >= 0);
    assert.equal(Math.max(...mine.map((e) => e.progress!.step)), 4);
    const preview = mine.find((e) => e.progress!.preview)?.progress!.preview;
    assert.match(preview ?? '', /^[0-9a-f]{64}$/);
    assert.ok(existsSync(api.session.current().blobs.path(preview!)), 'the preview is in the blob store');
  });

  test('augment:start: bad requests fail at once; 2 pairs per type are made, exported and listed', async () => {
    const none = await dispatch(api.handlers, 'augment:start', { typeIds: [], perType: 2, formats: ['mvtec'], out: join(tmp.dir, 'never') });
    assert.equal('error' in none && none.error.code, 'BAD_ARGS');
    const badType = await dispatch(api.handlers, 'augment:start', { typeIds: [9999], perType: 2, formats: ['mvtec'], out: join(tmp.dir, 'never') });
    assert.equal('error' in badType && badType.error.code, 'TYPE_NOT_FOUND');

    const out = join(tmp.dir, 'export 출력');
    // adapt: false: this test is about synthesis, export and lineage with the chosen model itself
    const { runId } = await api.handlers['augment:start']({ typeIds: [typeId('hole'), typeId('scratch')], perType: 2, formats: ['mvtec', 'coco'], out, steps: 2, seed: 4, adapt: false });
    const end = Date.now() + 240_000;
    let last: AugmentUpdateEvent | undefined;
    while (Date.now() < end) {
      last = augmentEvents.filter((e) => e.runId === runId && e.state !== 'running').at(-1);
      if (last) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal(last?.state, 'succeeded', last?.error);
    assert.equal(last!.out, out);
    assert.deepEqual(last!.results!.map((r) => [r.type, r.exported]), [['wood/hole', 2], ['wood/scratch', 2]]);
    const stages = augmentEvents.filter((e) => e.runId === runId && e.stage).map((e) => e.stage!);
    assert.ok(stages.some((s) => /wood\/scratch: synthesizing \d+ pairs/.test(s)), stages.join('\n'));
    assert.ok(augmentEvents.some((e) => e.runId === runId && e.progress?.kind === 'synthesize'));
    assert.ok(existsSync(out));

    const page = await api.handlers['samples:list']({ offset: 0, limit: 100 });
    assert.ok(page.total >= 4, `at least the 4 new pairs (got ${page.total})`);
    const ids = page.items.map((s) => s.id);
    assert.deepEqual(ids, [...ids].sort((a, b) => b - a), 'newest first');
    const holes = await api.handlers['samples:list']({ defectTypeId: typeId('hole'), offset: 0, limit: 100 });
    assert.ok(holes.items.length >= 2 && holes.items.every((s) => s.defectType === 'wood/hole'));
  });

  test('samples:get gives the lineage inputs; regenerate is bit-identical; an unknown sample is named', async () => {
    const [first] = (await api.handlers['samples:list']({ defectTypeId: typeId('scratch'), offset: 0, limit: 1 })).items;
    const detail = await api.handlers['samples:get']({ id: first!.id });
    const l = detail.lineage!;
    assert.ok(l.normalImage, 'the normal image it was painted into');
    assert.match(l.normalImage.blobHash, /^[0-9a-f]{64}$/);
    assert.equal(l.model.path, fx.modelDir);
    assert.ok(l.artifacts.some((a) => a.version >= 1), 'the learnt embedding and its version');
    assert.equal(typeof l.seed, 'number');
    assert.ok(l.maskOrigin.length > 0);
    const again = await api.handlers['samples:regenerate']({ id: first!.id });
    assert.deepEqual([again.identical, again.imageIdentical, again.maskIdentical], [true, true, true]);
    const missing = await dispatch(api.handlers, 'samples:get', { id: 987654 });
    assert.equal('error' in missing && missing.error.code, 'SAMPLE_NOT_FOUND');
  });
});
