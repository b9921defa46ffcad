// electron-builder.yml is checked against electron-builder's own schema (unknown or misspelt keys
// fail) and for the settings the app depends on; packaging itself needs a networked machine.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..', '..', '..');
const require = createRequire(import.meta.url);

interface Target {
  target: string;
  arch: string[];
}

test('electron-builder.yml passes the schema and packs what the app needs', async () => {
  const { getConfig, validateConfiguration } = require('app-builder-lib/out/util/config/config.js');
  const { DebugLogger } = require('builder-util/out/DebugLogger.js');
  const config = await getConfig(root, null, null);
  await validateConfiguration(config, new DebugLogger(false));

  assert.equal(config.productName, 'DefectForge');
  assert.match(config.appId, /^[a-z]+(\.[a-z]+)+$/);
  assert.deepEqual(config.win.target as Target[], [{ target: 'nsis', arch: ['x64'] }]);
  assert.deepEqual((config.linux.target as Target[]).map((t) => t.target), ['AppImage', 'deb']);
  assert.equal(config.npmRebuild, true);
  for (const native of ['better-sqlite3', 'onnxruntime-node', 'sharp', '@img']) {
    assert.ok((config.asarUnpack as string[]).includes(`node_modules/${native}/**`), `${native} is unpacked from the asar`);
  }
  assert.deepEqual(
    (config.extraResources as { from: string; to: string }[]).map((r) => [r.from, r.to]),
    [['resources/models', 'models']],
  );
});
