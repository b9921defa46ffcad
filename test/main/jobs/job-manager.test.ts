// The job manager on a real project database and a real forked engine.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { createProject, openProject, type Project } from '../../../src/main/store/project';
import { EngineHost, forkEngineFactory, sourceEngineLaunch } from '../../../src/main/engine-host';
import { INTERRUPTED, JobManager, type JobUpdate } from '../../../src/main/jobs';
import { isUserError } from '../../../src/shared/errors';

interface Fixture {
  project: Project;
  engine: EngineHost;
  dir: string;
}

function fixture(t: { after: (fn: () => unknown) => void }): Fixture {
  const root = mkdtempSync(join(os.tmpdir(), 'df jobs '));
  const dir = join(root, 'Prüfstand Ü');
  const project = createProject(dir);
  const engine = new EngineHost(forkEngineFactory(sourceEngineLaunch()));
  t.after(async () => {
    await engine.dispose();
    project.close();
    rmSync(root, { recursive: true, force: true });
  });
  return { project, engine, dir };
}

const killedBySignal = process.platform === 'win32' ? /^engine process exited with code \d+$/ : /^engine process exited with signal SIGKILL$/;

test('a job goes queued -> running -> succeeded, with every transition and the final progress stored', async (t) => {
  const { project, engine } = fixture(t);
  const manager = new JobManager(project.db, engine, { progressThrottleMs: 0 });
  const states: string[] = [];
  manager.subscribe((u) => {
    if (!u.progress) states.push(u.state);
  });
  const id = manager.submit('sleep', { steps: 3, stepMs: 5 });
  const job = await manager.waitFor(id);
  assert.equal(job.state, 'succeeded');
  assert.deepEqual(job.result, { completedSteps: 3 });
  assert.equal(job.error, null);
  assert.deepEqual([job.progress?.step, job.progress?.total, job.progress?.jobId], [3, 3, id]);
  assert.ok(job.startedAt && job.finishedAt && job.startedAt <= job.finishedAt && job.createdAt <= job.startedAt);
  assert.deepEqual(states, ['queued', 'running', 'succeeded']);
  assert.deepEqual(
    manager.store.events(id).map((e) => [e.level, e.message]),
    [
      ['info', 'queued sleep'],
      ['info', 'started'],
      // the engine's own log line for the job, stored with it
      ['info', 'sleepJob: 3 steps of 5 ms'],
      ['info', 'succeeded'],
    ],
  );
});

test("what a job logs at level 'warn' reaches its final update and the jobs list", async (t) => {
  const { project, engine } = fixture(t);
  const manager = new JobManager(project.db, engine, { progressThrottleMs: 0 });
  const finals = new Map<number, JobUpdate>();
  let warned = -1;
  manager.subscribe((u) => {
    // as the engine's log of a learning run that diverged would store it
    if (u.jobId === warned && u.progress?.step === 1) manager.store.addEvent(u.jobId, 'warn', 'widget/crack: the fit got worse');
    if (u.state === 'succeeded') finals.set(u.jobId, u);
  });
  warned = manager.submit('sleep', { steps: 2, stepMs: 5 });
  await manager.waitFor(warned);
  const quiet = manager.submit('sleep', { steps: 2, stepMs: 5 });
  await manager.waitFor(quiet);
  assert.deepEqual(finals.get(warned)!.warnings, ['widget/crack: the fit got worse']);
  assert.equal(finals.get(quiet)!.warnings, undefined);
  assert.deepEqual(manager.store.warnings(warned), ['widget/crack: the fit got worse']);
  assert.deepEqual(manager.store.warnings(quiet), []);
  assert.deepEqual([...manager.store.allWarnings()], [[warned, ['widget/crack: the fit got worse']]]);
});

test('jobs run one at a time, in submission order', async (t) => {
  const { project, engine } = fixture(t);
  const manager = new JobManager(project.db, engine);
  const running: number[] = [];
  let concurrent = 0;
  let maxConcurrent = 0;
  manager.subscribe((u: JobUpdate) => {
    if (u.progress) return;
    if (u.state === 'running') {
      running.push(u.jobId);
      maxConcurrent = Math.max(maxConcurrent, ++concurrent);
    } else if (u.state !== 'queued') concurrent--;
  });
  const ids = [1, 2, 3].map(() => manager.submit('sleep', { steps: 2, stepMs: 10 }));
  const jobs = await Promise.all(ids.map((id) => manager.waitFor(id)));
  assert.deepEqual(
    jobs.map((j) => j.state),
    ['succeeded', 'succeeded', 'succeeded'],
  );
  assert.deepEqual(running, ids);
  assert.equal(maxConcurrent, 1);
  // each started after the previous one finished
  for (let i = 1; i < jobs.length; i++) assert.ok(jobs[i]!.startedAt! >= jobs[i - 1]!.finishedAt!);
});

test('progress writes are throttled, and the last progress is always stored', async (t) => {
  const { project, engine } = fixture(t);
  // a clock that only moves when told: progress writes depend on it alone
  let clock = 0;
  const manager = new JobManager(project.db, engine, { progressThrottleMs: 1000, now: () => clock });
  const storedSteps: (number | undefined)[] = [];
  manager.subscribe((u) => {
    if (!u.progress) return;
    storedSteps.push(manager.get(u.jobId)!.progress?.step);
    if (u.progress.step === 3) clock = 1000;
  });
  const id = manager.submit('sleep', { steps: 6, stepMs: 1 });
  const job = await manager.waitFor(id);
  // step 1 is written (first), 2-3 are not (same instant), 4 is (1000 ms later), 5-6 are not
  assert.deepEqual(storedSteps, [1, 1, 1, 4, 4, 4]);
  assert.equal(job.progress?.step, 6);
});

test('cancelling a queued job never runs it; cancelling a running job stops it between steps', async (t) => {
  const { project, engine } = fixture(t);
  const manager = new JobManager(project.db, engine);
  const long = manager.submit('sleep', { steps: 1000, stepMs: 20 });
  const queued = manager.submit('sleep', { steps: 1, stepMs: 1 });
  assert.equal(manager.cancel(queued), true);
  assert.equal(manager.get(queued)!.state, 'cancelled');
  const unsubscribe = manager.subscribe((u) => {
    if (u.jobId === long && u.progress?.step === 2) manager.cancel(long, 'cancelled by the test');
  });
  const job = await manager.waitFor(long);
  unsubscribe();
  assert.equal(job.state, 'cancelled');
  assert.equal(job.error, 'cancelled by the test');
  assert.ok(job.progress!.step >= 2 && job.progress!.step < 20);
  const q = manager.get(queued)!;
  assert.equal(q.startedAt, null);
  assert.deepEqual(
    manager.store.events(queued).map((e) => e.message),
    ['queued sleep', 'cancelled: cancelled by the user'],
  );
  assert.equal(manager.cancel(long), false, 'a finished job cannot be cancelled');
  assert.equal(manager.cancel(9999), false);
});

test('a job that does not stop within the cancel grace time is stopped by restarting its engine', async (t) => {
  const { project, engine } = fixture(t);
  const manager = new JobManager(project.db, engine, { cancelGraceMs: 200 });
  const { pid } = await engine.request('ping', {});
  // one step of 30 s: the sleep honours the signal, so to simulate an uninterruptible ONNX run
  // the cancel message must not reach the engine: drop it on the host side
  const send = engine['instance']!.proc.send.bind(engine['instance']!.proc);
  engine['instance']!.proc.send = (m) => (m.type === 'cancel' ? undefined : send(m));
  // submit() starts an idle queue synchronously, so listen before submitting
  const unsubscribe = manager.subscribe((u) => {
    if (u.state === 'running' && !u.progress) {
      unsubscribe();
      setTimeout(() => manager.cancel(u.jobId), 100);
    }
  });
  const id = manager.submit('sleep', { steps: 1, stepMs: 30_000 });
  const started = performance.now();
  const job = await manager.waitFor(id);
  assert.ok(performance.now() - started < 10_000);
  assert.equal(job.state, 'cancelled');
  assert.match(job.error!, /^cancelled by the user \(the engine did not stop within 0\.2 s and was restarted\)$/);
  const next = await manager.waitFor(manager.submit('sleep', { steps: 1, stepMs: 1 }));
  assert.equal(next.state, 'succeeded');
  assert.notEqual((await engine.request('ping', {})).pid, pid);
});

test('an engine killed mid-job fails that job with the exit reason, and the next job succeeds on a fresh engine', async (t) => {
  const { project, engine } = fixture(t);
  const manager = new JobManager(project.db, engine);
  const id = manager.submit('sleep', { steps: 1000, stepMs: 20 });
  let killedPid = 0;
  manager.subscribe((u) => {
    if (u.jobId === id && u.progress?.step === 1 && killedPid === 0) {
      killedPid = engine.pid!;
      process.kill(killedPid, 'SIGKILL');
    }
  });
  const next = manager.submit('sleep', { steps: 2, stepMs: 5 });
  const failed = await manager.waitFor(id);
  assert.equal(failed.state, 'failed');
  assert.match(failed.error!, killedBySignal);
  assert.equal(manager.store.events(id).at(-1)!.level, 'error');
  assert.match(manager.store.events(id).at(-1)!.message, /^failed: engine process exited with/);
  const ok = await manager.waitFor(next);
  assert.equal(ok.state, 'succeeded');
  assert.notEqual(engine.pid, killedPid);
});

test('a job whose engine method fails is marked failed with the message; bad kinds are refused', async (t) => {
  const { project, engine } = fixture(t);
  const manager = new JobManager(project.db, engine);
  const job = await manager.waitFor(manager.submit('sleep', { steps: 3, stepMs: 1, failAtStep: 2 }));
  assert.equal(job.state, 'failed');
  assert.equal(job.error, 'sleepJob: failed at step 2 as requested');
  const bad = await manager.waitFor(manager.submit('sleep', { steps: -1, stepMs: 1 }));
  assert.equal(bad.state, 'failed');
  assert.match(bad.error!, /sleepJob: steps must be an integer/);
  assert.throws(() => manager.submit('mine bitcoin', {}), (e) => isUserError(e) && e.code === 'UNKNOWN_JOB_KIND');
});

test('on start-up, jobs a crashed app left running are failed as interrupted and queued jobs run', async (t) => {
  const { project, engine, dir } = fixture(t);
  const db = project.db;
  const at = new Date().toISOString();
  const insert = db.prepare('INSERT INTO jobs (kind, state, params_json, created_at, started_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)');
  const stale = Number(insert.run('sleep', 'running', '{"steps":1,"stepMs":1}', at, at, at).lastInsertRowid);
  const waiting = Number(insert.run('sleep', 'queued', '{"steps":1,"stepMs":1}', at, null, at).lastInsertRowid);
  project.close();
  // a fresh connection, as after an app restart
  const reopened = openProject(dir);
  t.after(() => reopened.close());
  const manager = new JobManager(reopened.db, engine);
  const interrupted = manager.get(stale)!;
  assert.equal(interrupted.state, 'failed');
  assert.equal(interrupted.error, INTERRUPTED);
  assert.ok(interrupted.finishedAt);
  assert.equal((await manager.waitFor(waiting)).state, 'succeeded');
});

test('close() lets the running job finish and leaves queued jobs for the next start', async (t) => {
  const { project, engine } = fixture(t);
  const manager = new JobManager(project.db, engine);
  const first = manager.submit('sleep', { steps: 3, stepMs: 10 });
  const second = manager.submit('sleep', { steps: 1, stepMs: 1 });
  await new Promise((r) => setTimeout(r, 0));
  await manager.close();
  assert.equal(manager.get(first)!.state, 'succeeded');
  assert.equal(manager.get(second)!.state, 'queued');
  assert.throws(() => manager.submit('sleep', { steps: 1, stepMs: 1 }), /closed/);
});
