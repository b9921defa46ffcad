// The handlers behind the IPC channels, run through `dispatch` against the real project store and
// importer (no Electron): envelopes, error codes, recent list, progress events, the busy guard.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EventChannel, IpcResult } from '../../../src/shared/ipc';
import type { OpenedProject, RecentProject } from '../../../src/shared/ipc';
import type { ImportReport, ProjectInfo } from '../../../src/shared/dto';
import { createApi } from '../../../src/main/api';
import { dispatch } from '../../../src/main/ipc/dispatch';
import { writeTinyMvtec } from '../../e2e/dataset';

function setup(t: { after(fn: () => Promise<void> | void): void }) {
  const tmp = mkdtempSync(join(tmpdir(), 'df api 검사 '));
  const events: [EventChannel, unknown][] = [];
  let picked: string | null = null;
  const api = createApi({
    configDir: join(tmp, 'config'),
    electronVersion: null,
    pickFolder: async () => picked,
    emit: (event, payload) => events.push([event, payload]),
    progressIntervalMs: 0,
  });
  t.after(async () => {
    await api.close();
    rmSync(tmp, { recursive: true, force: true });
  });
  const call = (channel: string, request: unknown) => dispatch(api.handlers, channel, request);
  return { tmp, api, events, call, pick: (p: string | null) => (picked = p) };
}

function ok<T>(reply: IpcResult<unknown>): T {
  assert.ok('result' in reply, `expected a result, got ${JSON.stringify(reply)}`);
  return reply.result as T;
}

function errorCode(reply: IpcResult<unknown>): string {
  assert.ok('error' in reply, `expected an error, got ${JSON.stringify(reply)}`);
  return reply.error.code;
}

test('app:info reports the app and runtime versions', async (t) => {
  const { call } = setup(t);
  const info = ok<{ name: string; version: string; node: string; electron: string | null }>(await call('app:info', {}));
  assert.equal(info.name, 'DefectForge');
  assert.match(info.version, /^\d+\.\d+\.\d+/);
  assert.equal(info.node, process.versions.node);
  assert.equal(info.electron, null);
});

test('without a project, project:info and dataset:import answer NO_PROJECT', async (t) => {
  const { call, tmp } = setup(t);
  assert.equal(errorCode(await call('project:info', {})), 'NO_PROJECT');
  assert.equal(errorCode(await call('dataset:import', { folder: tmp })), 'NO_PROJECT');
});

test('create, info, recent, then open again; store errors keep their codes', async (t) => {
  const { call, tmp } = setup(t);
  const dir = join(tmp, 'projects', 'Défauts 결함 1');
  const created = ok<OpenedProject>(await call('project:create', { dir, name: 'Line 3' }));
  assert.equal(created.dir, dir);
  assert.equal(created.info.name, 'Line 3');
  assert.deepEqual(created.info.categories, []);
  assert.equal(ok<ProjectInfo>(await call('project:info', {})).name, 'Line 3');
  assert.deepEqual(ok<RecentProject[]>(await call('project:recent', {})).map((r) => [r.dir, r.name]), [[dir, 'Line 3']]);

  assert.equal(errorCode(await call('project:create', { dir })), 'PROJECT_EXISTS');
  const missing = join(tmp, 'nowhere');
  assert.equal(errorCode(await call('project:open', { dir: missing })), 'PROJECT_NOT_FOUND');
  const plain = join(tmp, 'plain folder');
  mkdirSync(plain);
  assert.equal(errorCode(await call('project:open', { dir: plain })), 'NOT_A_PROJECT');
  // a failed open leaves the current project open
  assert.equal(ok<ProjectInfo>(await call('project:info', {})).name, 'Line 3');
  assert.equal(ok<OpenedProject>(await call('project:open', { dir })).info.name, 'Line 3');
  assert.equal(errorCode(await call('project:open', { dir: 'relative' })), 'INVALID_REQUEST');
});

test('dataset:import imports, reports rejected files, sends progress ending at total', async (t) => {
  const { call, tmp, events } = setup(t);
  const dataset = await writeTinyMvtec(join(tmp, 'data'));
  ok(await call('project:create', { dir: join(tmp, 'p') }));
  const report = ok<ImportReport>(await call('dataset:import', { folder: dataset.root, layout: 'mvtec' }));
  assert.equal(report.images.imported, dataset.trainGood + dataset.testGood + dataset.defects);
  assert.equal(report.masks.imported, dataset.defects);
  assert.equal(report.rejected, 1);
  const rejected = report.problems.filter((p) => p.severity === 'error');
  assert.deepEqual(rejected.map((p) => p.path), [dataset.corruptFile]);

  const progress = events.filter(([e]) => e === 'dataset:importProgress').map(([, p]) => p as { done: number; total: number });
  assert.ok(progress.length > 0, 'progress events were sent');
  const last = progress.at(-1)!;
  assert.equal(last.done, last.total);
  for (let i = 1; i < progress.length; i++) assert.ok(progress[i]!.done >= progress[i - 1]!.done, 'progress never goes back');

  const info = ok<ProjectInfo>(await call('project:info', {}));
  const category = info.categories.find((c) => c.name === dataset.category)!;
  assert.equal(category.trainGood, dataset.trainGood);
  assert.equal(category.testGood, dataset.testGood);
  assert.deepEqual(category.defectTypes.map((d) => [d.name, d.images, d.masks, d.train, d.holdout]), [[dataset.defectType, 3, 3, 1, 2]]);
});

test('while an import runs, opening another project or a second import is refused as BUSY', async (t) => {
  const { call, tmp } = setup(t);
  const dataset = await writeTinyMvtec(join(tmp, 'data'));
  const dir = join(tmp, 'p');
  ok(await call('project:create', { dir }));
  const running = call('dataset:import', { folder: dataset.root });
  assert.equal(errorCode(await call('project:open', { dir })), 'BUSY');
  assert.equal(errorCode(await call('dataset:import', { folder: dataset.root })), 'BUSY');
  ok(await running);
  ok(await call('project:open', { dir }));
});

test('close() stops a running import before closing the project; blobs are served only while open', async (t) => {
  const { api, call, tmp } = setup(t);
  const dataset = await writeTinyMvtec(join(tmp, 'data'));
  ok(await call('project:create', { dir: join(tmp, 'p') }));
  ok(await call('dataset:import', { folder: dataset.root }));
  const project = api.session.project!;
  const hash = (project.db.prepare('SELECT blob_hash FROM images LIMIT 1').get() as { blob_hash: string }).blob_hash;
  const source = api.session.blobSource()!;
  assert.equal(source.blobMediaType(hash)?.startsWith('image/'), true);
  assert.equal(source.blobPath(hash), project.blobs.path(hash));

  const running = call('dataset:import', { folder: dataset.root });
  await api.close();
  const outcome = await running; // settled (finished or cancelled) before the database closed
  if ('error' in outcome) assert.equal(outcome.error.code, 'CANCELLED');
  assert.equal(project.db.open, false);
  assert.equal(api.session.blobSource(), null);
});

test('dialog:pickFolder answers what the injected picker returns', async (t) => {
  const { call, pick, tmp } = setup(t);
  pick(tmp);
  assert.deepEqual(ok(await call('dialog:pickFolder', { purpose: 'openProject' })), { path: tmp });
  pick(null);
  assert.deepEqual(ok(await call('dialog:pickFolder', { purpose: 'importDataset' })), { path: null });
  // the Browse buttons' purposes reach the picker too
  pick(tmp);
  assert.deepEqual(ok(await call('dialog:pickFolder', { purpose: 'model' })), { path: tmp });
  assert.deepEqual(ok(await call('dialog:pickFolder', { purpose: 'augmentOutput' })), { path: tmp });
});
