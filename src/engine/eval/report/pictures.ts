// Pictures embedded in the report as PNG data URIs: training pairs (image, mask outline) and
// anomaly heat maps blended over real test images.
import { encodePng } from '../../imaging';
import { pictureBytes, type Mask, type Picture } from '../picture';

async function dataUri(width: number, height: number, rgb: Uint8Array): Promise<string> {
  const png = await encodePng({ width, height, channels: 3, data: rgb });
  return `data:image/png;base64,${png.toString('base64')}`;
}

export function pictureUri(p: Picture): Promise<string> {
  return dataUri(p.width, p.height, pictureBytes(p));
}

/** The picture with the mask's boundary drawn in green. */
export function outlinedUri(p: Picture, m: Mask): Promise<string> {
  const rgb = pictureBytes(p);
  const { width, height } = m;
  for (let i = 0; i < m.data.length; i++) {
    if (!m.data[i]) continue;
    const x = i % width, y = Math.floor(i / width);
    const edge = x === 0 || y === 0 || x === width - 1 || y === height - 1 || !m.data[i - 1] || !m.data[i + 1] || !m.data[i - width] || !m.data[i + width];
    if (edge) rgb.set([0, 255, 0], i * 3);
  }
  return dataUri(width, height, rgb);
}

/** A blue-to-red colour ramp for p in [0, 1]. */
function heat(p: number): [number, number, number] {
  const t = Math.min(1, Math.max(0, p));
  return [255 * Math.min(1, 2 * t), 255 * (1 - Math.abs(2 * t - 1)), 255 * Math.min(1, 2 * (1 - t))];
}

/** The anomaly map (defect probability) over the picture: alpha = 0.1 + 0.8 p, plus the mask outline. */
export function heatmapUri(p: Picture, map: Float32Array, m: Mask): Promise<string> {
  const rgb = pictureBytes(p);
  for (let i = 0; i < map.length; i++) {
    const v = map[i]!;
    const [r, g, b] = heat(v);
    const a = 0.1 + 0.8 * v;
    rgb[i * 3] = Math.round((1 - a) * rgb[i * 3]! + a * r);
    rgb[i * 3 + 1] = Math.round((1 - a) * rgb[i * 3 + 1]! + a * g);
    rgb[i * 3 + 2] = Math.round((1 - a) * rgb[i * 3 + 2]! + a * b);
  }
  const { width, height } = m;
  for (let i = 0; i < m.data.length; i++) {
    if (!m.data[i]) continue;
    const x = i % width, y = Math.floor(i / width);
    const edge = x === 0 || y === 0 || x === width - 1 || y === height - 1 || !m.data[i - 1] || !m.data[i + 1] || !m.data[i - width] || !m.data[i + width];
    if (edge) rgb.set([255, 255, 255], i * 3);
  }
  return dataUri(width, height, rgb);
}
