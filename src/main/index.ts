// Electron main entry: one instance, a hardened session and window, the app protocol, the IPC
// handlers (plain-Node logic in ../api) and the application menu.
import { join } from 'node:path';
import { app, BrowserWindow, ipcMain, Menu, protocol, session, utilityProcess } from 'electron';
import { builtEngineLaunch, EngineHost, utilityProcessEngineFactory } from './engine-host';
import type { EventChannel, EventMap } from '../shared/ipc';
import { createApi } from './api';
import { pickFolder } from './app/dialogs';
import { hardenSession, hardenWebContents } from './app/harden';
import { menuTemplate } from './app/menu';
import { APP_SCHEME_PRIVILEGES, registerAppProtocol } from './app/protocol';
import { isAppUrl } from './app/security-policy';
import { createMainWindow } from './app/window';
import { registerIpc } from './ipc/register-electron';

// Set by `electron-vite dev` only; a packaged or previewed app always loads app://defectforge/.
const devServerUrl = !app.isPackaged ? process.env['ELECTRON_RENDERER_URL'] : undefined;
const outDir = join(import.meta.dirname, '..');
const preloadPath = join(outDir, 'preload', 'index.cjs');
const rendererDir = join(outDir, 'renderer');

// Must run before 'ready': the scheme is standard (relative URLs work) and secure (like https).
protocol.registerSchemesAsPrivileged([APP_SCHEME_PRIVILEGES]);

if (!app.requestSingleInstanceLock()) {
  // Another DefectForge is running; it gets 'second-instance' and comes to the front.
  app.quit();
} else {
  let mainWindow: BrowserWindow | null = null;

  const emit = <E extends EventChannel>(event: E, payload: EventMap[E]): void => {
    if (mainWindow && !mainWindow.isDestroyed()) mainWindow.webContents.send(event, payload);
  };
  // The engine (ONNX Runtime and everything that computes) runs in a utilityProcess, so a long
  // run or a native crash never blocks or takes down the window.
  const engine = new EngineHost(utilityProcessEngineFactory(utilityProcess.fork, builtEngineLaunch(join(import.meta.dirname, 'engine.js'))));
  const api = createApi({
    engine,
    configDir: app.getPath('userData'),
    electronVersion: process.versions.electron ?? null,
    pickFolder: (purpose) => pickFolder(mainWindow, purpose),
    emit,
  });

  app.on('second-instance', () => {
    if (!mainWindow) return;
    if (mainWindow.isMinimized()) mainWindow.restore();
    mainWindow.focus();
  });
  app.on('web-contents-created', (_event, contents) => hardenWebContents(contents));

  void app.whenReady().then(() => {
    hardenSession(session.defaultSession, devServerUrl);
    registerAppProtocol(protocol, rendererDir, () => api.session.blobSource());
    registerIpc(ipcMain, api.handlers, (url) => isAppUrl(url, devServerUrl));
    Menu.setApplicationMenu(
      Menu.buildFromTemplate(menuTemplate((command) => emit('app:menuCommand', { command }), { platform: process.platform, dev: !app.isPackaged })),
    );
    const openWindow = (): void => {
      const window = createMainWindow(preloadPath, devServerUrl);
      window.on('closed', () => {
        if (mainWindow === window) mainWindow = null;
      });
      mainWindow = window;
    };
    openWindow();
    // macOS keeps the app alive without windows; clicking the dock icon opens one again.
    app.on('activate', () => {
      if (BrowserWindow.getAllWindows().length === 0) openWindow();
    });
  });

  app.on('window-all-closed', () => {
    if (process.platform !== 'darwin') app.quit();
  });

  // Stop a running import and close the database before exiting, so no write is cut short.
  let closing = false;
  app.on('before-quit', (event) => {
    if (closing) return;
    closing = true;
    event.preventDefault();
    void api
      .close()
      .then(() => engine.dispose())
      .finally(() => app.quit());
  });
}
