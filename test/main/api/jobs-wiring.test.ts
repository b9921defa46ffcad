import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApi } from '../../../src/main/api';
import { EngineHost, forkEngineFactory, sourceEngineLaunch } from '../../../src/main/engine-host';
import { createProject } from '../../../src/main/store/project';
import { nowIso } from '../../../src/main/store/time';

test('opening a project attaches a job manager that fails jobs a crash left running, and runs new ones', async (t) => {
  const tmp = mkdtempSync(join(tmpdir(), 'df-api-jobs-'));
  const engine = new EngineHost(forkEngineFactory(sourceEngineLaunch()));
  const api = createApi({ configDir: join(tmp, 'config'), electronVersion: null, pickFolder: async () => null, emit: () => {}, engine });
  t.after(async () => {
    await api.close();
    await engine.dispose();
    rmSync(tmp, { recursive: true, force: true });
  });
  const dir = join(tmp, 'Projekt ö');
  const seeded = createProject(dir);
  const at = nowIso();
  seeded.db
    .prepare("INSERT INTO jobs (kind, state, params_json, created_at, started_at, updated_at) VALUES ('sleep', 'running', '{}', ?, ?, ?)")
    .run(at, at, at);
  seeded.close();

  assert.equal(api.jobs(), null);
  await api.handlers['project:open']!({ dir });
  const jobs = api.jobs()!;
  assert.ok(jobs, 'a job manager runs for the open project');
  const [left] = jobs.list();
  assert.equal(left!.state, 'failed');
  assert.match(left!.error ?? '', /interrupted/);

  const id = jobs.submit('sleep', { steps: 2, stepMs: 5 });
  const done = await jobs.waitFor(id);
  assert.equal(done.state, 'succeeded');
});
