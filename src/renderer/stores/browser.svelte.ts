// The dataset browser's state: filters and sort, the total, the pages of the result loaded so far
// (the grid asks only for what it shows), thumbnail hashes, the selection and the keyboard focus.
// Results of an older query are dropped when they arrive late (`generation`).
import { SvelteMap, SvelteSet } from 'svelte/reactivity';
import type { ImageFilter, ImageListItem, ImageSort } from '../../shared/ipc';
import { call } from '../lib/api';

export const PAGE_SIZE = 200;
const THUMB_BATCH_DELAY_MS = 30;
const THUMBS_PER_CALL = 500;

const state = $state<{
  filter: ImageFilter;
  sort: ImageSort;
  descending: boolean;
  total: number | null;
  focus: number;
  anchor: number;
  error: string | null;
}>({ filter: {}, sort: 'added', descending: false, total: null, focus: -1, anchor: -1, error: null });

export const browserState: {
  readonly filter: ImageFilter;
  readonly sort: ImageSort;
  readonly descending: boolean;
  readonly total: number | null;
  readonly focus: number;
  readonly error: string | null;
} = state;

const pages = new SvelteMap<number, ImageListItem[]>();
const thumbs = new SvelteMap<number, string>();
export const selection = new SvelteSet<number>();
let generation = 0;
// Request bookkeeping only, never shown: deliberately plain (non-reactive) sets, so asking for a
// page or a thumbnail while rendering does not make the grid re-render.
/* eslint-disable svelte/prefer-svelte-reactivity */
const requested = new Set<number>();
const thumbQueue = new Set<number>();
const thumbsAsked = new Set<number>();
/* eslint-enable svelte/prefer-svelte-reactivity */
let thumbTimer: ReturnType<typeof setTimeout> | null = null;

async function loadPage(page: number): Promise<void> {
  if (requested.has(page)) return;
  requested.add(page);
  const gen = generation;
  try {
    const result = await call('images:list', { ...state.filter, sort: state.sort, descending: state.descending, offset: page * PAGE_SIZE, limit: PAGE_SIZE });
    if (gen !== generation) return;
    state.total = result.total;
    pages.set(page, result.items);
    state.error = null;
  } catch (e) {
    requested.delete(page);
    if (gen === generation) state.error = e instanceof Error ? e.message : String(e);
  }
}

/** Drops everything loaded and asks again (filters changed, or the data did). */
export async function reload(): Promise<void> {
  generation++;
  pages.clear();
  requested.clear();
  selection.clear();
  state.focus = -1;
  state.anchor = -1;
  await loadPage(0);
}

/** Re-reads the loaded pages in place (after a save), keeping selection and focus. */
export async function refreshLoaded(): Promise<void> {
  const loaded = [...pages.keys()];
  generation++;
  requested.clear();
  await Promise.all(loaded.map((p) => loadPage(p)));
}

export function setFilter(patch: Partial<Record<keyof ImageFilter, ImageFilter[keyof ImageFilter] | undefined>>): Promise<void> {
  const next: Record<string, unknown> = { ...state.filter };
  for (const [key, value] of Object.entries(patch)) {
    if (value === undefined) delete next[key];
    else next[key] = value;
  }
  state.filter = next as ImageFilter;
  return reload();
}

export function setSort(sort: ImageSort, descending: boolean): Promise<void> {
  state.sort = sort;
  state.descending = descending;
  return reload();
}

/** The item at a position of the current order, or undefined while its page loads. */
export function itemAt(index: number): ImageListItem | undefined {
  const page = Math.floor(index / PAGE_SIZE);
  const items = pages.get(page);
  if (!items) {
    void loadPage(page);
    return undefined;
  }
  return items[index - page * PAGE_SIZE];
}

/** The item at a position, waiting for its page when needed. */
export async function fetchItemAt(index: number): Promise<ImageListItem | undefined> {
  const page = Math.floor(index / PAGE_SIZE);
  if (!pages.has(page)) {
    requested.delete(page);
    await loadPage(page);
  }
  return pages.get(page)?.[index - page * PAGE_SIZE];
}

/** Loads the pages covering [from, to) (what the grid is about to show). */
export function ensureRange(from: number, to: number): void {
  if (state.total === null) return;
  const last = Math.min(to, state.total) - 1;
  for (let page = Math.floor(Math.max(0, from) / PAGE_SIZE); page <= Math.floor(last / PAGE_SIZE); page++) void loadPage(page);
}

export function thumbnailOf(id: number): string | undefined {
  const hash = thumbs.get(id);
  if (hash === undefined && !thumbsAsked.has(id)) {
    thumbQueue.add(id);
    thumbTimer ??= setTimeout(flushThumbs, THUMB_BATCH_DELAY_MS);
  }
  return hash;
}

async function flushThumbs(): Promise<void> {
  thumbTimer = null;
  const ids = [...thumbQueue].slice(0, THUMBS_PER_CALL);
  for (const id of ids) {
    thumbQueue.delete(id);
    thumbsAsked.add(id);
  }
  if (thumbQueue.size > 0) thumbTimer = setTimeout(flushThumbs, 0);
  if (ids.length === 0) return;
  try {
    const { thumbnails } = await call('images:thumbnails', { ids });
    for (const t of thumbnails) thumbs.set(t.id, t.hash);
  } catch {
    // asked again when the cell is shown next time
    for (const id of ids) thumbsAsked.delete(id);
  }
}

/** Forgets thumbnails and pages (another project was opened). */
export function resetBrowser(): void {
  thumbs.clear();
  thumbsAsked.clear();
  thumbQueue.clear();
  state.filter = {};
  state.total = null;
  void reload();
}

// ---- selection and focus ---------------------------------------------------------------------

export function setFocus(index: number): void {
  if (state.total === null || state.total === 0) return;
  state.focus = Math.max(0, Math.min(state.total - 1, index));
}

async function idsInRange(from: number, to: number): Promise<number[]> {
  const ids: number[] = [];
  for (let i = from; i <= to; i++) {
    const item = itemAt(i) ?? (await fetchItemAt(i));
    if (item) ids.push(item.id);
  }
  return ids;
}

/**
 * Selection as file managers do it: a plain click selects one, Ctrl/Cmd toggles one, Shift
 * selects the range from the anchor (keeping the rest with Ctrl/Cmd).
 */
export async function selectAt(index: number, mode: { shift: boolean; toggle: boolean }): Promise<void> {
  const item = itemAt(index) ?? (await fetchItemAt(index));
  if (!item) return;
  setFocus(index);
  if (mode.shift && state.anchor >= 0) {
    const ids = await idsInRange(Math.min(state.anchor, index), Math.max(state.anchor, index));
    if (!mode.toggle) selection.clear();
    for (const id of ids) selection.add(id);
    return;
  }
  state.anchor = index;
  if (mode.toggle) {
    if (selection.has(item.id)) selection.delete(item.id);
    else selection.add(item.id);
  } else {
    selection.clear();
    selection.add(item.id);
  }
}

export async function selectAll(): Promise<void> {
  if (state.total === null) return;
  const ids = await idsInRange(0, state.total - 1);
  for (const id of ids) selection.add(id);
}

export function clearSelection(): void {
  selection.clear();
}
