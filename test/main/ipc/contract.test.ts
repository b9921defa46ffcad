// The shared IPC envelope and the renderer's message catalogue (plain TS, testable under Node).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ApiError, CHANNELS, EVENTS, unwrapResult, type IpcResult } from '../../../src/shared/ipc';

// The catalogue belongs to the renderer's TypeScript project (tsconfig.web.json), which the Node
// project may not import statically; a computed path keeps tsc from following it, tsx runs it.
const i18nDir = join(import.meta.dirname, '..', '..', '..', 'src', 'renderer', 'i18n');
const load = (name: string) => import(pathToFileURL(join(i18nDir, `${name}.ts`)).href);
const { en } = (await load('en')) as { en: Record<string, string> };
const { ko } = (await load('ko')) as { ko: Record<string, string> };
const { interpolate } = (await load('format')) as { interpolate: (t: string, p?: Record<string, string | number>) => string };

test('channel names are domain:verb and unique', () => {
  const names = [...Object.values(CHANNELS), ...Object.values(EVENTS)];
  for (const name of names) assert.match(name, /^[a-z]+:[a-zA-Z]+$/, name);
  assert.equal(new Set(names).size, names.length);
});

test('unwrapResult returns results and rethrows errors as ApiError with the code', () => {
  assert.deepEqual(unwrapResult({ result: { a: 1 } }), { a: 1 });
  assert.equal(unwrapResult({ result: null }), null);
  try {
    unwrapResult({ error: { code: 'NOT_A_PROJECT', message: '/x is not a project' } });
    assert.fail('should throw');
  } catch (e) {
    assert.ok(e instanceof ApiError);
    assert.ok(e instanceof Error);
    assert.equal(e.code, 'NOT_A_PROJECT');
    assert.equal(e.message, '/x is not a project');
  }
  for (const bad of [null, 'x', {}, { error: null }]) {
    assert.throws(() => unwrapResult(bad as unknown as IpcResult<unknown>), (e: unknown) => e instanceof ApiError && e.code === 'BAD_ENVELOPE');
  }
});

test('interpolate fills placeholders and leaves unknown ones visible', () => {
  assert.equal(interpolate('{done} of {total}', { done: 3, total: '10' }), '3 of 10');
  assert.equal(interpolate('{done} of {total}', { done: 3 }), '3 of {total}');
  assert.equal(interpolate('{toString}', {}), '{toString}', 'no inherited properties');
});

test('the Korean catalogue has every key, no empty string, and the same placeholders as English', () => {
  const placeholders = (s: string) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
  assert.deepEqual(Object.keys(ko).sort(), Object.keys(en).sort());
  for (const [key, english] of Object.entries(en)) {
    const korean = ko[key]!;
    assert.ok(korean.trim().length > 0, key);
    assert.deepEqual(placeholders(korean), placeholders(english), key);
  }
});
