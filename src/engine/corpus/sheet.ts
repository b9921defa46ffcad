// A contact sheet for eyeballing the corpus: per normal family two rows of tiles - the top row
// a normal image followed by one image per suitable defect, the bottom row the same images with
// the defect mask shown (pixels outside the mask dimmed, inside tinted red).

import { Rng } from '../../shared/random';
import type { RgbImage } from './canvas';
import { NORMAL_FAMILIES, applyDefect } from './families';
import { CORPUS_SIZE, generateNormal } from './normals';
import { deriveSeed } from './seed';

export interface SheetOptions {
  seed: number;
  families?: readonly string[];
}

export function buildContactSheet(options: SheetOptions): RgbImage {
  const families = NORMAL_FAMILIES.filter((f) => !options.families || options.families.includes(f.name));
  const S = CORPUS_SIZE;
  const cols = 1 + Math.max(...families.map((f) => f.defects.length));
  const width = cols * S;
  const height = families.length * 2 * S;
  const data = new Uint8Array(width * height * 3).fill(255);
  const put = (img: Uint8Array, col: number, row: number): void => {
    for (let y = 0; y < S; y++) data.set(img.subarray(y * S * 3, (y + 1) * S * 3), ((row * S + y) * width + col * S) * 3);
  };
  families.forEach((family, r) => {
    const normal = generateNormal(family.name, new Rng(deriveSeed(options.seed, 'sheet', family.name)));
    put(normal.image.data, 0, 2 * r);
    const fg = new Uint8Array(S * S * 3);
    for (let i = 0; i < S * S; i++) {
      const on = normal.foreground ? normal.foreground[i]! > 0 : true;
      for (let c = 0; c < 3; c++) fg[i * 3 + c] = on ? normal.image.data[i * 3 + c]! : normal.image.data[i * 3 + c]! >> 2;
    }
    put(fg, 0, 2 * r + 1);
    family.defects.forEach((defect, d) => {
      const rng = new Rng(deriveSeed(options.seed, 'sheet', family.name, defect));
      const base = generateNormal(family.name, rng);
      const result = applyDefect(defect, base, rng);
      put(result.image.data, d + 1, 2 * r);
      const overlay = new Uint8Array(S * S * 3);
      for (let i = 0; i < S * S; i++) {
        const inside = result.mask[i]! > 0;
        for (let c = 0; c < 3; c++) {
          const v = result.image.data[i * 3 + c]!;
          overlay[i * 3 + c] = inside ? (c === 0 ? 128 + (v >> 1) : v >> 1) : v >> 2;
        }
      }
      put(overlay, d + 1, 2 * r + 1);
    });
  });
  return { width, height, channels: 3, data };
}
