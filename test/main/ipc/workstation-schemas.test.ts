// The schema helpers added for the workstation channels, and a few of their request schemas.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { requestSchemas } from '../../../src/main/ipc/request-schemas';
import { arrayOf, base64, matching, nullable, num, rowId, SchemaError } from '../../../src/main/ipc/schema';

const fails = (fn: () => unknown, pattern: RegExp) => assert.throws(fn, (e: unknown) => e instanceof SchemaError && pattern.test(e.message));

test('nullable admits null and otherwise the inner schema', () => {
  const s = nullable(num({ integer: true, min: 0 }));
  assert.equal(s.check(null, 'x'), null);
  assert.equal(s.check(3, 'x'), 3);
  fails(() => s.check(-1, 'x'), /^x: must be >= 0/);
  fails(() => s.check(undefined, 'x'), /expected a finite number/);
});

test('arrayOf checks every item (naming its index) and the length', () => {
  const s = arrayOf(rowId(), { maxLength: 3 });
  assert.deepEqual(s.check([1, 2], 'ids'), [1, 2]);
  fails(() => s.check([1, 0], 'ids'), /^ids\[1\]: must be >= 1/);
  fails(() => s.check([1, 2, 3, 4], 'ids'), /at most 3 items/);
  fails(() => s.check('1,2', 'ids'), /expected an array/);
});

test('matching and base64', () => {
  const hex = matching(/^#[0-9a-f]{6}$/, 'a colour');
  assert.equal(hex.check('#a0b1c2', 'c'), '#a0b1c2');
  fails(() => hex.check('#A0B1C2', 'c'), /expected a colour/);
  const b = base64(16);
  assert.equal(b.check('aGVsbG8=', 'png'), 'aGVsbG8=');
  fails(() => b.check('aGVs bG8=', 'png'), /base64/);
  fails(() => b.check('a'.repeat(20), 'png'), /at most 16/);
});

test('workstation request schemas', () => {
  assert.deepEqual(requestSchemas['images:list'].check({ offset: 0, limit: 50, hasMask: false }, 'request'), { offset: 0, limit: 50, hasMask: false });
  fails(() => requestSchemas['images:list'].check({ offset: 0, limit: 5000 }, 'request'), /request\.limit: must be <= 2000/);
  fails(() => requestSchemas['images:list'].check({ offset: 0, limit: 5, split: 'val' }, 'request'), /request\.split/);
  assert.deepEqual(requestSchemas['types:setTrainCount'].check({ id: 1, trainCount: null }, 'request'), { id: 1, trainCount: null });
  fails(() => requestSchemas['types:setTrainCount'].check({ id: 1 }, 'request'), /request\.trainCount/);
  fails(() => requestSchemas['jobs:submit'].check({ kind: 'sleep', params: { steps: 1, stepMs: 1, extra: 1 } }, 'request'), /unknown field 'extra'/);
  fails(() => requestSchemas['types:create'].check({ category: 'c', name: '' }, 'request'), /request\.name: must be at least 1/);
});

test('samples:reuseMask, the new folder purposes and augmentation adaptation', () => {
  assert.deepEqual(requestSchemas['samples:reuseMask'].check({ id: 3 }, 'request'), { id: 3 });
  assert.deepEqual(requestSchemas['samples:reuseMask'].check({ id: 3, generate: 4, seed: 9 }, 'request'), { id: 3, generate: 4, seed: 9 });
  fails(() => requestSchemas['samples:reuseMask'].check({ id: 3, generate: 2.5 }, 'request'), /request\.generate: expected an integer/);
  fails(() => requestSchemas['samples:reuseMask'].check({ id: 0 }, 'request'), /request\.id: must be >= 1/);
  fails(() => requestSchemas['samples:reuseMask'].check({ id: 3, mask: 'x' }, 'request'), /unknown field 'mask'/);
  for (const purpose of ['model', 'augmentOutput']) assert.deepEqual(requestSchemas['dialog:pickFolder'].check({ purpose }, 'request'), { purpose });
  fails(() => requestSchemas['dialog:pickFolder'].check({ purpose: 'exports' }, 'request'), /request\.purpose/);
  const augment = { typeIds: [1], perType: 2, formats: ['mvtec'], out: process.platform === 'win32' ? 'C:\\out' : '/out' };
  for (const adapt of [true, false, 'auto'] as const) assert.equal(requestSchemas['augment:start'].check({ ...augment, adapt }, 'request').adapt, adapt);
  fails(() => requestSchemas['augment:start'].check({ ...augment, adapt: 'yes' }, 'request'), /request\.adapt: expected true, false or 'auto', got "yes"/);
  // the output folder stays an absolute path, as before
  fails(() => requestSchemas['augment:start'].check({ ...augment, out: 'relative/out' }, 'request'), /request\.out: must be an absolute path/);
});
