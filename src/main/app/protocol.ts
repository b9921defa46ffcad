// Serves the built renderer and the open project's blobs on app://defectforge/. Which file answers
// a path (and the refusal of anything outside the renderer folder and the open project) is decided
// by the plain-Node `servedFile`, the same function the browser-test server uses.
import { readFile } from 'node:fs/promises';
import type { Protocol } from 'electron';
import type { BlobSource } from '../api/served-files';
import { servedFile } from '../api/served-files';
import { APP_HOST, APP_SCHEME, securityHeaders } from './security-policy';

export const APP_SCHEME_PRIVILEGES = {
  scheme: APP_SCHEME,
  privileges: { standard: true, secure: true, supportFetchAPI: true },
};

export function registerAppProtocol(protocol: Protocol, rendererDir: string, blobSource: () => BlobSource | null): void {
  protocol.handle(APP_SCHEME, async (request) => {
    const url = new URL(request.url);
    const served = url.host === APP_HOST && request.method === 'GET' ? servedFile(url.pathname, rendererDir, blobSource()) : null;
    if (!served) return new Response('Not found', { status: 404, headers: securityHeaders() });
    const body = await readFile(served.file);
    return new Response(body, { status: 200, headers: { ...securityHeaders(), 'Content-Type': served.mimeType } });
  });
}
