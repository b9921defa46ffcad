import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRecentProjects, RECENT_LIMIT } from '../../../src/main/api/recent';

function configDir(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'df recent 검사 '));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('most recent first, one entry per folder, stored as JSON with no temp file left', (t) => {
  const dir = configDir(t);
  const recent = createRecentProjects(dir, 'linux');
  assert.deepEqual(recent.list(), []);
  recent.touch({ dir: '/p/one', name: 'one' }, new Date('2026-01-01T00:00:00Z'));
  recent.touch({ dir: '/p/두 번째', name: 'two' }, new Date('2026-01-02T00:00:00Z'));
  recent.touch({ dir: '/p/one', name: 'one renamed' }, new Date('2026-01-03T00:00:00Z'));
  assert.deepEqual(recent.list(), [
    { dir: '/p/one', name: 'one renamed', openedAt: '2026-01-03T00:00:00.000Z' },
    { dir: '/p/두 번째', name: 'two', openedAt: '2026-01-02T00:00:00.000Z' },
  ]);
  assert.deepEqual(JSON.parse(readFileSync(recent.file, 'utf8')), recent.list());
  assert.deepEqual(readdirSync(dir), ['recent-projects.json']);
});

test('on Windows, folders differing only in case are the same project', (t) => {
  const recent = createRecentProjects(configDir(t), 'win32');
  recent.touch({ dir: 'C:\\Data\\Proj', name: 'a' });
  recent.touch({ dir: 'c:\\data\\proj', name: 'b' });
  assert.equal(recent.list().length, 1);
});

test('the list is capped', (t) => {
  const recent = createRecentProjects(configDir(t), 'linux');
  for (let i = 0; i < RECENT_LIMIT + 5; i++) recent.touch({ dir: `/p/${i}`, name: `p${i}` });
  const list = recent.list();
  assert.equal(list.length, RECENT_LIMIT);
  assert.equal(list[0]!.dir, `/p/${RECENT_LIMIT + 4}`);
});

test('a damaged file yields an empty list (and is replaced on the next touch); bad entries are dropped', (t) => {
  const dir = configDir(t);
  const recent = createRecentProjects(dir, 'linux');
  writeFileSync(recent.file, '{ not json');
  const warn = t.mock.method(console, 'warn', () => {});
  assert.deepEqual(recent.list(), []);
  assert.match(String(warn.mock.calls[0]!.arguments[0]), /recent-projects\.json/);
  recent.touch({ dir: '/p/x', name: 'x' });
  assert.equal(recent.list().length, 1);
  writeFileSync(recent.file, JSON.stringify([{ dir: '/ok', name: 'ok', openedAt: 'now' }, { dir: 3 }, null]));
  assert.deepEqual(recent.list().map((e) => e.dir), ['/ok']);
});
