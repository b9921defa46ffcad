// Which file answers a URL path of the app's own origin (Electron's app:// protocol and the
// browser-test HTTP server share this): `/blob/<sha256>` is a blob of the OPEN project, anything
// else is a file of the built renderer. Every answer is confined: a path that escapes its folder
// (`..`, encoded separators, symlinks out of blobs/) or a blob of no open project gets null, so
// nothing outside the renderer bundle and the open project is ever served.
import { existsSync, realpathSync, statSync } from 'node:fs';
import { extname, isAbsolute, join, relative, resolve, sep } from 'node:path';

export interface ServedFile {
  file: string;
  mimeType: string;
}

const MIME_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};

const BLOB_ROUTE = /^\/blob\/([0-9a-f]{64})$/;

/** True when `child` lies strictly inside `parent` (both resolved; no `..` escape, not another drive). */
export function isInside(parent: string, child: string): boolean {
  const rel = relative(resolve(parent), resolve(child));
  return rel !== '' && rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel);
}

function decodePath(urlPath: string): string | null {
  try {
    const decoded = decodeURIComponent(urlPath);
    return decoded.includes('\0') ? null : decoded;
  } catch {
    return null; // malformed percent-encoding
  }
}

export function rendererFile(rendererDir: string, urlPath: string): ServedFile | null {
  const decoded = decodePath(urlPath);
  if (decoded === null) return null;
  const relativePath = decoded === '/' || decoded === '' ? 'index.html' : decoded.replace(/^[/\\]+/, '');
  const file = join(rendererDir, relativePath);
  if (!isInside(rendererDir, file) || !existsSync(file) || !statSync(file).isFile()) return null;
  return { file, mimeType: MIME_TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream' };
}

/** The open project as file serving sees it: its folder, where a blob lives and its media type. */
export interface BlobSource {
  dir: string;
  blobPath(hash: string): string;
  /** The media type the store recorded, or null for a hash the project does not know. */
  blobMediaType(hash: string): string | null;
}

export function blobFile(project: BlobSource | null, hash: string): ServedFile | null {
  if (!project || !/^[0-9a-f]{64}$/.test(hash)) return null;
  const mimeType = project.blobMediaType(hash);
  if (mimeType === null) return null;
  const blobsDir = join(project.dir, 'blobs');
  const file = project.blobPath(hash);
  if (!existsSync(file) || !existsSync(blobsDir)) return null;
  // Resolve symlinks before the containment check so a link inside blobs/ cannot point outside.
  if (!isInside(realpathSync(blobsDir), realpathSync(file))) return null;
  return { file, mimeType };
}

export function servedFile(urlPath: string, rendererDir: string, project: BlobSource | null): ServedFile | null {
  const blob = BLOB_ROUTE.exec(urlPath);
  if (blob) return blobFile(project, blob[1]!);
  if (urlPath.startsWith('/blob/')) return null;
  return rendererFile(rendererDir, urlPath);
}
