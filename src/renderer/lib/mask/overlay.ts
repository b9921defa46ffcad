// Turns the binary mask into the RGBA overlay drawn over the image: the defect type's colour,
// either filling the region or only on its outline (mask pixels with a 4-neighbour outside the
// mask or on the image border). Opacity is applied by the viewer when drawing, not baked in.
import type { BinaryMask, Rect } from './raster';

export type OverlayMode = 'fill' | 'outline';

export function parseHexColor(hex: string): [number, number, number] {
  const m = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(hex);
  if (!m) throw new Error(`not a #rrggbb colour: ${hex}`);
  return [parseInt(m[1]!, 16), parseInt(m[2]!, 16), parseInt(m[3]!, 16)];
}

/** Writes the overlay pixels of `box` (grown by one pixel, since outlines depend on neighbours). */
export function paintOverlay(mask: BinaryMask, out: Uint8ClampedArray, box: Rect, color: [number, number, number], mode: OverlayMode): Rect {
  const { width, height, data } = mask;
  const r = mask.clip({ x0: box.x0 - 1, y0: box.y0 - 1, x1: box.x1 + 1, y1: box.y1 + 1 });
  for (let y = r.y0; y < r.y1; y++) {
    for (let x = r.x0; x < r.x1; x++) {
      const i = y * width + x;
      let on = data[i] === 1;
      if (on && mode === 'outline') {
        on = x === 0 || y === 0 || x === width - 1 || y === height - 1 || !data[i - 1] || !data[i + 1] || !data[i - width] || !data[i + width];
      }
      const p = i * 4;
      out[p] = color[0];
      out[p + 1] = color[1];
      out[p + 2] = color[2];
      out[p + 3] = on ? 255 : 0;
    }
  }
  return r;
}
