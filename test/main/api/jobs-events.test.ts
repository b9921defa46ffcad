// Job updates reach the renderer: with an engine, every state change and progress step of a job
// is emitted on 'jobs:update', and jobs:list / jobs:cancel answer through the same handlers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { createApi } from '../../../src/main/api';
import { EngineHost, forkEngineFactory, sourceEngineLaunch } from '../../../src/main/engine-host';
import type { EventChannel, EventMap, JobUpdateEvent } from '../../../src/shared/ipc';
import { makeTempDir } from '../../fixtures/temp-dir';

test('jobs:update carries queued, running, every progress step and the end; cancel stops a job', async (t) => {
  const tmp = makeTempDir('api-job-events');
  const engine = new EngineHost(forkEngineFactory(sourceEngineLaunch()));
  const updates: JobUpdateEvent[] = [];
  const emit = <E extends EventChannel>(event: E, payload: EventMap[E]) => {
    if (event === 'jobs:update') updates.push(payload as JobUpdateEvent);
  };
  const api = createApi({ configDir: join(tmp.dir, 'config'), electronVersion: null, pickFolder: async () => null, emit, engine });
  t.after(async () => {
    await api.close();
    await engine.dispose();
    tmp.cleanup();
  });
  await api.handlers['project:create']({ dir: join(tmp.dir, 'project') });

  const { id } = await api.handlers['jobs:submit']({ kind: 'sleep', params: { steps: 3, stepMs: 5 } });
  const done = await api.jobs()!.waitFor(id);
  assert.equal(done.state, 'succeeded');
  const mine = updates.filter((u) => u.jobId === id);
  assert.deepEqual(
    mine.filter((u) => !u.progress).map((u) => u.state),
    ['queued', 'running', 'succeeded'],
  );
  assert.deepEqual(
    mine.filter((u) => u.progress).map((u) => [u.progress!.step, u.progress!.total]),
    [
      [1, 3],
      [2, 3],
      [3, 3],
    ],
  );
  const [listed] = await api.handlers['jobs:list']({});
  assert.equal(listed!.id, id);
  assert.deepEqual([listed!.state, listed!.progress?.step, listed!.progress?.total], ['succeeded', 3, 3]);

  const long = await api.handlers['jobs:submit']({ kind: 'sleep', params: { steps: 1000, stepMs: 20 } });
  assert.deepEqual(await api.handlers['jobs:cancel']({ id: long.id }), { cancelled: true });
  const stopped = await api.jobs()!.waitFor(long.id);
  assert.equal(stopped.state, 'cancelled');
  assert.equal(updates.at(-1)!.state, 'cancelled');
  assert.match(updates.at(-1)!.error ?? '', /cancelled/);
  assert.deepEqual(await api.handlers['jobs:cancel']({ id: long.id }), { cancelled: false }, 'a finished job cannot be cancelled again');
});
