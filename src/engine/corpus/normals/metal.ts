// Metal surfaces: brushed (directionally polished) sheet and sand-cast metal.

import type { Rng } from '../../../shared/random';
import { Canvas, between, pick, varyColour } from '../canvas';
import type { Rgb } from '../canvas';
import { addSensorNoise, applyLighting } from '../lighting';
import { PerlinNoise, ValueNoise, WorleyNoise, fbm, noiseField } from '../noise';
import type { NormalFamilyDef } from './types';

const STEEL: Rgb[] = [
  [175, 178, 182],
  [160, 160, 158],
  [190, 185, 170],
  [140, 145, 155],
];

/**
 * Brushed metal: the abrasive leaves fine parallel grooves, i.e. noise whose features are
 * ~100x longer along the brushing direction than across it, in two bands of scale; a broad
 * specular band lies across the grooves (anisotropic reflection).
 */
function renderBrushedMetal(rng: Rng, size: number) {
  const c = new Canvas(size, size);
  const base = varyColour(pick(rng, STEEL), rng, 0.07, 0.02);
  const angle = between(rng, -0.2, 0.2) + (rng.uniform() < 0.5 ? 0 : Math.PI / 2);
  const axis: [number, number] = [Math.cos(angle), Math.sin(angle)];
  const fine = noiseField(new ValueNoise(rng), { width: size, height: size, scale: 0.7, stretchX: 150, axis, octaves: 2 });
  const medium = noiseField(new ValueNoise(rng), { width: size, height: size, scale: 4, stretchX: 40, axis, octaves: 2 });
  const broad = noiseField(new PerlinNoise(rng), { width: size, height: size, scale: 120, octaves: 2 });
  for (let i = 0; i < size * size; i++) {
    const shade = 0.88 + 0.09 * fine[i]! + 0.05 * medium[i]! + 0.06 * broad[i]!;
    c.set(i, base[0] * shade, base[1] * shade, base[2] * shade);
  }
  applyLighting(c, rng, { gradient: 0.4, vignette: 0.2, specular: 0.35, specularWidth: [20, 60] });
  addSensorNoise(c, rng, 1.5);
  return { family: 'brushed_metal', image: c.toImage() };
}

/**
 * Sand-cast metal: coarse mottling (fBm), a granular sand texture at pixel scale and scattered
 * casting pores (a few Worley cells, dark with a small highlight on the lit side).
 */
function renderCastMetal(rng: Rng, size: number) {
  const c = new Canvas(size, size);
  const base = varyColour(pick<Rgb>(rng, [[120, 120, 122], [100, 98, 95], [135, 130, 120], [90, 95, 100]]), rng);
  const mottle = noiseField(new PerlinNoise(rng), { width: size, height: size, scale: between(rng, 25, 50), octaves: 4 });
  const sand = new ValueNoise(rng);
  const pores = new WorleyNoise(rng);
  const poreCell = between(rng, 10, 18);
  const poreShare = between(rng, 0.05, 0.15);
  const s = { f1: 0, f2: 0, id: 0 };
  const grain = new PerlinNoise(rng);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const i = y * size + x;
      let shade = 1 + 0.14 * mottle[i]! + 0.1 * sand.at(x / 1.2, y / 1.2) + 0.06 * fbm(grain, x / 4, y / 4, { octaves: 2 });
      pores.sample(x / poreCell, y / poreCell, s);
      if (s.id / 256 < poreShare) {
        const r = 0.08 + 0.12 * ((s.id * 53) % 256) / 255;
        if (s.f1 < r) shade *= 0.45 + 0.4 * (s.f1 / r);
      }
      c.set(i, base[0] * shade, base[1] * shade, base[2] * shade);
    }
  }
  applyLighting(c, rng, { gradient: 0.35, vignette: 0.25, specular: 0.1, specularWidth: [30, 80] });
  addSensorNoise(c, rng, 2);
  return { family: 'cast_metal', image: c.toImage() };
}

export const METAL_FAMILIES: NormalFamilyDef[] = [
  { name: 'brushed_metal', kind: 'texture', material: { scratchTone: 'bright', gloss: 0.7 }, render: renderBrushedMetal },
  { name: 'cast_metal', kind: 'texture', material: { scratchTone: 'bright', gloss: 0.3 }, render: renderCastMetal },
];
