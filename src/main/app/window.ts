// Creates the main window with the options of security-policy.ts and loads the renderer from the
// app protocol (or the Vite dev server under `electron-vite dev`).
import { BrowserWindow } from 'electron';
import { APP_ORIGIN, mainWindowOptions } from './security-policy';

export function createMainWindow(preloadPath: string, devServerUrl: string | undefined): BrowserWindow {
  const window = new BrowserWindow(mainWindowOptions(preloadPath));
  window.once('ready-to-show', () => window.show());
  void window.loadURL(devServerUrl ?? `${APP_ORIGIN}/`);
  return window;
}
