// Which image of the browser's current order the viewer shows (null = the grid is shown), and
// whether it is being edited. Next/previous walk the same filtered, sorted order as the grid.
import { browserState, fetchItemAt, setFocus } from './browser.svelte';

const state = $state<{ index: number | null; imageId: number | null; editing: boolean }>({ index: null, imageId: null, editing: false });

export const viewerState: { readonly index: number | null; readonly imageId: number | null; readonly editing: boolean } = state;

export async function openAt(index: number, editing = false): Promise<void> {
  const item = await fetchItemAt(index);
  if (!item) return;
  state.index = index;
  state.imageId = item.id;
  state.editing = editing;
  setFocus(index);
}

/** Moves by `step` in the grid's order; false at either end. */
export async function step(step: number): Promise<boolean> {
  if (state.index === null || browserState.total === null) return false;
  const next = state.index + step;
  if (next < 0 || next >= browserState.total) return false;
  const editing = state.editing;
  await openAt(next, editing);
  return true;
}

export function setEditing(editing: boolean): void {
  state.editing = editing;
}

export function closeViewer(): void {
  state.index = null;
  state.imageId = null;
  state.editing = false;
}
