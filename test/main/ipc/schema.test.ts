import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isAbsolute } from 'node:path';
import { absolutePath, bool, num, obj, oneOf, optional, SchemaError, str } from '../../../src/main/ipc/schema';

function problem(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof SchemaError, `expected a SchemaError, got ${String(e)}`);
    return e.message;
  }
  assert.fail('expected the check to throw');
}

test('strings: type, length bounds and NUL are checked, naming where the problem is', () => {
  const s = str({ minLength: 2, maxLength: 4 });
  assert.equal(s.check('abc', 'request.name'), 'abc');
  assert.equal(problem(() => s.check(3, 'request.name')), 'request.name: expected a string, got the number 3');
  assert.match(problem(() => s.check('a', 'request.name')), /^request\.name: must be at least 2 characters/);
  assert.match(problem(() => s.check('abcde', 'x')), /at most 4/);
  assert.match(problem(() => s.check('a\0b', 'x')), /NUL/);
  // non-ASCII passes untouched
  assert.equal(str().check('결함 검사 déchets', 'x'), '결함 검사 déchets');
});

test('numbers: finite, integer and range checks', () => {
  const n = num({ integer: true, min: 0, max: 10 });
  assert.equal(n.check(7, 'x'), 7);
  assert.match(problem(() => n.check(7.5, 'x')), /expected an integer, got 7.5/);
  assert.match(problem(() => n.check(-1, 'x')), />= 0/);
  assert.match(problem(() => n.check(11, 'x')), /<= 10/);
  assert.match(problem(() => n.check(Number.NaN, 'x')), /finite number, got NaN/);
  assert.match(problem(() => n.check('7', 'x')), /finite number, got a string/);
  assert.equal(bool().check(false, 'x'), false);
  assert.match(problem(() => bool().check('true', 'x')), /true or false/);
});

test('enums accept only their values', () => {
  const layout = oneOf(['mvtec', 'folder'] as const);
  assert.equal(layout.check('folder', 'request.layout'), 'folder');
  assert.equal(problem(() => layout.check('MVTEC', 'request.layout')), "request.layout: expected one of 'mvtec', 'folder', got a string of length 5");
  assert.match(problem(() => layout.check(null, 'l')), /got null/);
});

test('objects: required and optional fields, unknown keys and non-plain objects refused', () => {
  const schema = obj({ dir: str(), name: optional(str()), count: optional(num()) });
  assert.deepEqual(schema.check({ dir: 'a' }, 'request'), { dir: 'a' });
  assert.deepEqual(schema.check({ dir: 'a', name: 'n', count: 2 }, 'request'), { dir: 'a', name: 'n', count: 2 });
  // an explicit undefined is the same as absent and is not copied
  assert.deepEqual(Object.keys(schema.check({ dir: 'a', name: undefined }, 'request')), ['dir']);
  assert.equal(problem(() => schema.check({}, 'request')), 'request.dir: expected a string, got undefined');
  assert.equal(problem(() => schema.check({ dir: 'a', dri: 'b' }, 'request')), "request: unknown field 'dri'");
  assert.match(problem(() => schema.check({ dir: 'a', count: 'x' }, 'request')), /^request\.count: /);
  assert.match(problem(() => schema.check(null, 'request')), /expected an object, got null/);
  assert.match(problem(() => schema.check([], 'request')), /got an array/);
  assert.match(problem(() => schema.check(new Date(), 'request')), /plain object/);
  assert.match(problem(() => schema.check('dir', 'request')), /got a string/);
});

test('nested objects report the full path of the bad field', () => {
  const schema = obj({ outer: obj({ inner: num() }) });
  assert.equal(problem(() => schema.check({ outer: { inner: 'x' } }, 'request')), 'request.outer.inner: expected a finite number, got a string of length 1');
});

test('the validated object is a copy holding only the schema fields', () => {
  const input = JSON.parse('{"dir":"a","__proto__":{"polluted":true}}') as object;
  // JSON.parse makes __proto__ an own key: refused as unknown rather than copied
  assert.match(problem(() => obj({ dir: str() }).check(input, 'request')), /unknown field '__proto__'/);
  assert.equal(({} as Record<string, unknown>)['polluted'], undefined);
});

test('absolute paths: relative ones are refused on this platform', () => {
  const p = absolutePath();
  const abs = process.platform === 'win32' ? 'C:\\Projekt 검사\\a' : '/tmp/Projekt 검사/a';
  assert.ok(isAbsolute(abs));
  assert.equal(p.check(abs, 'request.dir'), abs);
  assert.equal(problem(() => p.check('relative/dir', 'request.dir')), "request.dir: must be an absolute path, got 'relative/dir'");
  assert.match(problem(() => p.check('', 'request.dir')), /at least 1/);
  assert.match(problem(() => p.check(`${abs}\0x`, 'request.dir')), /NUL/);
});
