// Applies the security policy to Electron: CSP and other headers on every response, every
// permission refused, requests to anything but the app's own origin (or the dev server) cancelled,
// and navigation, new windows and <webview> blocked in every web contents.
import type { Session, WebContents } from 'electron';
import { isAppUrl, securityHeaders } from './security-policy';

// Everything a page could reach on the network or disk outside our custom protocol.
const EXTERNAL_URL_PATTERNS = ['http://*/*', 'https://*/*', 'ws://*/*', 'wss://*/*', 'file://*/*'];

export function hardenSession(session: Session, devServerUrl: string | undefined): void {
  const headers = securityHeaders({ dev: devServerUrl !== undefined });
  session.webRequest.onHeadersReceived((details, callback) => {
    const responseHeaders = { ...details.responseHeaders };
    for (const [name, value] of Object.entries(headers)) responseHeaders[name] = [value];
    callback({ responseHeaders });
  });
  session.webRequest.onBeforeRequest({ urls: EXTERNAL_URL_PATTERNS }, (details, callback) => {
    callback({ cancel: !isAppUrl(details.url, devServerUrl) });
  });
  session.setPermissionRequestHandler((_contents, _permission, callback) => callback(false));
  session.setPermissionCheckHandler(() => false);
  session.setDevicePermissionHandler(() => false);
}

export function hardenWebContents(contents: WebContents): void {
  // The renderer is a single page: it never navigates, so any navigation is an attack or a bug
  // (a dropped file, a link); external links are not opened either (no remote content).
  contents.on('will-navigate', (event) => event.preventDefault());
  contents.on('will-redirect', (event, url) => {
    if (!isAppUrl(url, undefined)) event.preventDefault();
  });
  contents.on('will-attach-webview', (event) => event.preventDefault());
  contents.setWindowOpenHandler(() => ({ action: 'deny' }));
}
