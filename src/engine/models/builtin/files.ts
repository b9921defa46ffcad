// The package's files on disk: SHA-256 of a file (streamed, models can be tens of MB), the check
// of every listed file's presence, size and hash before anything computes, and the package's
// content hash (what lineage records as the model's identity).

import { createHash } from 'node:crypto';
import { createReadStream, promises as fs } from 'node:fs';
import path from 'node:path';
import { UserError } from '../../../shared/errors';
import { MODEL_FILE_ROLES, type BuiltinManifest, type ModelFile } from './manifest';

export async function sha256File(file: string): Promise<{ sha256: string; bytes: number }> {
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of createReadStream(file)) {
    hash.update(chunk as Buffer);
    bytes += (chunk as Buffer).length;
  }
  return { sha256: hash.digest('hex'), bytes };
}

/** Absolute path of a manifest entry (stored with forward slashes). */
export function packagePath(dir: string, relative: string): string {
  return path.join(dir, ...relative.split('/'));
}

/** Every file the manifest lists, with a name for messages. */
export function listedFiles(m: BuiltinManifest): { role: string; file: ModelFile }[] {
  return [
    ...MODEL_FILE_ROLES.map((role) => ({ role, file: m.files[role] })),
    ...(m.externalData ?? []).map((file) => ({ role: 'external data', file })),
  ];
}

/** Checks presence, then size, then SHA-256 of every listed file; the first problem throws. */
export async function verifyPackageFiles(dir: string, m: BuiltinManifest): Promise<void> {
  for (const { role, file } of listedFiles(m)) {
    const full = packagePath(dir, file.path);
    const stat = await fs.stat(full).catch(() => undefined);
    if (!stat?.isFile()) throw new UserError('MODEL_FILE_MISSING', `${full}: the model's ${role} file is missing`);
    if (stat.size !== file.bytes) {
      throw new UserError('MODEL_FILE_SIZE', `${full}: the model's ${role} file has ${stat.size} bytes; manifest.json says ${file.bytes} (damaged or replaced)`);
    }
    const { sha256 } = await sha256File(full);
    if (sha256 !== file.sha256) {
      throw new UserError('MODEL_FILE_HASH', `${full}: the model's ${role} file has SHA-256 ${sha256}; manifest.json says ${file.sha256} (damaged or replaced)`);
    }
  }
}

/**
 * SHA-256 over the listed files' hashes, one line "<path> <sha256>\n" per file in path order:
 * it changes when any byte of any file does, and not when the folder moves.
 */
export function packageContentHash(m: BuiltinManifest): string {
  const lines = listedFiles(m)
    .map(({ file }) => `${file.path} ${file.sha256}\n`)
    .sort();
  // a default of generation that lives in the manifest, not in a file, changes the output too;
  // the line exists only when the field does, so packages without it keep their hashes
  if (m.guidanceRescale !== undefined) lines.push(`manifest guidanceRescale ${m.guidanceRescale}\n`);
  return createHash('sha256').update(lines.join('')).digest('hex');
}
