import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { APP_ORIGIN, contentSecurityPolicy, isAppUrl, mainWindowOptions, securityHeaders } from '../../../src/main/app/security-policy';

const root = join(import.meta.dirname, '..', '..', '..');

function directives(csp: string): Map<string, string> {
  return new Map(csp.split(';').map((d) => d.trim()).filter(Boolean).map((d) => {
    const [name, ...values] = d.split(/\s+/);
    return [name!, values.join(' ')];
  }));
}

test('the window is isolated, sandboxed and has no Node integration', () => {
  const options = mainWindowOptions('/app/out/preload/index.cjs');
  const web = options.webPreferences!;
  assert.equal(web.contextIsolation, true);
  assert.equal(web.sandbox, true);
  assert.equal(web.nodeIntegration, false);
  assert.equal(web.nodeIntegrationInWorker, false);
  assert.equal(web.nodeIntegrationInSubFrames, false);
  assert.equal(web.webSecurity, true);
  assert.equal(web.allowRunningInsecureContent, false);
  assert.equal(web.webviewTag, false);
  assert.equal(web.experimentalFeatures, false);
  assert.equal(web.preload, '/app/out/preload/index.cjs');
});

test('the production CSP allows only our own scripts: no inline, no eval, no remote hosts', () => {
  const csp = directives(contentSecurityPolicy());
  assert.equal(csp.get('default-src'), "'self'");
  assert.equal(csp.get('script-src'), "'self'");
  assert.equal(csp.get('style-src'), "'self'");
  assert.equal(csp.get('object-src'), "'none'");
  assert.equal(csp.get('frame-ancestors'), "'none'");
  const all = contentSecurityPolicy();
  assert.doesNotMatch(all, /unsafe-inline|unsafe-eval|https?:|\*/);
});

test('only the dev variant relaxes styles and the HMR socket, and the meta variant drops frame-ancestors', () => {
  const dev = directives(contentSecurityPolicy({ dev: true }));
  assert.equal(dev.get('script-src'), "'self'", 'scripts stay strict even in development');
  assert.match(dev.get('style-src')!, /'unsafe-inline'/);
  assert.match(dev.get('connect-src')!, /ws:\/\/localhost/);
  assert.equal(directives(contentSecurityPolicy({ forMeta: true })).has('frame-ancestors'), false);
});

test("index.html's meta tag holds exactly the production CSP", () => {
  const html = readFileSync(join(root, 'src', 'renderer', 'index.html'), 'utf8');
  const meta = /<meta http-equiv="Content-Security-Policy" content="([^"]+)"/.exec(html);
  assert.ok(meta, 'index.html has a CSP meta tag');
  assert.equal(meta[1], contentSecurityPolicy({ forMeta: true }));
  assert.doesNotMatch(html, /<script(?![^>]*\bsrc=)[^>]*>/, 'index.html has no inline script');
});

test('response headers carry the CSP and nosniff', () => {
  const headers = securityHeaders();
  assert.equal(headers['Content-Security-Policy'], contentSecurityPolicy());
  assert.equal(headers['X-Content-Type-Options'], 'nosniff');
});

test('only our origin (and the dev server when set) counts as the app', () => {
  assert.equal(isAppUrl(`${APP_ORIGIN}/index.html`, undefined), true);
  assert.equal(isAppUrl('app://elsewhere/index.html', undefined), false);
  assert.equal(isAppUrl('https://example.com/', undefined), false);
  assert.equal(isAppUrl('file:///etc/passwd', undefined), false);
  assert.equal(isAppUrl('http://localhost:5173/src/main.ts', undefined), false);
  assert.equal(isAppUrl('http://localhost:5173/src/main.ts', 'http://localhost:5173/'), true);
  assert.equal(isAppUrl('http://localhost:5174/', 'http://localhost:5173/'), false);
  assert.equal(isAppUrl('not a url', undefined), false);
});
