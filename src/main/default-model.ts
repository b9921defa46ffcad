// The embedded default model (resources/models/tiny-ldm), found the same way by the CLI, the
// app's API and the benches. Where it lies:
// - a packaged Electron app: <process.resourcesPath>/models/<name> (electron-builder's
//   extraResources copies resources/models there);
// - from source or a build (src/main/..., out/main/..., out/cli/...): resources/models/<name>
//   in the first folder above this module that has one.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { UserError } from '../shared/errors';

export const DEFAULT_MODEL_NAME = 'tiny-ldm';

/** How many folders above this module are searched for resources/models. */
const SEARCH_DEPTH = 6;

function isPackage(dir: string): boolean {
  return existsSync(path.join(dir, 'manifest.json'));
}

/** The default model's folder, or null when no installed copy is found. */
export function findDefaultModel(from: string = import.meta.dirname): string | null {
  // set by Electron in a packaged app; absent under plain Node
  const resourcesPath = (process as { resourcesPath?: string }).resourcesPath;
  if (resourcesPath) {
    const packaged = path.join(resourcesPath, 'models', DEFAULT_MODEL_NAME);
    if (isPackage(packaged)) return packaged;
  }
  let dir = from;
  for (let up = 0; up <= SEARCH_DEPTH; up++) {
    const candidate = path.join(dir, 'resources', 'models', DEFAULT_MODEL_NAME);
    if (isPackage(candidate)) return candidate;
    const parent = path.dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  return null;
}

/** The default model's folder; a clear error when it is not installed. */
export function defaultModelDir(): string {
  const dir = findDefaultModel();
  if (dir === null) {
    throw new UserError('MODEL_REQUIRED', `the embedded default model '${DEFAULT_MODEL_NAME}' is not installed (no resources/models/${DEFAULT_MODEL_NAME}/manifest.json beside the app); pass --model <dir> or choose a model folder`);
  }
  return dir;
}
