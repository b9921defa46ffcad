// The window's security settings as plain data, so tests can assert them without Electron:
// the BrowserWindow options (isolated, sandboxed, no Node in the page), the Content Security
// Policy (sent as a response header AND written in index.html's meta tag) and the app's origin.
// Only a type is imported from electron (erased at compile time): this module never loads it.
import type { BrowserWindowConstructorOptions } from 'electron';

/** The renderer is served from this privileged custom scheme, so 'self' means our files only. */
export const APP_SCHEME = 'app';
export const APP_HOST = 'defectforge';
export const APP_ORIGIN = `${APP_SCHEME}://${APP_HOST}`;

export interface CspOptions {
  /**
   * Vite's dev server injects component styles as <style> elements and talks to the page over a
   * websocket; only `electron-vite dev` gets these two relaxations, never a build.
   */
  dev?: boolean;
  /** frame-ancestors is ignored (with a console warning) in a meta tag, so the meta variant omits it. */
  forMeta?: boolean;
}

export function contentSecurityPolicy(opts: CspOptions = {}): string {
  const directives: [string, string][] = [
    ['default-src', "'self'"],
    ['script-src', "'self'"],
    ['style-src', opts.dev ? "'self' 'unsafe-inline'" : "'self'"],
    // blob:/data: let the later mask editor show canvases and thumbnails it creates itself.
    ['img-src', "'self' blob: data:"],
    ['font-src', "'self'"],
    ['connect-src', opts.dev ? "'self' ws://localhost:* ws://127.0.0.1:*" : "'self'"],
    ['worker-src', "'self'"],
    ['object-src', "'none'"],
    ['base-uri', "'none'"],
    ['form-action', "'none'"],
  ];
  if (!opts.forMeta) directives.push(['frame-ancestors', "'none'"]);
  return directives.map(([name, value]) => `${name} ${value}`).join('; ');
}

/** Headers on every response of the app's origin (Electron protocol and the test server alike). */
export function securityHeaders(opts: CspOptions = {}): Record<string, string> {
  return {
    'Content-Security-Policy': contentSecurityPolicy({ ...opts, forMeta: false }),
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'no-referrer',
    'Cross-Origin-Opener-Policy': 'same-origin',
  };
}

export function mainWindowOptions(preloadPath: string): BrowserWindowConstructorOptions {
  return {
    width: 1280,
    height: 820,
    minWidth: 820,
    minHeight: 560,
    show: false, // shown on 'ready-to-show' to avoid a white flash
    title: 'DefectForge',
    backgroundColor: '#1b1d21',
    webPreferences: {
      preload: preloadPath,
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      experimentalFeatures: false,
      webviewTag: false,
      navigateOnDragDrop: false,
      safeDialogs: true,
      spellcheck: false,
    },
  };
}

/** Whether the app may load this URL at all: its own origin, or the dev server in development. */
export function isAppUrl(url: string, devServerUrl: string | undefined): boolean {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return false;
  }
  if (parsed.protocol === `${APP_SCHEME}:` && parsed.host === APP_HOST) return true;
  // devtools:// and chrome-extension:// are Chromium's own (DevTools in development builds).
  if (parsed.protocol === 'devtools:' || parsed.protocol === 'chrome-extension:') return true;
  if (devServerUrl) {
    try {
      return parsed.origin === new URL(devServerUrl).origin;
    } catch {
      return false;
    }
  }
  return false;
}
