#!/usr/bin/env node
// Runs every test/**/*.test.ts file with Node's built-in test runner (TypeScript through tsx).
// Node 20's --test does not expand globs, so the files are collected here.
// Usage: node scripts/run-tests.mjs [substring-filter ...]
// The full run (no filter, as CI calls it) first runs the static checks, `npm run typecheck` and
// `npm run lint` (~30 s): a type error once went unnoticed for a session because only the tests ran.
import { readdirSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { spawnSync } from 'node:child_process';

const root = join(import.meta.dirname, '..');
const filters = process.argv.slice(2);

function collect(dir) {
  const found = [];
  for (const entry of readdirSync(dir)) {
    const full = join(dir, entry);
    if (statSync(full).isDirectory()) found.push(...collect(full));
    else if (entry.endsWith('.test.ts')) found.push(full);
  }
  return found;
}

const files = collect(join(root, 'test'))
  .map((f) => relative(root, f))
  .filter((f) => filters.length === 0 || filters.some((s) => f.split(sep).join('/').includes(s)))
  .sort();

if (files.length === 0) {
  console.error(`no test files match ${filters.join(', ')}`);
  process.exit(1);
}
if (filters.length === 0) {
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  for (const check of ['typecheck', 'lint']) {
    const status = spawnSync(npm, ['run', '--silent', check], { cwd: root, stdio: 'inherit', shell: process.platform === 'win32' }).status;
    if (status !== 0) {
      console.error(`npm run ${check} failed (exit ${status}): fix it before the tests run`);
      process.exit(status ?? 1);
    }
  }
}
const result = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=spec', ...files], {
  cwd: root,
  stdio: 'inherit',
  env: { ...process.env, DEFECTFORGE_TEST: '1' },
});
process.exit(result.status ?? 1);
