// The workstation channels through the real dispatch (schema validation included) on a project
// with an imported dataset: image listing with filters, sort and paging; thumbnails; saving drawn
// masks and drafts; defect-type editing; and the jobs channels without an engine.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { createApi, type Api } from '../../../src/main/api';
import { draftPath } from '../../../src/main/api/mask-drafts';
import { dispatch } from '../../../src/main/ipc/dispatch';
import type { InvokeChannel, IpcRequest, IpcResponse } from '../../../src/shared/ipc';
import { writeTinyMvtec, type TinyDataset } from '../../e2e/dataset';
import { makeTempDir } from '../../fixtures/temp-dir';
import { treeFingerprint } from '../../fixtures/tree-hash';

let api: Api;
let tmp: { dir: string; cleanup(): void };
let dataset: TinyDataset;
let projectDir: string;

async function call<C extends InvokeChannel>(channel: C, request: IpcRequest<C>): Promise<IpcResponse<C>> {
  const reply = await dispatch(api.handlers, channel, request, () => {});
  if ('error' in reply) throw Object.assign(new Error(reply.error.message), { code: reply.error.code });
  return reply.result as IpcResponse<C>;
}

async function callError(channel: InvokeChannel, request: unknown): Promise<{ code: string; message: string }> {
  const reply = await dispatch(api.handlers, channel, request, () => {});
  assert.ok('error' in reply, `${channel} should fail`);
  return reply.error;
}

/** An RGBA PNG as the editor encodes it: R = G = B = 255 inside the rectangle, 0 outside. */
async function rectMaskPng(width: number, height: number, x0: number, y0: number, w: number, h: number, value = 255): Promise<string> {
  const px = Buffer.alloc(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 4;
      const inside = x >= x0 && x < x0 + w && y >= y0 && y < y0 + h;
      px[i] = px[i + 1] = px[i + 2] = inside ? value : 0;
      px[i + 3] = 255;
    }
  }
  return (await sharp(px, { raw: { width, height, channels: 4 } }).png().toBuffer()).toString('base64');
}

before(async () => {
  tmp = makeTempDir('workstation');
  dataset = await writeTinyMvtec(join(tmp.dir, 'datasets'));
  projectDir = join(tmp.dir, 'projects', 'Projekt 결함');
  api = createApi({ configDir: join(tmp.dir, 'config'), electronVersion: null, pickFolder: async () => null, emit: () => {} });
  await call('project:create', { dir: projectDir });
  await call('dataset:import', { folder: dataset.root, layout: 'mvtec' });
});

after(async () => {
  await api?.close();
  tmp?.cleanup();
});

describe('images:list', () => {
  test('counts, filters and paging', async () => {
    const all = await call('images:list', { offset: 0, limit: 100 });
    assert.equal(all.total, dataset.trainGood + dataset.testGood + dataset.defects);
    assert.equal(all.items.length, all.total);
    assert.equal((await call('images:list', { label: 'defect', offset: 0, limit: 100 })).total, dataset.defects);
    assert.equal((await call('images:list', { label: 'good', offset: 0, limit: 100 })).total, dataset.trainGood + dataset.testGood);
    assert.equal((await call('images:list', { split: 'train', offset: 0, limit: 100 })).total, dataset.trainGood);
    assert.equal((await call('images:list', { hasMask: true, offset: 0, limit: 100 })).total, dataset.defects);
    assert.equal((await call('images:list', { hasMask: false, offset: 0, limit: 100 })).total, dataset.trainGood + dataset.testGood);
    assert.equal((await call('images:list', { origin: 'synthetic', offset: 0, limit: 100 })).total, 0);
    assert.equal((await call('images:list', { category: 'no such', offset: 0, limit: 100 })).total, 0);
    const defect = (await call('images:list', { label: 'defect', offset: 0, limit: 1 })).items[0]!;
    assert.equal(defect.defectType, dataset.defectType);
    assert.equal(defect.maskCount, 1);
    assert.equal((await call('images:list', { defectTypeId: defect.defectTypeId!, offset: 0, limit: 100 })).total, dataset.defects);

    const page = await call('images:list', { offset: 2, limit: 3 });
    assert.deepEqual(
      page.items.map((i) => i.id),
      all.items.slice(2, 5).map((i) => i.id),
    );
    assert.equal(page.total, all.total);
  });

  test('sorting by mask area descending puts the largest mask first; every sort is total and stable', async () => {
    // the tiny dataset's masks are 8x8 squares, so the areas tie; ties fall back to the id order
    const byArea = await call('images:list', { sort: 'maskArea', descending: true, offset: 0, limit: 100 });
    assert.ok(byArea.items.slice(0, dataset.defects).every((i) => i.maskCount === 1));
    for (const sort of ['added', 'name', 'type', 'maskArea'] as const) {
      const a = await call('images:list', { sort, offset: 0, limit: 100 });
      const b = await call('images:list', { sort, descending: true, offset: 0, limit: 100 });
      assert.deepEqual(new Set(a.items.map((i) => i.id)), new Set(b.items.map((i) => i.id)), sort);
    }
    const byName = (await call('images:list', { sort: 'name', offset: 0, limit: 100 })).items.map((i) => i.fileName);
    assert.ok(byName.every((n) => n !== null && !n.includes('/')));
  });

  test('bad queries are refused with the field named', async () => {
    assert.match((await callError('images:list', { offset: 0, limit: 0 })).message, /request\.limit/);
    assert.equal((await callError('images:list', { offset: -1, limit: 5 })).code, 'INVALID_REQUEST');
    assert.match((await callError('images:list', { offset: 0, limit: 5, sort: 'random' })).message, /request\.sort/);
    assert.equal((await callError('images:get', { id: 99999 })).code, 'IMAGE_NOT_FOUND');
  });
});

describe('images:thumbnails', () => {
  test('are made once, stored as WebP blobs no larger than 192 px, and reused', async () => {
    const { items } = await call('images:list', { offset: 0, limit: 100 });
    const ids = items.map((i) => i.id);
    const first = await call('images:thumbnails', { ids });
    assert.equal(first.thumbnails.length, ids.length);
    const project = api.session.current();
    for (const t of first.thumbnails) {
      const meta = await sharp(project.blobs.read(t.hash)).metadata();
      assert.equal(meta.format, 'webp');
      assert.ok(meta.width! <= 192 && meta.height! <= 192);
      assert.equal(api.session.blobSource()!.blobMediaType(t.hash), 'image/webp');
    }
    assert.ok(existsSync(join(projectDir, 'cache', 'thumbnails.json')));
    const second = await call('images:thumbnails', { ids });
    assert.deepEqual(second, first);
    assert.equal((await callError('images:thumbnails', { ids: [0] })).code, 'INVALID_REQUEST');
  });
});

describe('masks', () => {
  test('a drawn mask is saved binary, at the image size, as a new drawn row; the source folder is untouched', async () => {
    const before = treeFingerprint(dataset.root);
    const image = (await call('images:list', { label: 'defect', offset: 0, limit: 1 })).items[0]!;
    const saved = await call('masks:save', { imageId: image.id, pngBase64: await rectMaskPng(32, 32, 3, 5, 10, 7) });
    assert.equal(saved.unchanged, false);
    assert.equal(saved.mask.source, 'drawn');
    assert.equal(saved.mask.areaPx, 70);
    const stored = api.session.current().blobs.read(saved.mask.blobHash);
    assert.equal((await sharp(stored).metadata()).channels, 1, 'stored as a 1-channel PNG');
    const raw = await sharp(stored).extractChannel(0).raw().toBuffer({ resolveWithObject: true });
    assert.equal(raw.info.width, 32);
    assert.equal(raw.info.height, 32);
    assert.ok(raw.data.every((v) => v === 0 || v === 255));
    assert.equal(raw.data.filter((v) => v === 255).length, 70);
    assert.equal(raw.data[5 * 32 + 3], 255);
    assert.equal(raw.data[5 * 32 + 2], 0);

    const detail = await call('images:get', { id: image.id });
    assert.deepEqual(
      detail.masks.map((m) => m.source),
      ['imported', 'drawn'],
    );
    assert.match(detail.color, /^#[0-9a-f]{6}$/);
    assert.deepEqual(treeFingerprint(dataset.root), before);
  });

  test('masks of the wrong size, not binary, empty or not PNG are refused with a code', async () => {
    const image = (await call('images:list', { label: 'defect', offset: 0, limit: 1 })).items[0]!;
    assert.equal((await callError('masks:save', { imageId: image.id, pngBase64: await rectMaskPng(31, 32, 0, 0, 4, 4) })).code, 'MASK_SIZE_MISMATCH');
    assert.equal((await callError('masks:save', { imageId: image.id, pngBase64: await rectMaskPng(32, 32, 0, 0, 4, 4, 128) })).code, 'MASK_NOT_BINARY');
    assert.equal((await callError('masks:save', { imageId: image.id, pngBase64: await rectMaskPng(32, 32, 0, 0, 0, 0) })).code, 'MASK_EMPTY');
    assert.equal((await callError('masks:save', { imageId: image.id, pngBase64: Buffer.from('not a png at all').toString('base64') })).code, 'MASK_UNREADABLE');
    assert.equal((await callError('masks:save', { imageId: image.id, pngBase64: 'not base64!' })).code, 'INVALID_REQUEST');
  });

  test('drafts are written atomically into the project, read back, and dropped on save', async () => {
    const image = (await call('images:list', { label: 'defect', offset: 1, limit: 1 })).items[0]!;
    assert.equal(await call('masks:draftGet', { imageId: image.id }), null);
    const png = await rectMaskPng(32, 32, 1, 1, 2, 2);
    await call('masks:draftPut', { imageId: image.id, pngBase64: png });
    const file = draftPath(api.session.current(), image.id);
    assert.ok(existsSync(file));
    assert.deepEqual(readdirSync(join(projectDir, 'drafts')).filter((f) => f.endsWith('.tmp')), []);
    const draft = (await call('masks:draftGet', { imageId: image.id }))!;
    assert.equal(draft.pngBase64, png);
    assert.deepEqual(readFileSync(file), Buffer.from(png, 'base64'));
    await call('masks:save', { imageId: image.id, pngBase64: png });
    assert.equal(await call('masks:draftGet', { imageId: image.id }), null);
    await call('masks:draftPut', { imageId: image.id, pngBase64: png });
    await call('masks:draftDrop', { imageId: image.id });
    assert.equal(existsSync(file), false);
  });
});

describe('defect types', () => {
  test('create, rename, train count, settings and merge', async () => {
    const [scratch] = await call('types:list', {});
    assert.equal(scratch!.name, dataset.defectType);
    assert.equal(scratch!.settings.aar, true);
    const dent = await call('types:create', { category: dataset.category, name: ' dent ' });
    assert.equal(dent.name, 'dent');
    assert.equal(dent.images, 0);
    assert.equal((await callError('types:create', { category: dataset.category, name: 'dent' })).code, 'DEFECT_TYPE_EXISTS');
    const renamed = await call('types:rename', { id: dent.id, name: '찍힘 dent' });
    assert.equal(renamed.name, '찍힘 dent');

    const all = await call('types:setTrainCount', { id: scratch!.id, trainCount: 2 });
    assert.deepEqual([all.trainCount, all.train, all.holdout], [2, 2, 1]);
    const reset = await call('types:setTrainCount', { id: scratch!.id, trainCount: null });
    assert.deepEqual([reset.trainCount, reset.train, reset.holdout], [null, 1, 2]);

    const set = await call('types:setSettings', { id: scratch!.id, aar: false, color: '#00ff00' });
    assert.deepEqual(set.settings, { aar: false, color: '#00ff00', maskSource: 'real', foreground: 'none' });
    const kept = await call('types:setSettings', { id: scratch!.id, aar: true });
    assert.deepEqual(kept.settings, { aar: true, color: '#00ff00', maskSource: 'real', foreground: 'none' }, 'a partial change keeps the other field');
    const sourced = await call('types:setSettings', { id: scratch!.id, maskSource: 'perlin', foreground: 'otsu' });
    assert.deepEqual(sourced.settings, { aar: true, color: '#00ff00', maskSource: 'perlin', foreground: 'otsu' });
    assert.equal((await callError('types:setSettings', { id: scratch!.id, color: 'red' })).code, 'INVALID_REQUEST');
    assert.equal((await callError('types:setSettings', { id: scratch!.id, maskSource: 'gan' })).code, 'INVALID_REQUEST');

    // merging scratch into dent moves its 3 images (and their masks) and deletes scratch
    const merged = await call('types:merge', { sourceId: scratch!.id, targetId: renamed.id });
    assert.equal(merged.images, dataset.defects);
    assert.ok(merged.masks >= dataset.defects);
    assert.equal(merged.train + merged.holdout, dataset.defects);
    assert.deepEqual(
      (await call('types:list', {})).map((t) => t.name),
      ['찍힘 dent'],
    );
    assert.equal((await callError('types:merge', { sourceId: renamed.id, targetId: renamed.id })).code, 'MERGE_SAME_TYPE');
  });
});

describe('jobs without an engine', () => {
  test('the list is empty and submitting says why it cannot run', async () => {
    assert.deepEqual(await call('jobs:list', {}), []);
    assert.equal((await callError('jobs:submit', { kind: 'sleep', params: { steps: 1, stepMs: 1 } })).code, 'NO_ENGINE');
    assert.equal((await callError('jobs:submit', { kind: 'train', params: { steps: 1, stepMs: 1 } })).code, 'INVALID_REQUEST');
  });
});
