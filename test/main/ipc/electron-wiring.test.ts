// The Electron-facing modules import only types from electron, so their wiring is tested here
// with small fakes of Session, WebContents and ipcMain (the Electron binary cannot run in CI).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { IpcMain, MenuItemConstructorOptions, Session, WebContents } from 'electron';
import { INVOKE_CHANNELS, type MenuCommand } from '../../../src/shared/ipc';
import { hardenSession, hardenWebContents } from '../../../src/main/app/harden';
import { menuTemplate } from '../../../src/main/app/menu';
import { APP_ORIGIN, contentSecurityPolicy, isAppUrl } from '../../../src/main/app/security-policy';
import type { Handlers } from '../../../src/main/ipc/dispatch';
import { registerIpc } from '../../../src/main/ipc/register-electron';

type Fn = (...args: never[]) => unknown;

function fakeSession() {
  const hooks: Record<string, Fn> = {};
  let beforeRequestFilter: { urls: string[] } | undefined;
  const session = {
    webRequest: {
      onHeadersReceived: (fn: Fn) => (hooks['headers'] = fn),
      onBeforeRequest: (filter: { urls: string[] }, fn: Fn) => {
        beforeRequestFilter = filter;
        hooks['request'] = fn;
      },
    },
    setPermissionRequestHandler: (fn: Fn) => (hooks['permissionRequest'] = fn),
    setPermissionCheckHandler: (fn: Fn) => (hooks['permissionCheck'] = fn),
    setDevicePermissionHandler: (fn: Fn) => (hooks['devicePermission'] = fn),
  };
  return { session: session as unknown as Session, hooks, filter: () => beforeRequestFilter };
}

test('the session adds the CSP header, refuses every permission and cancels foreign requests', () => {
  const { session, hooks, filter } = fakeSession();
  hardenSession(session, undefined);

  let headersOut: Record<string, string[]> = {};
  (hooks['headers'] as (d: unknown, cb: (r: { responseHeaders: Record<string, string[]> }) => void) => void)(
    { responseHeaders: { 'Content-Type': ['text/html'] } },
    (r) => (headersOut = r.responseHeaders),
  );
  assert.deepEqual(headersOut['Content-Security-Policy'], [contentSecurityPolicy()]);
  assert.deepEqual(headersOut['Content-Type'], ['text/html']);

  let granted: boolean | undefined;
  (hooks['permissionRequest'] as (w: unknown, p: string, cb: (ok: boolean) => void) => void)(null, 'media', (ok) => (granted = ok));
  assert.equal(granted, false);
  assert.equal((hooks['permissionCheck'] as () => boolean)(), false);
  assert.equal((hooks['devicePermission'] as () => boolean)(), false);

  assert.ok(filter()!.urls.includes('https://*/*'));
  const decide = (url: string) => {
    let cancel: boolean | undefined;
    (hooks['request'] as (d: { url: string }, cb: (r: { cancel: boolean }) => void) => void)({ url }, (r) => (cancel = r.cancel));
    return cancel;
  };
  assert.equal(decide('https://example.com/tracker.js'), true);
  assert.equal(decide('file:///etc/passwd'), true);
});

test('under the dev server only its origin gets through, with the dev CSP', () => {
  const { session, hooks } = fakeSession();
  hardenSession(session, 'http://localhost:5173/');
  let cancel: boolean | undefined;
  (hooks['request'] as (d: { url: string }, cb: (r: { cancel: boolean }) => void) => void)({ url: 'http://localhost:5173/src/main.ts' }, (r) => (cancel = r.cancel));
  assert.equal(cancel, false);
  let headersOut: Record<string, string[]> = {};
  (hooks['headers'] as (d: unknown, cb: (r: { responseHeaders: Record<string, string[]> }) => void) => void)({ responseHeaders: {} }, (r) => (headersOut = r.responseHeaders));
  assert.deepEqual(headersOut['Content-Security-Policy'], [contentSecurityPolicy({ dev: true })]);
});

test('web contents never navigate, never open windows, never attach webviews', () => {
  const listeners: Record<string, Fn> = {};
  let openHandler: Fn | undefined;
  const contents = {
    on: (name: string, fn: Fn) => (listeners[name] = fn),
    setWindowOpenHandler: (fn: Fn) => (openHandler = fn),
  } as unknown as WebContents;
  hardenWebContents(contents);
  for (const name of ['will-navigate', 'will-attach-webview']) {
    let prevented = false;
    (listeners[name] as (e: { preventDefault(): void }, url: string) => void)({ preventDefault: () => (prevented = true) }, `${APP_ORIGIN}/other`);
    assert.equal(prevented, true, name);
  }
  let redirectPrevented = false;
  (listeners['will-redirect'] as (e: { preventDefault(): void }, url: string) => void)({ preventDefault: () => (redirectPrevented = true) }, 'https://evil.example/');
  assert.equal(redirectPrevented, true);
  assert.deepEqual((openHandler as () => unknown)(), { action: 'deny' });
});

test('ipcMain: every channel is registered and frames other than our top-level page are refused', async () => {
  const registered = new Map<string, Fn>();
  const ipcMain = { handle: (c: string, fn: Fn) => registered.set(c, fn), removeHandler: (c: string) => registered.delete(c) } as unknown as IpcMain;
  const handlers = { 'app:info': () => ({ name: 'DefectForge' }) } as unknown as Handlers;
  const unregister = registerIpc(ipcMain, handlers, (url) => isAppUrl(url, undefined));
  assert.deepEqual([...registered.keys()].sort(), [...INVOKE_CHANNELS].sort());

  const invoke = (frame: unknown) => (registered.get('app:info') as (e: unknown, r: unknown) => unknown)({ senderFrame: frame }, {});
  assert.deepEqual(await invoke({ url: `${APP_ORIGIN}/`, parent: null }), { result: { name: 'DefectForge' } });
  const fromIframe = (await invoke({ url: `${APP_ORIGIN}/`, parent: {} })) as { error: { code: string } };
  assert.equal(fromIframe.error.code, 'FORBIDDEN');
  const fromElsewhere = (await invoke({ url: 'https://evil.example/', parent: null })) as { error: { code: string } };
  assert.equal(fromElsewhere.error.code, 'FORBIDDEN');
  assert.equal(((await invoke(null)) as { error: { code: string } }).error.code, 'FORBIDDEN');

  unregister();
  assert.equal(registered.size, 0);
});

test('the File menu forwards project commands; reload and devtools only in development', () => {
  const sent: MenuCommand[] = [];
  const template = menuTemplate((c) => sent.push(c), { platform: 'linux', dev: false });
  const file = template.find((m) => m.label === '&File')!.submenu as MenuItemConstructorOptions[];
  for (const item of file) (item.click as (() => void) | undefined)?.();
  assert.deepEqual(sent, ['createProject', 'openProject', 'importDataset']);
  const roles = (t: MenuItemConstructorOptions[]) => (t.find((m) => m.label === '&View')!.submenu as MenuItemConstructorOptions[]).map((i) => i.role);
  assert.ok(!roles(template).includes('toggleDevTools'));
  assert.ok(roles(menuTemplate(() => {}, { platform: 'linux', dev: true })).includes('toggleDevTools'));
  assert.equal(menuTemplate(() => {}, { platform: 'darwin', dev: false })[0]!.role, 'appMenu');
});
