// The open project (its folder and ProjectInfo) and the recent-projects list, with the actions
// that change them. Every failure lands in the error banner.
import type { ProjectInfo } from '../../shared/dto';
import type { OpenedProject, RecentProject } from '../../shared/ipc';
import { call } from '../lib/api';
import { clearError, showError } from './errors.svelte';

const state = $state<{ opened: OpenedProject | null; recent: RecentProject[]; busy: boolean }>({
  opened: null,
  recent: [],
  busy: false,
});

export const projectState: { readonly opened: OpenedProject | null; readonly recent: RecentProject[]; readonly busy: boolean } = state;

async function guarded(action: () => Promise<void>): Promise<void> {
  if (state.busy) return;
  state.busy = true;
  clearError();
  try {
    await action();
  } catch (e) {
    showError(e);
  } finally {
    state.busy = false;
  }
}

export function loadRecent(): Promise<void> {
  return guarded(async () => {
    state.recent = await call('project:recent', {});
  });
}

export function createProjectViaDialog(): Promise<void> {
  return guarded(async () => {
    const { path } = await call('dialog:pickFolder', { purpose: 'createProject' });
    if (path === null) return;
    state.opened = await call('project:create', { dir: path });
    state.recent = await call('project:recent', {});
  });
}

export function openProjectAt(dir: string): Promise<void> {
  return guarded(async () => {
    state.opened = await call('project:open', { dir });
    state.recent = await call('project:recent', {});
  });
}

export function openProjectViaDialog(): Promise<void> {
  return guarded(async () => {
    const { path } = await call('dialog:pickFolder', { purpose: 'openProject' });
    if (path === null) return;
    state.opened = await call('project:open', { dir: path });
    state.recent = await call('project:recent', {});
  });
}

/** Re-reads the counts after something changed them (an import). */
export async function refreshInfo(): Promise<void> {
  const opened = state.opened;
  if (!opened) return;
  const info: ProjectInfo = await call('project:info', {});
  state.opened = { dir: opened.dir, info };
}

/** Back to the start screen; the project stays open in main until another one is opened. */
export function leaveProject(): void {
  state.opened = null;
  void loadRecent();
}
