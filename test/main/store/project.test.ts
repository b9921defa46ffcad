import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { createProject, openProject } from '../../../src/main/store/project';
import { latestSchemaVersion } from '../../../src/main/store/migrate';
import { projectInfo } from '../../../src/main/store/info';
import { isUserError } from '../../../src/shared/errors';
import { makeTempDir, AWKWARD_NAME } from '../../fixtures/temp-dir';

function userErrorCode(fn: () => unknown): { code: string; message: string } {
  try {
    fn();
  } catch (e) {
    if (isUserError(e)) return { code: e.code, message: e.message };
    throw e;
  }
  assert.fail('expected a UserError');
}

test('createProject lays out the folder, sets WAL and foreign keys, and reopens', (t) => {
  const tmp = makeTempDir('project');
  t.after(tmp.cleanup);
  const p = createProject(tmp.dir);
  assert.ok(existsSync(join(tmp.dir, 'project.sqlite')));
  assert.ok(existsSync(join(tmp.dir, 'blobs')));
  assert.ok(existsSync(join(tmp.dir, 'exports')));
  assert.equal(p.db.pragma('journal_mode', { simple: true }), 'wal');
  assert.equal(p.db.pragma('foreign_keys', { simple: true }), 1);
  assert.equal(p.db.pragma('user_version', { simple: true }), latestSchemaVersion());
  const info = projectInfo(p);
  assert.equal(info.name, AWKWARD_NAME);
  assert.equal(info.schemaVersion, latestSchemaVersion());
  assert.match(info.appVersion, /^\d+\.\d+\.\d+/);
  p.close();
  p.close(); // idempotent
  // no temporary database left behind
  assert.deepEqual(readdirSync(tmp.dir).filter((f) => f.includes('creating')), []);

  const again = openProject(tmp.dir);
  assert.equal(projectInfo(again).name, AWKWARD_NAME);
  again.close();
});

test('createProject takes a name and refuses a folder that already holds a project', (t) => {
  const tmp = makeTempDir('project');
  t.after(tmp.cleanup);
  const p = createProject(tmp.dir, { name: 'Ball screws' });
  assert.equal(projectInfo(p).name, 'Ball screws');
  p.close();
  const err = userErrorCode(() => createProject(tmp.dir));
  assert.equal(err.code, 'PROJECT_EXISTS');
  assert.ok(err.message.includes(tmp.dir));
});

test('openProject refuses a missing folder, a folder without a project, and a file that is not SQLite', (t) => {
  const tmp = makeTempDir('project');
  t.after(tmp.cleanup);
  assert.equal(userErrorCode(() => openProject(join(tmp.dir, 'nowhere'))).code, 'PROJECT_NOT_FOUND');
  mkdirSync(tmp.dir, { recursive: true });
  const noProject = userErrorCode(() => openProject(tmp.dir));
  assert.equal(noProject.code, 'NOT_A_PROJECT');
  assert.ok(noProject.message.includes(tmp.dir));
  writeFileSync(join(tmp.dir, 'project.sqlite'), 'this is not a database, just some text that is long enough to have a header');
  const notDb = userErrorCode(() => openProject(tmp.dir));
  assert.equal(notDb.code, 'NOT_A_PROJECT');
  assert.ok(notDb.message.includes(join(tmp.dir, 'project.sqlite')));
});

test('openProject leaves a foreign SQLite database untouched', (t) => {
  const tmp = makeTempDir('project');
  t.after(tmp.cleanup);
  mkdirSync(tmp.dir, { recursive: true });
  const file = join(tmp.dir, 'project.sqlite');
  const other = new Database(file);
  other.exec('CREATE TABLE notes (text TEXT)');
  other.close();
  assert.equal(userErrorCode(() => openProject(tmp.dir)).code, 'NOT_A_PROJECT');
  const check = new Database(file, { readonly: true });
  const tables = check.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").pluck().all();
  check.close();
  assert.deepEqual(tables, ['notes']);
});

test('a project from a newer schema is refused with the file and both versions', (t) => {
  const tmp = makeTempDir('project');
  t.after(tmp.cleanup);
  createProject(tmp.dir).close();
  const file = join(tmp.dir, 'project.sqlite');
  const newer = latestSchemaVersion() + 7;
  const raw = new Database(file);
  raw.pragma(`user_version = ${newer}`);
  raw.close();
  const err = userErrorCode(() => openProject(tmp.dir));
  assert.equal(err.code, 'PROJECT_TOO_NEW');
  assert.ok(err.message.includes(file), err.message);
  assert.ok(err.message.includes(`version ${newer}`), err.message);
  assert.ok(err.message.includes(`up to ${latestSchemaVersion()}`), err.message);
  // and the refusal did not change the version
  const check = new Database(file, { readonly: true });
  assert.equal(check.pragma('user_version', { simple: true }), newer);
  check.close();
});

test('two connections share a project: a write by one is seen by the other (WAL)', (t) => {
  const tmp = makeTempDir('project');
  t.after(tmp.cleanup);
  const a = createProject(tmp.dir);
  const b = openProject(tmp.dir);
  t.after(() => {
    a.close();
    b.close();
  });
  const now = new Date().toISOString();
  a.db.prepare("INSERT INTO jobs (kind, state, params_json, created_at, updated_at) VALUES ('train', 'queued', '{}', ?, ?)").run(now, now);
  assert.equal(projectInfo(b).jobs.queued, 1);
  assert.equal(projectInfo(b).jobs.running, 0);
});
