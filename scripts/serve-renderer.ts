// Serves the built renderer with the real API handlers for a browser, as the e2e tests do, so the
// UI can be tried without Electron: node --import tsx scripts/serve-renderer.ts [--pick <folder>]
// `--pick` is what the folder dialog answers (the server cannot show a native dialog).
// Builds out/renderer first when it is missing or stale. Stop with Ctrl+C.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { ensureRendererBuilt, rendererOutDir } from '../test/e2e/build-renderer';
import { startHarnessServer } from '../test/e2e/server';

const { values } = parseArgs({ options: { pick: { type: 'string' }, config: { type: 'string' } } });
await ensureRendererBuilt();
const server = await startHarnessServer({
  rendererDir: rendererOutDir,
  configDir: values.config ? resolve(values.config) : mkdtempSync(join(tmpdir(), 'defectforge-serve-')),
  progressIntervalMs: 100,
});
if (values.pick) server.setPickedFolder(resolve(values.pick));
console.log(`DefectForge renderer at ${server.url} (folder dialog answers: ${values.pick ? resolve(values.pick) : 'cancel'})`);
const stop = () => void server.close().then(() => process.exit(0));
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
