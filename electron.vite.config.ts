// Builds the three Electron targets into out/: main (ESM, plus the engine process entry), preload
// (CommonJS: a sandboxed preload cannot be an ES module) and the Svelte renderer.
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { svelte } from '@sveltejs/vite-plugin-svelte';
import { defineConfig } from 'electron-vite';
import type { Plugin } from 'vite';
import { contentSecurityPolicy } from './src/main/app/security-policy';

const root = import.meta.dirname;

// Native addons (and sharp's per-platform binaries) cannot be bundled: they stay in node_modules
// (unpacked from the asar, see electron-builder.yml) and are required at run time.
const nativeModules = ['better-sqlite3', 'onnxruntime-node', 'sharp'];

// The engine process runs in an Electron utilityProcess (or a Node child); it is built next to main
// as out/main/engine.js. Another engineer owns src/engine/host/main.ts; while it does not exist yet
// the entry is left out rather than failing the whole build.
const engineEntry = resolve(root, 'src/engine/host/main.ts');
const mainInputs: Record<string, string> = { index: resolve(root, 'src/main/index.ts') };
if (existsSync(engineEntry)) mainInputs['engine'] = engineEntry;

/**
 * index.html carries the production CSP in a meta tag. Under the dev server (and only there) it is
 * swapped for the dev variant, which lets Vite inject styles and open its HMR websocket.
 */
function devCspPlugin(): Plugin {
  const production = contentSecurityPolicy({ forMeta: true });
  return {
    name: 'defectforge-dev-csp',
    apply: 'serve',
    transformIndexHtml(html) {
      if (!html.includes(production)) throw new Error('src/renderer/index.html: the CSP meta tag differs from contentSecurityPolicy({ forMeta: true })');
      return html.replace(production, contentSecurityPolicy({ forMeta: true, dev: true }));
    },
  };
}

export default defineConfig({
  main: {
    build: {
      outDir: 'out/main',
      externalizeDeps: { include: nativeModules },
      rollupOptions: { input: mainInputs },
    },
  },
  preload: {
    build: {
      outDir: 'out/preload',
      rollupOptions: {
        input: { index: resolve(root, 'src/preload/index.ts') },
        output: { format: 'cjs', entryFileNames: '[name].cjs' },
      },
    },
  },
  renderer: {
    root: resolve(root, 'src/renderer'),
    plugins: [svelte(), devCspPlugin()],
    build: {
      outDir: resolve(root, 'out/renderer'),
      emptyOutDir: true,
      // Everything from 'self': no inline scripts or styles, no data: modules.
      assetsInlineLimit: 0,
      modulePreload: { polyfill: false },
      rollupOptions: { input: resolve(root, 'src/renderer/index.html') },
    },
  },
});
