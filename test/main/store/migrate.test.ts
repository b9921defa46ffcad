import { test } from 'node:test';
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { migrate, schemaVersion, checkMigrationList } from '../../../src/main/store/migrate';
import { migrations } from '../../../src/main/store/migrations/index';
import type { Migration } from '../../../src/main/store/migrations/index';
import { isUserError } from '../../../src/shared/errors';

const createNotes: Migration = { version: 1, name: 'notes', up: (db) => db.exec('CREATE TABLE notes (text TEXT NOT NULL)') };
const addAuthor: Migration = { version: 2, name: 'author', up: (db) => db.exec("ALTER TABLE notes ADD COLUMN author TEXT NOT NULL DEFAULT 'unknown'") };
const broken: Migration = {
  version: 3,
  name: 'broken',
  up: (db) => {
    db.exec('CREATE TABLE half_done (x)');
    db.exec('THIS IS NOT SQL');
  },
};

test('the shipped migration list is numbered 1..n', () => {
  assert.doesNotThrow(() => checkMigrationList(migrations));
  assert.ok(migrations.length >= 1);
});

test('migrations run in order from the current version, keeping the data', () => {
  const db = new Database(':memory:');
  assert.deepEqual(migrate(db, 'test.sqlite', [createNotes]), [1]);
  db.prepare("INSERT INTO notes (text) VALUES ('kept')").run();
  assert.deepEqual(migrate(db, 'test.sqlite', [createNotes, addAuthor]), [2]);
  assert.equal(schemaVersion(db), 2);
  assert.deepEqual(db.prepare('SELECT text, author FROM notes').get(), { text: 'kept', author: 'unknown' });
});

test('a failing migration rolls back entirely, names itself and the file, and keeps the version', () => {
  const db = new Database(':memory:');
  migrate(db, 'test.sqlite', [createNotes, addAuthor]);
  assert.throws(() => migrate(db, 'some/dir/project.sqlite', [createNotes, addAuthor, broken]), (e: Error) => {
    assert.match(e.message, /some\/dir\/project\.sqlite: migration 0003-broken failed/);
    return true;
  });
  assert.equal(schemaVersion(db), 2);
  assert.equal(db.prepare("SELECT count(*) FROM sqlite_master WHERE name = 'half_done'").pluck().get(), 0);
});

test('a gap in the numbering is a programming error, and a newer database is a UserError', () => {
  assert.throws(() => checkMigrationList([createNotes, broken]), /version 3; expected 2/);
  const db = new Database(':memory:');
  db.pragma('user_version = 5');
  try {
    migrate(db, 'new.sqlite', [createNotes, addAuthor]);
    assert.fail('expected a refusal');
  } catch (e) {
    assert.ok(isUserError(e));
    assert.equal(e.code, 'PROJECT_TOO_NEW');
    assert.match(e.message, /new\.sqlite has schema version 5.*up to 2/);
  }
});
