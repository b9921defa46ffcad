// The native folder picker behind `dialog:pickFolder`.
import { dialog, type BrowserWindow, type OpenDialogOptions } from 'electron';
import type { FolderPurpose } from '../../shared/ipc';

const TITLES: Record<FolderPurpose, string> = {
  createProject: 'Choose a folder for the new project',
  openProject: 'Open a DefectForge project folder',
  importDataset: 'Choose a dataset folder to import',
};

export async function pickFolder(window: BrowserWindow | null, purpose: FolderPurpose): Promise<string | null> {
  const options: OpenDialogOptions = {
    title: TITLES[purpose],
    properties: purpose === 'createProject' ? ['openDirectory', 'createDirectory', 'promptToCreate'] : ['openDirectory'],
  };
  const result = window ? await dialog.showOpenDialog(window, options) : await dialog.showOpenDialog(options);
  return result.canceled ? null : (result.filePaths[0] ?? null);
}
