// Undo/redo over the whole editing session of one image. Each step keeps only the box it changed,
// before and after, so a brush dab costs a few hundred bytes and an invert one full copy. The
// oldest steps are dropped when the steps together pass the byte budget.
import { copyRegion, isEmptyRect, pasteRegion, type BinaryMask, type Rect } from './raster';

interface Step {
  box: Rect;
  before: Uint8Array;
  after: Uint8Array;
}

export class MaskHistory {
  #undo: Step[] = [];
  #redo: Step[] = [];
  #bytes = 0;

  constructor(private readonly budgetBytes = 256 * 1024 * 1024) {}

  get canUndo(): boolean {
    return this.#undo.length > 0;
  }

  get canRedo(): boolean {
    return this.#redo.length > 0;
  }

  get undoDepth(): number {
    return this.#undo.length;
  }

  /**
   * Records one finished operation: `before` is a full copy of the mask taken when it started,
   * `box` everything it touched. Operations that changed nothing are not recorded.
   */
  record(mask: BinaryMask, before: Uint8Array, box: Rect): boolean {
    const b = mask.clip(box);
    if (isEmptyRect(b)) return false;
    const was = copyRegion(before, mask.width, b);
    const now = copyRegion(mask.data, mask.width, b);
    if (was.every((v, i) => v === now[i])) return false;
    this.#undo.push({ box: b, before: was, after: now });
    this.#bytes += was.length * 2;
    for (const s of this.#redo) this.#bytes -= s.before.length * 2;
    this.#redo = [];
    while (this.#bytes > this.budgetBytes && this.#undo.length > 1) this.#bytes -= this.#undo.shift()!.before.length * 2;
    return true;
  }

  /** Restores the mask before the last step; returns the box that changed, or null. */
  undo(mask: BinaryMask): Rect | null {
    const step = this.#undo.pop();
    if (!step) return null;
    pasteRegion(mask.data, mask.width, step.box, step.before);
    this.#redo.push(step);
    return step.box;
  }

  redo(mask: BinaryMask): Rect | null {
    const step = this.#redo.pop();
    if (!step) return null;
    pasteRegion(mask.data, mask.width, step.box, step.after);
    this.#undo.push(step);
    return step.box;
  }
}
