// One image's editing session: the working mask, its undo history and the tools that paint it.
// Pointer positions arrive in image pixels (the viewport converts), so every tool rasterises at
// the image's resolution. The component shows changes (`changed`) and saves drafts (`committed`).
import { MaskHistory } from './history';
import {
  bucketFill,
  clearMask,
  effectiveRadius,
  fillPolygon,
  fillRect,
  invertMask,
  magicWand,
  stampSegment,
  unionRect,
  type BinaryMask,
  type Point,
  type Rect,
} from './raster';

export type Tool = 'brush' | 'eraser' | 'polygon' | 'rect' | 'wand' | 'fill';
export const TOOLS: readonly Tool[] = ['brush', 'eraser', 'polygon', 'rect', 'wand', 'fill'];

export const MIN_BRUSH = 1;
export const MAX_BRUSH = 500;
/** A click this close (in screen pixels) to the first vertex closes the polygon. */
export const CLOSE_DISTANCE_PX = 8;

export interface SessionEvents {
  /** Pixels in `box` changed (show them). */
  changed(box: Rect): void;
  /** An operation finished and is in the history (save a draft). */
  committed(): void;
}

export class EditSession {
  readonly history = new MaskHistory();
  /** Brush diameter in image pixels. */
  brushSize = 24;
  /** 0..1; see effectiveRadius. */
  hardness = 1;
  /** Magic-wand colour tolerance, 0..255 per channel. */
  tolerance = 24;
  /** Counts finished operations, undos and redos; compared with the saved revision for "unsaved". */
  revision = 0;
  polygon: Point[] = [];
  rectStart: Point | null = null;
  #before: Uint8Array | null = null;
  #box: Rect | null = null;
  #last: Point | null = null;
  #strokeValue: 0 | 1 = 1;

  constructor(
    readonly mask: BinaryMask,
    private readonly imageRgba: Uint8ClampedArray,
    private readonly events: SessionEvents,
  ) {}

  get stroking(): boolean {
    return this.#before !== null && this.#last !== null;
  }

  get radius(): number {
    return effectiveRadius(this.brushSize / 2, this.hardness);
  }

  #begin(): void {
    this.#before = this.mask.data.slice();
    this.#box = null;
  }

  #touch(box: Rect): void {
    this.#box = unionRect(this.#box, box);
    this.events.changed(box);
  }

  #commit(): void {
    const before = this.#before;
    const box = this.#box;
    this.#before = null;
    this.#box = null;
    this.#last = null;
    if (before && box && this.history.record(this.mask, before, box)) {
      this.revision++;
      this.events.committed();
    }
  }

  /** One whole operation (fills, clear, invert, polygon close). */
  #run(op: () => Rect): void {
    this.#begin();
    this.#touch(op());
    this.#commit();
  }

  pointerDown(tool: Tool, p: Point, subtract: boolean): void {
    const value: 0 | 1 = subtract ? 0 : 1;
    if (tool === 'brush' || tool === 'eraser') {
      this.#strokeValue = tool === 'eraser' || subtract ? 0 : 1;
      this.#begin();
      this.#last = p;
      this.#touch(stampSegment(this.mask, p, p, this.radius, this.#strokeValue));
    } else if (tool === 'rect') {
      this.rectStart = p;
    } else if (tool === 'wand') {
      this.#run(() => magicWand(this.mask, this.imageRgba, p, this.tolerance, value));
    } else if (tool === 'fill') {
      this.#run(() => bucketFill(this.mask, p, value));
    }
  }

  pointerMove(p: Point): void {
    if (this.#last && this.#before) {
      this.#touch(stampSegment(this.mask, this.#last, p, this.radius, this.#strokeValue));
      this.#last = p;
    }
  }

  pointerUp(tool: Tool, p: Point, subtract: boolean): void {
    if (this.#last && this.#before) {
      this.pointerMove(p);
      this.#commit();
    } else if (tool === 'rect' && this.rectStart) {
      const start = this.rectStart;
      this.rectStart = null;
      this.#run(() => fillRect(this.mask, start, p, subtract ? 0 : 1));
    }
  }

  addPolygonPoint(p: Point): void {
    this.polygon = [...this.polygon, p];
  }

  /** Fills the polygon drawn so far (3 points at least) and starts a new one. */
  closePolygon(subtract: boolean): boolean {
    const points = this.polygon;
    // fewer than 3 points is no polygon yet: keep them (a stray double-click must not lose them)
    if (points.length < 3) return false;
    this.polygon = [];
    this.#run(() => fillPolygon(this.mask, points, subtract ? 0 : 1));
    return true;
  }

  cancelShape(): void {
    this.polygon = [];
    this.rectStart = null;
  }

  clear(): void {
    this.#run(() => clearMask(this.mask));
  }

  invert(): void {
    this.#run(() => invertMask(this.mask));
  }

  undo(): void {
    const box = this.history.undo(this.mask);
    if (box) {
      this.revision++;
      this.events.changed(box);
      this.events.committed();
    }
  }

  redo(): void {
    const box = this.history.redo(this.mask);
    if (box) {
      this.revision++;
      this.events.changed(box);
      this.events.committed();
    }
  }

  /** Scales the brush (`[` / `]`); always by at least one pixel, so small brushes change too. */
  resizeBrush(factor: number): void {
    const scaled = Math.round(this.brushSize * factor);
    const next = factor > 1 ? Math.max(this.brushSize + 1, scaled) : Math.min(this.brushSize - 1, scaled);
    this.brushSize = Math.min(MAX_BRUSH, Math.max(MIN_BRUSH, next));
  }
}
