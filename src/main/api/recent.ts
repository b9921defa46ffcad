// The recent-projects list: a small JSON file in the app's configuration folder (Electron's
// userData; a temporary folder in tests), most recent first, one entry per project folder.
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { RecentProject } from '../../shared/ipc';
import { writeFileAtomic } from './atomic-file';

export const RECENT_FILE_NAME = 'recent-projects.json';
export const RECENT_LIMIT = 12;

export interface RecentProjects {
  readonly file: string;
  list(): RecentProject[];
  touch(entry: { dir: string; name: string }, now?: Date): RecentProject[];
}

// Windows and macOS file systems are case-insensitive by default: C:\A and c:\a are one project.
function sameDir(a: string, b: string, platform: NodeJS.Platform): boolean {
  const ra = resolve(a);
  const rb = resolve(b);
  return platform === 'win32' || platform === 'darwin' ? ra.toLowerCase() === rb.toLowerCase() : ra === rb;
}

function isEntry(value: unknown): value is RecentProject {
  const v = value as Partial<RecentProject> | null;
  return !!v && typeof v.dir === 'string' && typeof v.name === 'string' && typeof v.openedAt === 'string';
}

export function createRecentProjects(configDir: string, platform: NodeJS.Platform = process.platform): RecentProjects {
  const file = join(configDir, RECENT_FILE_NAME);

  function list(): RecentProject[] {
    if (!existsSync(file)) return [];
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(file, 'utf8'));
    } catch (e) {
      // The list is a convenience, not data: a damaged file must not lock the user out of the app.
      // It is replaced on the next open; say so once on stderr with the file's name.
      console.warn(`[recent] ignoring ${file}: ${(e as Error).message}`);
      return [];
    }
    return Array.isArray(parsed) ? parsed.filter(isEntry).slice(0, RECENT_LIMIT) : [];
  }

  function touch(entry: { dir: string; name: string }, now = new Date()): RecentProject[] {
    const fresh: RecentProject = { dir: entry.dir, name: entry.name, openedAt: now.toISOString() };
    const next = [fresh, ...list().filter((e) => !sameDir(e.dir, entry.dir, platform))].slice(0, RECENT_LIMIT);
    writeFileAtomic(file, `${JSON.stringify(next, null, 2)}\n`);
    return next;
  }

  return { file, list, touch };
}
