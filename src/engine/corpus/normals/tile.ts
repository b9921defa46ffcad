// Glazed ceramic tile: a speckled (terrazzo-like) glaze, sometimes with grout joints between
// tiles, under a glossy highlight.

import type { Rng } from '../../../shared/random';
import { Canvas, between, mixRgb, pick, smoothstep, varyColour } from '../canvas';
import type { Rgb } from '../canvas';
import { addSensorNoise, applyLighting } from '../lighting';
import { PerlinNoise, WorleyNoise, noiseField, worleyField } from '../noise';
import type { NormalFamilyDef } from './types';

const GLAZES: [Rgb, Rgb][] = [
  [[225, 222, 215], [120, 120, 125]],
  [[200, 190, 170], [90, 80, 70]],
  [[170, 175, 180], [60, 65, 75]],
  [[190, 120, 90], [110, 60, 45]],
  [[215, 215, 200], [150, 110, 70]],
];

/**
 * Speckles are the parts of small Worley cells near their point (f1 < radius), kept for a
 * random share of cells, each with its own tone between glaze and fleck colour. Grout joints
 * (when present) are dark bands at the tile period with a bevelled edge.
 */
function renderTile(rng: Rng, size: number) {
  const c = new Canvas(size, size);
  const [glazeBase, fleckBase] = pick(rng, GLAZES);
  const glaze = varyColour(glazeBase, rng, 0.05);
  const fleck = varyColour(fleckBase, rng, 0.1);
  const mottle = noiseField(new PerlinNoise(rng), { width: size, height: size, scale: between(rng, 40, 80), octaves: 3 });
  const cellSize = between(rng, 5, 10);
  const flecks = worleyField(new WorleyNoise(rng), { width: size, height: size, cellSize });
  const big = worleyField(new WorleyNoise(rng), { width: size, height: size, cellSize: cellSize * 3 });
  const share = between(rng, 0.25, 0.6);
  const grout = rng.uniform() < 0.5;
  const tileSize = between(rng, 90, 160);
  const groutHalf = between(rng, 1.5, 3);
  const offX = rng.uniform() * tileSize;
  const offY = rng.uniform() * tileSize;
  const groutColour = varyColour([110, 105, 100], rng, 0.15);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const i = y * size + x;
      const id = flecks.id[i]!;
      let col = glaze;
      if (id / 256 < share) {
        const r = 0.15 + 0.25 * ((id * 71) % 256) / 255;
        const inside = 1 - smoothstep(r - 0.08, r, flecks.f1[i]!);
        col = mixRgb(glaze, fleck, inside * (0.4 + 0.6 * ((id * 29) % 256) / 255));
      }
      const bid = big.id[i]!;
      if (bid / 256 < 0.12 && big.f1[i]! < 0.25) col = mixRgb(col, fleck, 0.7 * (1 - smoothstep(0.17, 0.25, big.f1[i]!)));
      let shade = 1 + 0.05 * mottle[i]!;
      if (grout) {
        const gx = Math.abs(((x + offX) % tileSize) - tileSize / 2);
        const gy = Math.abs(((y + offY) % tileSize) - tileSize / 2);
        // distance to the nearest joint centre line
        const d = Math.min(tileSize / 2 - gx, tileSize / 2 - gy);
        if (d < groutHalf + 0.5) col = mixRgb(col, groutColour, Math.min(1, groutHalf + 0.5 - d));
        else shade *= 1 - 0.25 * (1 - smoothstep(groutHalf, groutHalf + 4, d));
      }
      c.set(i, col[0] * shade, col[1] * shade, col[2] * shade);
    }
  }
  applyLighting(c, rng, { gradient: 0.25, vignette: 0.2, specular: 0.3, specularWidth: [25, 70] });
  addSensorNoise(c, rng, 1.5);
  return { family: 'tile', image: c.toImage() };
}

export const TILE_FAMILY: NormalFamilyDef = { name: 'tile', kind: 'texture', material: { scratchTone: 'bright', gloss: 0.6 }, render: renderTile };
