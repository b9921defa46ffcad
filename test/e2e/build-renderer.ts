// Makes sure out/renderer holds a build of the current renderer sources before browser tests run:
// rebuilds (renderer only, with the renderer section of electron.vite.config.ts) when the build is
// missing or older than any file it is made from.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfigFromFile } from 'electron-vite';
import { build } from 'vite';

export const repoRoot = join(import.meta.dirname, '..', '..');
export const rendererOutDir = join(repoRoot, 'out', 'renderer');

function newestMtime(path: string): number {
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  let newest = stat.mtimeMs;
  for (const entry of readdirSync(path)) newest = Math.max(newest, newestMtime(join(path, entry)));
  return newest;
}

export function rendererBuildIsStale(): boolean {
  const built = join(rendererOutDir, 'index.html');
  if (!existsSync(built)) return true;
  const sources = [join(repoRoot, 'src', 'renderer'), join(repoRoot, 'src', 'shared'), join(repoRoot, 'electron.vite.config.ts')];
  return Math.max(...sources.map(newestMtime)) > statSync(built).mtimeMs;
}

export async function ensureRendererBuilt(): Promise<'fresh' | 'rebuilt'> {
  if (!rendererBuildIsStale()) return 'fresh';
  const { config } = await loadConfigFromFile({ command: 'build', mode: 'production' }, join(repoRoot, 'electron.vite.config.ts'));
  if (!config.renderer) throw new Error('electron.vite.config.ts has no renderer section');
  await build({ ...config.renderer, configFile: false, logLevel: 'warn', mode: 'production' });
  return 'rebuilt';
}
