// The application version recorded in new projects (and, by others, in every sample's lineage).
// It is read from the nearest package.json named "defectforge" above this module, which holds
// both when running from source (src/main/store) and from the bundled app (out/main, inside the
// asar next to its package.json). Importing package.json directly would pull it into the
// TypeScript project, which tsconfig.node.json's include list does not allow.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

let cached: string | undefined;

export function appVersion(): string {
  if (cached !== undefined) return cached;
  let dir = import.meta.dirname;
  for (;;) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: unknown; version?: unknown };
      if (pkg.name === 'defectforge' && typeof pkg.version === 'string') return (cached = pkg.version);
    } catch {
      // no readable package.json here: keep walking up
    }
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`cannot find DefectForge's package.json above ${import.meta.dirname}`);
    dir = parent;
  }
}
