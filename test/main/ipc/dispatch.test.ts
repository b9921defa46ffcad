import { test } from 'node:test';
import assert from 'node:assert/strict';
import { UserError } from '../../../src/shared/errors';
import { INVOKE_CHANNELS, type InvokeChannel } from '../../../src/shared/ipc';
import { dispatch, type Handlers } from '../../../src/main/ipc/dispatch';
import { requestSchemas } from '../../../src/main/ipc/request-schemas';

const absDir = process.platform === 'win32' ? 'C:\\projects\\défaut 1' : '/projects/défaut 1';

function recordingHandlers(calls: [string, unknown][]): Handlers {
  const record = (channel: InvokeChannel) => (request: unknown) => {
    calls.push([channel, request]);
    return { echoed: request } as never;
  };
  return Object.fromEntries(INVOKE_CHANNELS.map((c) => [c, record(c)])) as unknown as Handlers;
}

test('every channel has a request schema', () => {
  assert.deepEqual(Object.keys(requestSchemas).sort(), [...INVOKE_CHANNELS].sort());
});

test('a valid request reaches its handler and the result comes back in the envelope', async () => {
  const calls: [string, unknown][] = [];
  const reply = await dispatch(recordingHandlers(calls), 'project:open', { dir: absDir });
  assert.deepEqual(reply, { result: { echoed: { dir: absDir } } });
  assert.deepEqual(calls, [['project:open', { dir: absDir }]]);
});

test('invalid requests never reach a handler', async () => {
  const calls: [string, unknown][] = [];
  const handlers = recordingHandlers(calls);
  const cases: [string, unknown, RegExp][] = [
    ['project:open', { dir: 'relative/path' }, /^project:open: request\.dir: must be an absolute path/],
    ['project:open', {}, /request\.dir: expected a string, got undefined/],
    ['project:open', { dir: absDir, extra: 1 }, /unknown field 'extra'/],
    ['project:create', { dir: absDir, name: '' }, /request\.name: must be at least 1/],
    ['dataset:import', { folder: absDir, layout: 'coco' }, /request\.layout: expected one of 'mvtec', 'folder', 'auto'/],
    ['dialog:pickFolder', { purpose: 'anything' }, /request\.purpose/],
    ['app:info', null, /request: expected an object, got null/],
    ['app:info', { sneaky: true }, /unknown field 'sneaky'/],
  ];
  for (const [channel, request, message] of cases) {
    const reply = await dispatch(handlers, channel, request);
    assert.ok('error' in reply, `${channel} ${JSON.stringify(request)} should fail`);
    assert.equal(reply.error.code, 'INVALID_REQUEST');
    assert.match(reply.error.message, message);
  }
  assert.deepEqual(calls, []);
});

test('unknown channels are refused', async () => {
  for (const channel of ['fs:readFile', '', 42, undefined, '__proto__']) {
    const reply = await dispatch(recordingHandlers([]), channel, {});
    assert.ok('error' in reply);
    assert.equal(reply.error.code, 'UNKNOWN_CHANNEL');
  }
});

test('a UserError keeps its code; any other error becomes INTERNAL and is logged', async () => {
  const handlers = recordingHandlers([]);
  handlers['project:open'] = () => {
    throw new UserError('NOT_A_PROJECT', '/x is not a DefectForge project');
  };
  handlers['project:info'] = async () => {
    throw new TypeError('boom');
  };
  assert.deepEqual(await dispatch(handlers, 'project:open', { dir: absDir }), {
    error: { code: 'NOT_A_PROJECT', message: '/x is not a DefectForge project' },
  });
  const logged: unknown[] = [];
  const reply = await dispatch(handlers, 'project:info', {}, (_channel, e) => logged.push(e));
  assert.deepEqual(reply, { error: { code: 'INTERNAL', message: 'project:info failed unexpectedly: boom' } });
  assert.equal(logged.length, 1);
  handlers['dataset:import'] = async () => {
    throw new DOMException('This operation was aborted', 'AbortError');
  };
  assert.deepEqual(await dispatch(handlers, 'dataset:import', { folder: absDir }, (_c, e) => logged.push(e)), {
    error: { code: 'CANCELLED', message: 'dataset:import was cancelled' },
  });
  assert.equal(logged.length, 1, 'a cancellation is not logged as a fault');
});
