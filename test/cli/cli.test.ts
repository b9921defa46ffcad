// The `defectforge` command as a user runs it: the real bin in a child process, started from a
// folder elsewhere, with project paths holding spaces and non-ASCII characters.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { COMMANDS } from '../../src/cli/commands';
import { onnxruntimeVersion } from '../../src/engine/runtime';
import { appVersion } from '../../src/main/store/app-version';
import { lines, runBin } from './run-bin';

const escapeRegExp = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

const root = mkdtempSync(join(os.tmpdir(), 'df cli '));
// the current directory of every run: not the repository
const cwd = join(root, 'Arbeits ordner ä');
mkdirSync(cwd, { recursive: true });
test.after(() => rmSync(root, { recursive: true, force: true }));

test('top-level --help and -h list every registered command and exit 0', async () => {
  for (const flag of ['--help', '-h']) {
    const r = await runBin([flag], cwd);
    assert.equal(r.code, 0);
    assert.equal(r.stderr, '');
    assert.match(r.stdout, /^DefectForge \d+\.\d+\.\d+/);
    for (const c of COMMANDS) assert.match(r.stdout, new RegExp(`^  ${c.name}\\s+${escapeRegExp(c.summary)}$`, 'm'));
  }
});

test('--version prints the package version', async () => {
  const r = await runBin(['--version'], cwd);
  assert.equal(r.code, 0);
  assert.equal(r.stdout, `${appVersion()}\n`);
});

test('every command has --help and -h, naming its arguments and options', async () => {
  for (const c of COMMANDS) {
    for (const flag of ['--help', '-h']) {
      const r = await runBin([c.name, flag], cwd);
      assert.equal(r.code, 0, `${c.name} ${flag}: ${r.stderr}`);
      assert.ok(r.stdout.startsWith(`${c.summary}\n`));
      assert.match(r.stdout, new RegExp(`Usage: defectforge ${c.name}${c.positionals.map((p) => ` <${p.name}>`).join('')}`));
      for (const o of Object.keys(c.options)) assert.match(r.stdout, new RegExp(`--${o}\\b`));
    }
  }
});

test('bad arguments exit 1 with one line on stderr and nothing on stdout', async () => {
  const cases: [string[], RegExp][] = [
    [[], /^defectforge: missing command; try defectforge --help$/],
    [['frobnicate'], /^defectforge: unknown command "frobnicate"; commands: init, import, info, doctor/],
    [['info'], /^defectforge info: missing <project>/],
    [['info', 'a', 'b'], /^defectforge info: unexpected argument "b"/],
    [['doctor', '--jsn'], /^defectforge doctor: Unknown option '--jsn'/],
    [['init', 'x', '--name'], /^defectforge init: Option '--name <value>' argument missing/],
    [['import', 'p', 'f', '--layout', 'zip'], /^defectforge import: --layout must be one of auto, mvtec, folder \(got "zip"\)$/],
  ];
  for (const [args, expected] of cases) {
    const r = await runBin(args, cwd);
    assert.equal(r.code, 1, `${args.join(' ')}: ${r.stderr}`);
    assert.equal(r.stdout, '');
    assert.equal(lines(r.stderr).length, 1, r.stderr);
    assert.match(r.stderr.trimEnd(), expected);
  }
});

test('init creates a project at a relative path with spaces and non-ASCII; info reads it back', async () => {
  const r = await runBin(['init', 'Prüf projekt ü', '--name', 'Ölwanne 7 – Kratzer'], cwd);
  assert.equal(r.code, 0, r.stderr);
  const dir = join(cwd, 'Prüf projekt ü');
  assert.equal(r.stdout, `created project "Ölwanne 7 – Kratzer" in ${dir}\n`);

  const json = await runBin(['info', 'Prüf projekt ü', '--json'], cwd);
  assert.equal(json.code, 0, json.stderr);
  const info = JSON.parse(json.stdout);
  assert.equal(info.name, 'Ölwanne 7 – Kratzer');
  assert.equal(info.dir, dir);
  assert.equal(info.appVersion, appVersion());
  assert.deepEqual(info.categories, []);
  assert.deepEqual(info.jobs, { queued: 0, running: 0, succeeded: 0, failed: 0, cancelled: 0 });

  const text = await runBin(['info', dir], cwd);
  assert.equal(text.code, 0);
  assert.match(text.stdout, /^project     Ölwanne 7 – Kratzer$/m);
  assert.match(text.stdout, new RegExp(`^folder      ${escapeRegExp(dir)}$`, 'm'));
  assert.match(text.stdout, /^jobs        0 queued, 0 running, 0 succeeded, 0 failed, 0 cancelled$/m);

  const again = await runBin(['init', dir], cwd);
  assert.equal(again.code, 1);
  assert.equal(lines(again.stderr).length, 1);
  assert.match(again.stderr, /^defectforge init: .*already holds a DefectForge project/);
});

test('info on a folder that is not a project is a user error (exit 1)', async () => {
  const r = await runBin(['info', cwd], cwd);
  assert.equal(r.code, 1);
  assert.equal(lines(r.stderr).length, 1);
  assert.match(r.stderr, /^defectforge info: .*is not a DefectForge project/);
});

test('a damaged project database is an internal error (exit 2)', async () => {
  const init = await runBin(['init', 'kaputt'], cwd);
  assert.equal(init.code, 0, init.stderr);
  const db = new Database(join(cwd, 'kaputt', 'project.sqlite'));
  db.exec('DROP TABLE jobs');
  db.close();
  const r = await runBin(['info', 'kaputt'], cwd);
  assert.equal(r.code, 2, r.stderr);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, /^defectforge info: internal error: no such table: jobs$/m);
});

test('doctor reports the engine runtime (JSON and text)', async () => {
  const r = await runBin(['doctor', '--json'], cwd);
  assert.equal(r.code, 0, r.stderr);
  const info = JSON.parse(r.stdout);
  assert.equal(info.onnxruntimeVersion, onnxruntimeVersion());
  assert.equal(info.nodeVersion, process.versions.node);
  assert.equal(info.os.platform, process.platform);
  assert.equal(info.cpu.cores, os.availableParallelism());
  assert.ok(info.executionProviders.includes(info.chosenExecutionProvider));
  assert.equal(typeof info.intraOpNumThreads, 'number');
  assert.match(info.trainingConvKernels, /^(nchwc \(block (8|16)\)|standard)$/);

  const text = await runBin(['doctor'], cwd);
  assert.equal(text.code, 0);
  assert.match(text.stdout, new RegExp(`^onnxruntime-node\\s+${escapeRegExp(onnxruntimeVersion())}$`, 'm'));
  assert.match(text.stdout, new RegExp(`^cpu\\s+.+, ${os.availableParallelism()} cores$`, 'm'));
  assert.match(text.stdout, new RegExp(`^training convs\\s+${escapeRegExp(info.trainingConvKernels)} on CPU$`, 'm'));
});
