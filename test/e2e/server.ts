// The browser-test backend: serves the built renderer (out/renderer) and the very same IPC
// handlers the Electron app registers, over HTTP on 127.0.0.1 (random port). Pages get a small
// shim that provides `window.api` over fetch; responses carry the app's CSP and security headers.
// The folder dialog is answered with whatever the test set via `setPickedFolder`.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { transformWithEsbuild } from 'vite';
import type { EventChannel, EventMap, FolderPurpose } from '../../src/shared/ipc';
import { createApi, type Api } from '../../src/main/api';
import { EngineHost, forkEngineFactory, sourceEngineLaunch } from '../../src/main/engine-host';
import { servedFile } from '../../src/main/api/served-files';
import { securityHeaders } from '../../src/main/app/security-policy';
import { dispatch } from '../../src/main/ipc/dispatch';

export interface HarnessOptions {
  rendererDir: string;
  /** Where the app's own settings (recent projects) go. */
  configDir: string;
  progressIntervalMs?: number;
  /** Start a real engine process (from source) so jobs run, as in the app. */
  withEngine?: boolean;
}

export interface HarnessServer {
  readonly url: string;
  readonly api: Api;
  /** What the next `dialog:pickFolder` answers (null = the user cancelled). */
  setPickedFolder(path: string | null): void;
  /** The purposes the dialog was asked for, in order. */
  readonly pickRequests: FolderPurpose[];
  close(): Promise<void>;
}

const SHIM_PATH = '/__test__/api-shim.js';
// Large enough for a drawn mask of a big image as base64 PNG (the masks:save schema allows 48 MiB).
const MAX_BODY_BYTES = 64 << 20;

async function compileShim(): Promise<string> {
  const source = readFileSync(join(import.meta.dirname, 'api-shim.browser.ts'), 'utf8');
  const { code } = await transformWithEsbuild(source, 'api-shim.browser.ts', { loader: 'ts', target: 'es2022', format: 'iife' });
  return code;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new Error(`request body over ${MAX_BODY_BYTES} bytes`));
        req.destroy();
      } else chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

export async function startHarnessServer(options: HarnessOptions): Promise<HarnessServer> {
  const shim = await compileShim();
  const streams = new Set<ServerResponse>();
  let picked: string | null = null;
  const pickRequests: FolderPurpose[] = [];

  const emit = <E extends EventChannel>(event: E, payload: EventMap[E]): void => {
    const frame = `data: ${JSON.stringify({ event, payload })}\n\n`;
    for (const stream of streams) stream.write(frame);
  };
  const engine = options.withEngine ? new EngineHost(forkEngineFactory(sourceEngineLaunch())) : undefined;
  const api = createApi({
    ...(engine ? { engine } : {}),
    configDir: options.configDir,
    electronVersion: null,
    pickFolder: async (purpose) => {
      pickRequests.push(purpose);
      return picked;
    },
    emit,
    progressIntervalMs: options.progressIntervalMs ?? 0,
  });

  async function handle(req: IncomingMessage, res: ServerResponse, origin: string): Promise<void> {
    const url = new URL(req.url ?? '/', origin);
    // Only our own origin may call the API (no DNS rebinding, no other local page).
    if (req.headers.host !== url.host) {
      res.writeHead(403).end('wrong host');
      return;
    }
    const headers = securityHeaders();
    if (req.method === 'POST' && url.pathname.startsWith('/api/invoke/')) {
      const channel = decodeURIComponent(url.pathname.slice('/api/invoke/'.length));
      let request: unknown;
      try {
        request = JSON.parse(await readBody(req));
      } catch (e) {
        res.writeHead(400, { ...headers, 'Content-Type': 'text/plain' }).end(`bad request body: ${(e as Error).message}`);
        return;
      }
      const reply = await dispatch(api.handlers, channel, request);
      res.writeHead(200, { ...headers, 'Content-Type': 'application/json', 'Cache-Control': 'no-store' }).end(JSON.stringify(reply));
      return;
    }
    if (req.method === 'GET' && url.pathname === '/api/events') {
      res.writeHead(200, { ...headers, 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-store', Connection: 'keep-alive' });
      res.write(': connected\n\n');
      streams.add(res);
      req.on('close', () => streams.delete(res));
      return;
    }
    if (req.method !== 'GET') {
      res.writeHead(405, headers).end();
      return;
    }
    if (url.pathname === SHIM_PATH) {
      res.writeHead(200, { ...headers, 'Content-Type': 'text/javascript; charset=utf-8' }).end(shim);
      return;
    }
    const served = servedFile(url.pathname, options.rendererDir, api.session.blobSource());
    if (!served) {
      res.writeHead(404, { ...headers, 'Content-Type': 'text/plain' }).end('not found');
      return;
    }
    let body: Buffer | string = await readFile(served.file);
    if (served.mimeType.startsWith('text/html')) {
      // The shim is a classic script, so it runs before the page's deferred module script.
      body = body.toString('utf8').replace('</title>', `</title>\n    <script src="${SHIM_PATH}"></script>`);
    }
    res.writeHead(200, { ...headers, 'Content-Type': served.mimeType, 'Cache-Control': 'no-store' }).end(body);
  }

  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;
  server.on('request', (req, res) => {
    handle(req, res, url).catch((e: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'text/plain' });
      res.end(`server error: ${(e as Error).message}`);
    });
  });

  return {
    url,
    api,
    pickRequests,
    setPickedFolder(path) {
      picked = path;
    },
    async close() {
      for (const stream of streams) stream.end();
      await api.close();
      await engine?.dispose();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
