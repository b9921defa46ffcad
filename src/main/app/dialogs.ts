// The native folder picker behind `dialog:pickFolder`.
import { dialog, type BrowserWindow, type OpenDialogOptions, type SaveDialogOptions } from 'electron';
import type { FolderPurpose } from '../../shared/ipc';

const TITLES: Record<FolderPurpose, string> = {
  createProject: 'Choose a folder for the new project',
  openProject: 'Open a DefectForge project folder',
  importDataset: 'Choose a dataset folder to import',
  model: 'Choose a model folder (a DefectForge model package)',
  augmentOutput: 'Name the new folder for the augmented dataset',
};

/**
 * An augmentation export never writes into an existing folder (the exporter refuses one), so its
 * destination is asked for with a save dialog: the user names a NEW folder where it should go. An
 * existing name still reaches the exporter, which refuses it with its own message.
 */
async function pickNewFolder(window: BrowserWindow | null, title: string): Promise<string | null> {
  const options: SaveDialogOptions = { title, buttonLabel: 'Choose', properties: ['createDirectory'] };
  const result = window ? await dialog.showSaveDialog(window, options) : await dialog.showSaveDialog(options);
  return result.canceled || !result.filePath ? null : result.filePath;
}

export async function pickFolder(window: BrowserWindow | null, purpose: FolderPurpose): Promise<string | null> {
  if (purpose === 'augmentOutput') return pickNewFolder(window, TITLES[purpose]);
  const options: OpenDialogOptions = {
    title: TITLES[purpose],
    properties: purpose === 'createProject' ? ['openDirectory', 'createDirectory', 'promptToCreate'] : ['openDirectory'],
  };
  const result = window ? await dialog.showOpenDialog(window, options) : await dialog.showOpenDialog(options);
  return result.canceled ? null : (result.filePaths[0] ?? null);
}
