// The application menu. Project commands need the renderer's state and its dialogs, so the menu
// only forwards them as `app:menuCommand` events; the standard roles do the rest.
import type { MenuItemConstructorOptions } from 'electron';
import type { MenuCommand } from '../../shared/ipc';

export function menuTemplate(
  send: (command: MenuCommand) => void,
  opts: { platform: NodeJS.Platform; dev: boolean },
): MenuItemConstructorOptions[] {
  const isMac = opts.platform === 'darwin';
  const fileMenu: MenuItemConstructorOptions = {
    label: '&File',
    submenu: [
      { label: 'New Project…', accelerator: 'CmdOrCtrl+N', click: () => send('createProject') },
      { label: 'Open Project…', accelerator: 'CmdOrCtrl+O', click: () => send('openProject') },
      { label: 'Import Dataset…', accelerator: 'CmdOrCtrl+I', click: () => send('importDataset') },
      { type: 'separator' },
      isMac ? { role: 'close' } : { role: 'quit' },
    ],
  };
  const viewItems: MenuItemConstructorOptions[] = [
    { role: 'resetZoom' },
    { role: 'zoomIn' },
    { role: 'zoomOut' },
    { type: 'separator' },
    { role: 'togglefullscreen' },
  ];
  if (opts.dev) viewItems.unshift({ role: 'reload' }, { role: 'toggleDevTools' }, { type: 'separator' });
  return [
    ...(isMac ? [{ role: 'appMenu' } as MenuItemConstructorOptions] : []),
    fileMenu,
    { role: 'editMenu' },
    { label: '&View', submenu: viewItems },
    { role: 'windowMenu' },
  ];
}
