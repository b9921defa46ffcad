// Shape checks of messages crossing the process boundary, both directions.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { engineMessageProblem, hostMessageProblem } from '../../../src/shared/engine-protocol';

test('engine -> host messages: valid ones pass, each malformed one is named', () => {
  const valid = [
    { type: 'ready', protocolVersion: 1, pid: 1 },
    { type: 'reply', seq: 3, result: null },
    { type: 'reply', seq: 3, error: { code: 'X', message: 'y', user: true } },
    { type: 'progress', seq: 3, jobId: null, step: 1, total: 2 },
    { type: 'log', level: 'warn', message: 'm' },
  ];
  for (const m of valid) assert.equal(engineMessageProblem(m), null, JSON.stringify(m));
  const invalid: [unknown, string][] = [
    [null, 'message is not an object'],
    [[1], 'message is not an object'],
    [{ type: 'reply', seq: -1, result: 1 }, 'reply without a valid seq'],
    [{ type: 'reply', seq: 1.5, result: 1 }, 'reply without a valid seq'],
    [{ type: 'reply', seq: 1 }, 'reply with neither result nor error'],
    [{ type: 'reply', seq: 1, error: 'boom' }, 'reply with a malformed error'],
    [{ type: 'progress', seq: 1, step: '1', total: 2 }, 'progress without seq/step/total'],
    [{ type: 'log', level: 'debug', message: 'm' }, 'log without level/message'],
    [{ type: 'ready' }, 'ready without protocolVersion'],
    [{ type: 'hello' }, 'unknown message type "hello"'],
  ];
  for (const [m, problem] of invalid) assert.equal(engineMessageProblem(m), problem);
});

test('host -> engine messages: requests need seq and method, cancels a seq', () => {
  assert.equal(hostMessageProblem({ type: 'request', seq: 0, method: 'ping', params: {} }), null);
  assert.equal(hostMessageProblem({ type: 'request', seq: 1, method: 'ping', params: {}, jobId: 4 }), null);
  assert.equal(hostMessageProblem({ type: 'cancel', seq: 1 }), null);
  assert.equal(hostMessageProblem({ type: 'cancel' }), 'cancel without a valid seq');
  assert.equal(hostMessageProblem({ type: 'request', seq: 1, method: 'ping', jobId: 'a' }), 'request with an invalid jobId');
  assert.equal(hostMessageProblem({ type: 'request', method: 'ping' }), 'request without a valid seq');
  assert.equal(hostMessageProblem('ping'), 'message is not an object');
});
