// A dataset import from the renderer's side: the chosen layout, live progress (events from main)
// and the final report with every rejected file and its reason.
import type { ImportReport } from '../../shared/dto';
import type { ImportLayoutChoice, ImportProgress } from '../../shared/ipc';
import { call, listen } from '../lib/api';
import { clearError, showError } from './errors.svelte';
import { refreshInfo } from './project.svelte';

const state = $state<{ layout: ImportLayoutChoice; running: boolean; progress: ImportProgress | null; report: ImportReport | null }>({
  layout: 'auto',
  running: false,
  progress: null,
  report: null,
});

export const importState: {
  readonly layout: ImportLayoutChoice;
  readonly running: boolean;
  readonly progress: ImportProgress | null;
  readonly report: ImportReport | null;
} = state;

export function setLayout(layout: ImportLayoutChoice): void {
  state.layout = layout;
}

export function clearReport(): void {
  state.report = null;
}

export async function importViaDialog(): Promise<void> {
  if (state.running) return;
  clearError();
  let stop: (() => void) | null = null;
  try {
    const { path } = await call('dialog:pickFolder', { purpose: 'importDataset' });
    if (path === null) return;
    // Listen before the import starts so no progress event is missed.
    state.running = true;
    state.progress = null;
    state.report = null;
    stop = listen('dataset:importProgress', (progress) => {
      state.progress = progress;
    });
    state.report = await call('dataset:import', { folder: path, layout: state.layout });
    await refreshInfo();
  } catch (e) {
    showError(e);
  } finally {
    stop?.();
    state.running = false;
  }
}
