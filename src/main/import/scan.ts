// Reading the source folder: sorted listings and file-name rules shared by both layouts.
// Nothing here writes; the source dataset is only ever read.
import { readdirSync, statSync } from 'node:fs';
import { extname, join, basename, resolve, relative, isAbsolute } from 'node:path';
import { IMAGE_EXTENSIONS } from '../../engine/imaging/format';

export interface Listing {
  files: string[];
  dirs: string[];
}

/** Plain code-unit order, the same on every platform (readdir order is not). */
export function compareNames(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Full paths of the files and folders directly inside `dir`, each sorted by name; `exclude` is skipped. */
export function listDir(dir: string, exclude: readonly string[] = []): Listing {
  const files: string[] = [];
  const dirs: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => compareNames(a.name, b.name))) {
    const full = join(dir, entry.name);
    if (exclude.some((ex) => isSameOrInside(full, ex))) continue;
    let isDir = entry.isDirectory();
    let isFile = entry.isFile();
    if (entry.isSymbolicLink()) {
      try {
        const target = statSync(full);
        isDir = target.isDirectory();
        isFile = target.isFile();
      } catch {
        continue; // a dangling link holds nothing to import
      }
    }
    if (isDir) dirs.push(full);
    else if (isFile) files.push(full);
  }
  return { files, dirs };
}

export function isSameOrInside(path: string, folder: string): boolean {
  const rel = relative(resolve(folder), resolve(path));
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
}

export function isImageFile(path: string): boolean {
  return IMAGE_EXTENSIONS.includes(extname(path).toLowerCase());
}

/** The file name without its extension. */
export function stemOf(path: string): string {
  const name = basename(path);
  return name.slice(0, name.length - extname(name).length);
}

/** `x_mask.png` -> `x`; null when the name does not end in `_mask` (case-insensitive). */
export function maskStem(path: string): string | null {
  const stem = stemOf(path);
  return /_mask$/i.test(stem) ? stem.slice(0, -'_mask'.length) : null;
}

/** The sub-folder of `dir` called `name` (case-insensitive, as Windows and macOS see it), if any. */
export function findDir(dirs: readonly string[], name: string): string | undefined {
  return dirs.find((d) => basename(d).toLowerCase() === name.toLowerCase());
}
