// The file-system writer of exports and the all-or-nothing wrapper: everything is written into a
// hidden temporary folder beside the destination, which is renamed to the destination only when
// every file is written. Any failure removes the temporary folder, so the destination either does
// not exist or is complete. A full disk (ENOSPC) or a quota (EDQUOT) becomes a UserError that
// says so and names the file being written.
import { randomBytes } from 'node:crypto';
import { mkdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { UserError } from '../../shared/errors';
import type { ExportWriter } from './types';

export const fsWriter: ExportWriter = {
  mkdir: async (dir) => {
    await mkdir(dir, { recursive: true });
  },
  writeFile: (file, bytes) => writeFile(file, bytes),
  rename: (from, to) => rename(from, to),
  removeTree: (dir) => rm(dir, { recursive: true, force: true }),
  exists: (p) =>
    stat(p).then(
      () => true,
      () => false,
    ),
};

/** Writes files relative to a root, creating folders on the way; remembers the file in flight. */
export class TreeWriter {
  current = '';
  private readonly made = new Set<string>();
  constructor(
    readonly root: string,
    private readonly writer: ExportWriter,
  ) {}

  async write(relative: string, bytes: Uint8Array | string): Promise<void> {
    const file = path.join(this.root, ...relative.split('/'));
    const dir = path.dirname(file);
    if (!this.made.has(dir)) {
      await this.writer.mkdir(dir);
      this.made.add(dir);
    }
    this.current = file;
    await this.writer.writeFile(file, typeof bytes === 'string' ? new TextEncoder().encode(bytes) : bytes);
  }
}

export async function writeAtomically(out: string, writer: ExportWriter, fill: (tree: TreeWriter) => Promise<void>): Promise<void> {
  const target = path.resolve(out);
  if (await writer.exists(target)) throw new UserError('EXPORT_EXISTS', `${target} already exists; choose a new output folder (an export never overwrites one)`);
  const temp = path.join(path.dirname(target), `.${path.basename(target)}.partial-${process.pid}-${randomBytes(4).toString('hex')}`);
  const tree = new TreeWriter(temp, writer);
  try {
    await writer.mkdir(temp);
    await fill(tree);
    await writer.rename(temp, target);
  } catch (e) {
    await writer.removeTree(temp).catch(() => undefined);
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOSPC' || code === 'EDQUOT') {
      throw new UserError('EXPORT_DISK_FULL', `${target}: the disk is full (${code} while writing ${tree.current || temp}); nothing was exported`);
    }
    if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') {
      throw new UserError('EXPORT_NOT_WRITABLE', `${target}: cannot write there (${code} on ${tree.current || temp}); nothing was exported`);
    }
    throw e;
  }
}
