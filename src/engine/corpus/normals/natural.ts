// Natural and mineral surfaces: wood grain, leather grain, concrete/stone.

import type { Rng } from '../../../shared/random';
import { Canvas, between, mixRgb, pick, smoothstep, varyColour } from '../canvas';
import type { Rgb } from '../canvas';
import { addSensorNoise, applyLighting } from '../lighting';
import { PerlinNoise, ValueNoise, WorleyNoise, noiseField, warpFields, worleyField } from '../noise';
import type { NormalFamilyDef } from './types';

const WOOD: [Rgb, Rgb][] = [
  [[196, 150, 100], [140, 90, 50]],
  [[220, 190, 145], [170, 125, 80]],
  [[150, 95, 60], [95, 55, 30]],
  [[205, 170, 120], [150, 105, 65]],
];

/**
 * Plank wood: growth rings are iso-lines of the across-grain coordinate bent by a large domain
 * warp; each ring is an early-wood (light) to late-wood (dark) ramp ending in a sharp edge, as
 * in a real cut. Fine pores are value noise stretched ~40x along the grain.
 */
function renderWood(rng: Rng, size: number) {
  const c = new Canvas(size, size);
  const [light, dark] = pick(rng, WOOD);
  const lightC = varyColour(light, rng);
  const darkC = varyColour(dark, rng);
  const angle = between(rng, -0.15, 0.15) + (rng.uniform() < 0.5 ? 0 : Math.PI / 2);
  const [ca, sa] = [Math.cos(angle), Math.sin(angle)];
  const spacing = between(rng, 9, 22);
  const bend = noiseField(new PerlinNoise(rng), { width: size, height: size, scale: 140, octaves: 3, axis: [ca, sa], stretchX: 2.5 });
  const wobble = new PerlinNoise(rng);
  const pores = new ValueNoise(rng);
  const warpAmount = between(rng, 10, 35);
  const phase = rng.uniform();
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const i = y * size + x;
      const u = ca * x + sa * y;
      const v = -sa * x + ca * y;
      const ring = (v + warpAmount * bend[i]!) / spacing + phase + 0.15 * wobble.at(u / 25, v / 25);
      const t = ring - Math.floor(ring);
      // early wood 0..0.6 light, ramping to late wood, sharp return at the ring boundary
      const late = smoothstep(0.45, 0.92, t) * (1 - smoothstep(0.95, 1, t));
      const pore = pores.at(u / 40, v / 1.1);
      const streak = pores.at(u / 120 + 90, v / 4);
      const m = Math.min(1, Math.max(0, 0.85 * late + 0.12 * pore + 0.1 * streak));
      const col = mixRgb(lightC, darkC, m);
      c.set(i, col[0], col[1], col[2]);
    }
  }
  applyLighting(c, rng, { gradient: 0.25, vignette: 0.2, specular: 0.12, specularWidth: [30, 70] });
  addSensorNoise(c, rng, 1.5);
  return { family: 'wood', image: c.toImage() };
}

const LEATHER: Rgb[] = [
  [120, 75, 45],
  [45, 40, 38],
  [170, 120, 80],
  [110, 40, 35],
  [90, 85, 80],
];

/**
 * Grain leather: a network of creases along Worley cell borders (f2 - f1 small), cells domed
 * (darker towards their borders), on a warped lattice so cells are irregular, plus fine pores.
 */
function renderLeather(rng: Rng, size: number) {
  const c = new Canvas(size, size);
  const base = varyColour(pick(rng, LEATHER), rng);
  const cell = between(rng, 8, 15);
  const warp = warpFields(new PerlinNoise(rng), new PerlinNoise(rng), { width: size, height: size, scale: 35, amount: cell * 0.5, octaves: 2 });
  const cells = worleyField(new WorleyNoise(rng), { width: size, height: size, cellSize: cell, warp });
  const fine = worleyField(new WorleyNoise(rng), { width: size, height: size, cellSize: cell * 0.35 });
  const mottle = noiseField(new PerlinNoise(rng), { width: size, height: size, scale: 80, octaves: 3 });
  const pores = new ValueNoise(rng);
  const creaseDepth = between(rng, 0.3, 0.5);
  for (let i = 0; i < size * size; i++) {
    const x = i % size;
    const y = (i - x) / size;
    const edge = cells.f2[i]! - cells.f1[i]!;
    const crease = 1 - smoothstep(0, 0.22, edge);
    const fineCrease = 1 - smoothstep(0, 0.15, fine.f2[i]! - fine.f1[i]!);
    const dome = 1 - 0.18 * cells.f1[i]! * cells.f1[i]!;
    const pore = pores.at(x / 1.3, y / 1.3) > 0.75 ? 0.85 : 1;
    const shade = dome * (1 - creaseDepth * crease) * (1 - 0.12 * fineCrease) * pore * (1 + 0.1 * mottle[i]!);
    c.set(i, base[0] * shade, base[1] * shade, base[2] * shade);
  }
  applyLighting(c, rng, { gradient: 0.3, vignette: 0.25, specular: 0.06, specularWidth: [40, 90] });
  addSensorNoise(c, rng, 1.5);
  return { family: 'leather', image: c.toImage() };
}

/**
 * Concrete/stone: multi-octave mottling, embedded aggregate (a subset of Worley cells, each
 * with its own tone and a thin dark outline), and small air pores.
 */
function renderConcrete(rng: Rng, size: number) {
  const c = new Canvas(size, size);
  const base = varyColour(pick<Rgb>(rng, [[150, 148, 142], [125, 122, 118], [170, 160, 145], [105, 108, 112]]), rng);
  const mottle = noiseField(new PerlinNoise(rng), { width: size, height: size, scale: between(rng, 40, 90), octaves: 5, gain: 0.55 });
  const stoneCell = between(rng, 10, 20);
  const warp = warpFields(new PerlinNoise(rng), new PerlinNoise(rng), { width: size, height: size, scale: 20, amount: stoneCell * 0.25, octaves: 2 });
  const stones = worleyField(new WorleyNoise(rng), { width: size, height: size, cellSize: stoneCell, warp });
  const pores = new ValueNoise(rng);
  const grit = new ValueNoise(rng);
  const stoneShare = between(rng, 0.2, 0.5);
  const stoneContrast = between(rng, 0.1, 0.25);
  for (let i = 0; i < size * size; i++) {
    const x = i % size;
    const y = (i - x) / size;
    let shade = 1 + 0.16 * mottle[i]! + 0.07 * grit.at(x / 1.5, y / 1.5);
    const id = stones.id[i]!;
    const isStone = id / 256 < stoneShare;
    if (isStone) {
      const inside = 1 - smoothstep(0.42, 0.5, stones.f1[i]!);
      const tone = ((id * 37) % 256) / 255 - 0.5;
      const outline = smoothstep(0.36, 0.44, stones.f1[i]!) * inside;
      shade *= 1 + inside * stoneContrast * tone * 2 - 0.2 * outline;
    }
    if (pores.at(x / 2.2 + 300, y / 2.2) > 0.82) shade *= 0.55;
    c.set(i, base[0] * shade, base[1] * shade, base[2] * shade);
  }
  applyLighting(c, rng, { gradient: 0.3, vignette: 0.25, specular: 0 });
  addSensorNoise(c, rng, 2);
  return { family: 'concrete', image: c.toImage() };
}

export const NATURAL_FAMILIES: NormalFamilyDef[] = [
  { name: 'wood', kind: 'texture', material: { scratchTone: 'dark', gloss: 0.2 }, render: renderWood },
  { name: 'leather', kind: 'texture', material: { scratchTone: 'dark', gloss: 0.15 }, render: renderLeather },
  { name: 'concrete', kind: 'texture', material: { scratchTone: 'bright', gloss: 0 }, render: renderConcrete },
];
