// The image viewer's canvas, built on fabric.js: the image and the mask overlay as two
// non-interactive FabricImages at scene coordinates = image pixels, zoom to the cursor, pan, fit,
// and preview shapes (brush cursor, polygon, rectangle) drawn on top. The mask itself is never a
// fabric object to be rasterised later: the tools paint the image-resolution mask directly, and
// the overlay canvas here only shows it.
import { Canvas, Circle, FabricImage, Point, Polyline, Rect as FabricRect, type TMat2D, type TPointerEventInfo } from 'fabric';
import { paintOverlay, parseHexColor, type OverlayMode } from './mask/overlay';
import type { BinaryMask, Point as MaskPoint, Rect } from './mask/raster';

export const MIN_ZOOM = 0.05;
export const MAX_ZOOM = 64;

export interface PointerInfo {
  /** In image pixels (scene coordinates). */
  scene: MaskPoint;
  event: MouseEvent;
}

export interface ViewportHandlers {
  down?(p: PointerInfo): void;
  move?(p: PointerInfo): void;
  up?(p: PointerInfo): void;
  dblclick?(p: PointerInfo): void;
  /** After every zoom or pan (the component mirrors the transform for tests and the readout). */
  viewChanged?(zoom: number, transform: TMat2D): void;
}

function canvasElement(width: number, height: number): HTMLCanvasElement {
  const c = document.createElement('canvas');
  c.width = width;
  c.height = height;
  return c;
}

export class Viewport {
  readonly canvas: Canvas;
  #image: FabricImage | null = null;
  #overlay: FabricImage | null = null;
  #overlayCanvas: HTMLCanvasElement | null = null;
  #overlayPixels: ImageData | null = null;
  #imageSize = { width: 0, height: 0 };
  #color: [number, number, number] = [255, 0, 0];
  #mode: OverlayMode = 'fill';
  #cursor: Circle;
  #preview: Polyline | FabricRect | null = null;
  #panFrom: { x: number; y: number } | null = null;
  #handlers: ViewportHandlers;
  /** True while the space bar is held: left-drag pans instead of drawing. */
  spacePan = false;
  /** In the viewer (not editing) a left drag pans. */
  dragPans = true;

  constructor(element: HTMLCanvasElement, handlers: ViewportHandlers) {
    this.#handlers = handlers;
    this.canvas = new Canvas(element, {
      selection: false,
      skipTargetFind: true,
      fireMiddleClick: true,
      fireRightClick: true,
      stopContextMenu: true,
      imageSmoothingEnabled: false,
      renderOnAddRemove: false,
      defaultCursor: 'crosshair',
    });
    this.#cursor = new Circle({ radius: 1, fill: '', stroke: '#ffffff', strokeWidth: 1, strokeUniform: true, originX: 'center', originY: 'center', visible: false, evented: false, objectCaching: false });
    this.canvas.add(this.#cursor);
    this.canvas.on('mouse:wheel', (opt) => this.#onWheel(opt.e));
    this.canvas.on('mouse:down', (opt) => this.#onDown(opt));
    this.canvas.on('mouse:move', (opt) => this.#onMove(opt));
    this.canvas.on('mouse:up', (opt) => this.#onUp(opt));
    this.canvas.on('mouse:dblclick', (opt) => this.#handlers.dblclick?.(this.#info(opt)));
  }

  dispose(): void {
    void this.canvas.dispose();
  }

  resize(width: number, height: number): void {
    this.canvas.setDimensions({ width: Math.max(1, width), height: Math.max(1, height) });
    this.canvas.requestRenderAll();
  }

  get zoom(): number {
    return this.canvas.getZoom();
  }

  get transform(): TMat2D {
    return [...this.canvas.viewportTransform] as TMat2D;
  }

  /** Shows a new image (pixels as ImageData-compatible RGBA) with an empty overlay. */
  setImage(width: number, height: number, rgba: Uint8ClampedArray): void {
    for (const obj of [this.#image, this.#overlay]) if (obj) this.canvas.remove(obj);
    this.#imageSize = { width, height };
    const imageCanvas = canvasElement(width, height);
    imageCanvas.getContext('2d')!.putImageData(new ImageData(new Uint8ClampedArray(rgba), width, height), 0, 0);
    const common = { left: 0, top: 0, originX: 'left', originY: 'top', selectable: false, evented: false, objectCaching: false, imageSmoothing: false } as const;
    this.#image = new FabricImage(imageCanvas, common);
    this.#overlayCanvas = canvasElement(width, height);
    this.#overlayPixels = new ImageData(width, height);
    this.#overlay = new FabricImage(this.#overlayCanvas, common);
    this.canvas.insertAt(0, this.#image, this.#overlay);
    this.fit();
  }

  setOverlayStyle(color: string, mode: OverlayMode, opacity: number, visible: boolean): void {
    this.#color = parseHexColor(color);
    this.#mode = mode;
    if (this.#overlay) {
      this.#overlay.set({ opacity, visible });
    }
  }

  /** Redraws the overlay from the mask, only inside `box` when given (the tools' dirty box). */
  showMask(mask: BinaryMask, box?: Rect): void {
    const pixels = this.#overlayPixels;
    const target = this.#overlayCanvas;
    if (!pixels || !target || pixels.width !== mask.width || pixels.height !== mask.height) return;
    const painted = paintOverlay(mask, pixels.data, box ?? mask.full, this.#color, this.#mode);
    const w = painted.x1 - painted.x0;
    const h = painted.y1 - painted.y0;
    if (w > 0 && h > 0) target.getContext('2d')!.putImageData(pixels, 0, 0, painted.x0, painted.y0, w, h);
    this.canvas.requestRenderAll();
  }

  /** Zoom so the whole image fits, centred. */
  fit(): void {
    const { width, height } = this.#imageSize;
    if (width === 0) return;
    const cw = this.canvas.getWidth();
    const ch = this.canvas.getHeight();
    const zoom = Math.min(MAX_ZOOM, Math.max(MIN_ZOOM, Math.min(cw / width, ch / height) * 0.95));
    this.canvas.setViewportTransform([zoom, 0, 0, zoom, (cw - width * zoom) / 2, (ch - height * zoom) / 2]);
    this.#viewChanged();
  }

  /** Zooms by `factor` around a point of the canvas (CSS pixels), or its centre. */
  zoomBy(factor: number, at?: { x: number; y: number }): void {
    const zoom = Math.min(MAX_ZOOM, Math.max(MIN_ZOOM, this.zoom * factor));
    const point = at ?? { x: this.canvas.getWidth() / 2, y: this.canvas.getHeight() / 2 };
    this.canvas.zoomToPoint(new Point(point.x, point.y), zoom);
    this.#viewChanged();
  }

  panBy(dx: number, dy: number): void {
    this.canvas.relativePan(new Point(dx, dy));
    this.#viewChanged();
  }

  /** The brush outline at the pointer, radius in image pixels (hidden with radius <= 0). */
  showCursor(at: MaskPoint | null, radius: number): void {
    if (!at || radius <= 0) this.#cursor.set({ visible: false });
    else this.#cursor.set({ visible: true, left: at.x, top: at.y, radius });
    this.canvas.requestRenderAll();
  }

  /** A polygon being drawn (open polyline through the points and the pointer). */
  showPolyline(points: MaskPoint[] | null): void {
    this.#clearPreview();
    if (points && points.length > 0) {
      this.#preview = new Polyline(points, { fill: '', stroke: '#ffe066', strokeWidth: 1.5, strokeUniform: true, objectCaching: false, evented: false });
      this.canvas.add(this.#preview);
    }
    this.canvas.requestRenderAll();
  }

  showRect(a: MaskPoint | null, b: MaskPoint | null): void {
    this.#clearPreview();
    if (a && b) {
      this.#preview = new FabricRect({
        left: Math.min(a.x, b.x),
        top: Math.min(a.y, b.y),
        width: Math.abs(a.x - b.x),
        height: Math.abs(a.y - b.y),
        fill: '',
        stroke: '#ffe066',
        strokeWidth: 1.5,
        strokeUniform: true,
        objectCaching: false,
        evented: false,
      });
      this.canvas.add(this.#preview);
    }
    this.canvas.requestRenderAll();
  }

  #clearPreview(): void {
    if (this.#preview) this.canvas.remove(this.#preview);
    this.#preview = null;
  }

  #info(opt: TPointerEventInfo): PointerInfo {
    return { scene: { x: opt.scenePoint.x, y: opt.scenePoint.y }, event: opt.e as MouseEvent };
  }

  #onWheel(e: WheelEvent): void {
    e.preventDefault();
    e.stopPropagation();
    // exponential in the wheel distance, so zooming in and back out returns to the same scale
    this.zoomBy(Math.pow(0.998, e.deltaY), { x: e.offsetX, y: e.offsetY });
  }

  #wantsPan(e: MouseEvent): boolean {
    return e.button === 1 || e.button === 2 || this.spacePan || (this.dragPans && e.button === 0);
  }

  #onDown(opt: TPointerEventInfo): void {
    const e = opt.e as MouseEvent;
    if (this.#wantsPan(e)) {
      this.#panFrom = { x: e.clientX, y: e.clientY };
      return;
    }
    if (e.button === 0) this.#handlers.down?.(this.#info(opt));
  }

  #onMove(opt: TPointerEventInfo): void {
    const e = opt.e as MouseEvent;
    if (this.#panFrom) {
      this.panBy(e.clientX - this.#panFrom.x, e.clientY - this.#panFrom.y);
      this.#panFrom = { x: e.clientX, y: e.clientY };
      return;
    }
    this.#handlers.move?.(this.#info(opt));
  }

  #onUp(opt: TPointerEventInfo): void {
    if (this.#panFrom) {
      this.#panFrom = null;
      return;
    }
    this.#handlers.up?.(this.#info(opt));
  }

  #viewChanged(): void {
    this.canvas.requestRenderAll();
    this.#handlers.viewChanged?.(this.zoom, this.transform);
  }
}
