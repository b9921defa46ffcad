// Defect types with their settings, and the edits on them. Each failed edit keeps its message
// under the type (or the create form) where the user acted.
import { SvelteMap } from 'svelte/reactivity';
import type { DefectTypeDetail, ForegroundKind, MaskSourceKind } from '../../shared/ipc';
import { call } from '../lib/api';
import { refreshInfo } from './project.svelte';

const state = $state<{ types: DefectTypeDetail[]; loaded: boolean }>({ types: [], loaded: false });
export const typesState: { readonly types: DefectTypeDetail[]; readonly loaded: boolean } = state;
/** Error per type id; key 0 is the create form. */
export const typeErrors = new SvelteMap<number, string>();

export async function loadTypes(): Promise<void> {
  try {
    state.types = await call('types:list', {});
    state.loaded = true;
    typeErrors.delete(0);
  } catch (e) {
    typeErrors.set(0, e instanceof Error ? e.message : String(e));
  }
}

async function edit(key: number, action: () => Promise<unknown>): Promise<boolean> {
  try {
    await action();
    typeErrors.delete(key);
    await loadTypes();
    await refreshInfo();
    return true;
  } catch (e) {
    typeErrors.set(key, e instanceof Error ? e.message : String(e));
    return false;
  }
}

export const createType = (category: string, name: string) => edit(0, () => call('types:create', { category, name }));
export const renameType = (id: number, name: string) => edit(id, () => call('types:rename', { id, name }));
export const mergeType = (sourceId: number, targetId: number) => edit(sourceId, () => call('types:merge', { sourceId, targetId }));
export const setTrainCount = (id: number, trainCount: number | null) => edit(id, () => call('types:setTrainCount', { id, trainCount }));
export const setAar = (id: number, aar: boolean) => edit(id, () => call('types:setSettings', { id, aar }));
export const setColor = (id: number, color: string) => edit(id, () => call('types:setSettings', { id, color }));
export const setMaskSource = (id: number, maskSource: MaskSourceKind) => edit(id, () => call('types:setSettings', { id, maskSource }));
export const setForeground = (id: number, foreground: ForegroundKind) => edit(id, () => call('types:setSettings', { id, foreground }));
