import { test } from 'node:test';
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import type { Database as Db } from 'better-sqlite3';
import * as m0001 from '../../../../src/main/store/migrations/0001-initial';
import { migrate, schemaVersion } from '../../../../src/main/store/migrate';

const NOW = '2025-01-01T00:00:00.000Z';

/** A database at version 0 (the version before 0001), as createProject starts from. */
function freshDb(): Db {
  const db = new Database(':memory:');
  db.pragma('foreign_keys = ON');
  return db;
}

function columns(db: Db, table: string): string[] {
  return (db.pragma(`table_info(${table})`) as { name: string; type: string; notnull: number }[]).map(
    (c) => `${c.name} ${c.type}${c.notnull ? ' NOT NULL' : ''}`,
  );
}

test('0001 creates every table and records version 1', () => {
  const db = freshDb();
  assert.equal(schemaVersion(db), 0);
  assert.deepEqual(migrate(db, ':memory:', [m0001]), [1]);
  assert.equal(schemaVersion(db), 1);
  const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").pluck().all();
  assert.deepEqual(tables, ['artifacts', 'blobs', 'defect_types', 'images', 'job_events', 'jobs', 'lineage', 'masks', 'models', 'project', 'samples']);
  // Other engineers code against jobs and job_events exactly as specified.
  assert.deepEqual(columns(db, 'jobs'), [
    'id INTEGER',
    'kind TEXT NOT NULL',
    'state TEXT NOT NULL',
    'params_json TEXT NOT NULL',
    'progress_json TEXT',
    'result_json TEXT',
    'error TEXT',
    'checkpoint_blob TEXT',
    'created_at TEXT NOT NULL',
    'started_at TEXT',
    'finished_at TEXT',
    'updated_at TEXT NOT NULL',
  ]);
  assert.deepEqual(columns(db, 'job_events'), ['id INTEGER', 'job_id INTEGER NOT NULL', 'at TEXT NOT NULL', 'level TEXT NOT NULL', 'message TEXT NOT NULL']);
  // applying again is a no-op
  assert.deepEqual(migrate(db, ':memory:', [m0001]), []);
  db.close();
});

test('0001 constraints: job states, cascades, single project row, and one good image per identity', () => {
  const db = freshDb();
  migrate(db, ':memory:', [m0001]);
  db.prepare("INSERT INTO project (id, name, created_at, app_version) VALUES (1, 'p', ?, '0.1.0')").run(NOW);
  assert.throws(() => db.prepare("INSERT INTO project (id, name, created_at, app_version) VALUES (2, 'q', ?, '0.1.0')").run(NOW), /CHECK/);

  const job = db.prepare("INSERT INTO jobs (kind, state, params_json, created_at, updated_at) VALUES ('train', 'queued', '{}', ?, ?)").run(NOW, NOW);
  assert.throws(() => db.prepare("INSERT INTO jobs (kind, state, params_json, created_at, updated_at) VALUES ('train', 'paused', '{}', ?, ?)").run(NOW, NOW), /CHECK/);
  db.prepare("INSERT INTO job_events (job_id, at, level, message) VALUES (?, ?, 'info', 'started')").run(job.lastInsertRowid, NOW);
  assert.throws(() => db.prepare("INSERT INTO job_events (job_id, at, level, message) VALUES (?, ?, 'debug', 'x')").run(job.lastInsertRowid, NOW), /CHECK/);
  assert.throws(() => db.prepare("INSERT INTO job_events (job_id, at, level, message) VALUES (999, ?, 'info', 'x')").run(NOW), /FOREIGN KEY/);
  db.prepare('DELETE FROM jobs WHERE id = ?').run(job.lastInsertRowid);
  assert.equal(db.prepare('SELECT count(*) FROM job_events').pluck().get(), 0);

  const hash = 'a'.repeat(64);
  db.prepare("INSERT INTO blobs (hash, size, media_type, created_at) VALUES (?, 10, 'image/png', ?)").run(hash, NOW);
  const insertImage = db.prepare(
    "INSERT OR IGNORE INTO images (blob_hash, category, split, defect_type_id, width, height, channels, created_at) VALUES (?, 'bolt', 'train', ?, 8, 8, 3, ?)",
  );
  // A good image (NULL type) must not be stored twice: plain UNIQUE would let NULLs repeat.
  assert.equal(insertImage.run(hash, null, NOW).changes, 1);
  assert.equal(insertImage.run(hash, null, NOW).changes, 0);
  const type = db.prepare("INSERT INTO defect_types (category, name, created_at) VALUES ('bolt', 'crack', ?)").run(NOW);
  assert.equal(insertImage.run(hash, type.lastInsertRowid, NOW).changes, 1);
  assert.equal(insertImage.run(hash, type.lastInsertRowid, NOW).changes, 0);
  assert.throws(() => insertImage.run('b'.repeat(64), null, NOW), /FOREIGN KEY/);

  const imageId = db.prepare('SELECT id FROM images WHERE defect_type_id IS NOT NULL').pluck().get();
  const insertMask = db.prepare("INSERT OR IGNORE INTO masks (image_id, blob_hash, source, area_px, created_at) VALUES (?, ?, 'imported', 5, ?)");
  assert.equal(insertMask.run(imageId, hash, NOW).changes, 1);
  assert.equal(insertMask.run(imageId, hash, NOW).changes, 0);
  db.prepare('DELETE FROM images WHERE id = ?').run(imageId);
  assert.equal(db.prepare('SELECT count(*) FROM masks').pluck().get(), 0);
  db.close();
});
