// Woven and piled surfaces: plain-weave fabric, looped carpet pile, and a woven wire mesh.

import type { Rng } from '../../../shared/random';
import { Canvas, between, clamp01, pick, smoothstep, varyColour } from '../canvas';
import type { Rgb } from '../canvas';
import { addSensorNoise, applyLighting } from '../lighting';
import { PerlinNoise, ValueNoise, WorleyNoise, fbm, noiseField, warpFields, worleyField } from '../noise';
import type { NormalFamilyDef } from './types';

const FABRIC_COLOURS: Rgb[] = [
  [150, 120, 90],
  [60, 70, 110],
  [170, 165, 150],
  [120, 40, 40],
  [70, 95, 70],
  [200, 190, 170],
];

/**
 * Plain weave: warp threads run along v, weft along u; at cell (i, j) the warp is on top when
 * i + j is even. Each visible thread is a cylinder seen from above (brightness ~ sqrt of the
 * parabolic cross-section), dipping under its neighbour at the cell ends, with fibre streaks
 * along its length. A small domain warp keeps the weave from looking machine-perfect.
 */
function renderFabric(rng: Rng, size: number) {
  const c = new Canvas(size, size);
  const period = between(rng, 6, 11);
  const angle = between(rng, -0.12, 0.12);
  const [ca, sa] = [Math.cos(angle), Math.sin(angle)];
  const warpColour = varyColour(pick(rng, FABRIC_COLOURS), rng);
  const weftColour = varyColour(warpColour, rng, 0.08, 0.06);
  const fibres = new ValueNoise(rng);
  const { dx, dy } = warpFields(new PerlinNoise(rng), new PerlinNoise(rng), { width: size, height: size, scale: 50, amount: between(rng, 0.8, 2.5), octaves: 2 });
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const i = y * size + x;
      const u = (ca * x + sa * y + dx[i]!) / period;
      const v = (-sa * x + ca * y + dy[i]!) / period;
      const ci = Math.floor(u);
      const cj = Math.floor(v);
      const fu = u - ci;
      const fv = v - cj;
      const warpOnTop = ((ci + cj) & 1) === 0;
      // across-thread position a (0..1), along-thread position b (0..1)
      const a = warpOnTop ? fu : fv;
      const b = warpOnTop ? fv : fu;
      const across = clamp01(1 - (2 * a - 1) * (2 * a - 1));
      const along = 1 - 0.35 * (2 * b - 1) * (2 * b - 1);
      const fibre = warpOnTop ? fibres.at(u * 0.6 + 50, v * 6) : fibres.at(u * 6, v * 0.6 + 50);
      const shade = (0.35 + 0.65 * Math.sqrt(across)) * along * (1 + 0.12 * fibre);
      const col = warpOnTop ? warpColour : weftColour;
      c.set(i, col[0] * shade, col[1] * shade, col[2] * shade);
    }
  }
  applyLighting(c, rng, { gradient: 0.25, vignette: 0.2, specular: 0 });
  addSensorNoise(c, rng, 2);
  return { family: 'fabric', image: c.toImage() };
}

const CARPET_COLOURS: Rgb[] = [
  [120, 110, 100],
  [150, 135, 110],
  [80, 80, 85],
  [110, 70, 55],
  [70, 85, 110],
];

/**
 * Loop-pile carpet: tufts on a jittered grid (Worley cells), each brightest at its centre and
 * dark where it meets its neighbours (1 - f1^2), with a per-tuft brightness and hair-fine
 * fibre noise at a random orientation per tuft row.
 */
function renderCarpet(rng: Rng, size: number) {
  const c = new Canvas(size, size);
  const cell = between(rng, 5, 8);
  const base = varyColour(pick(rng, CARPET_COLOURS), rng);
  const warp = warpFields(new PerlinNoise(rng), new PerlinNoise(rng), { width: size, height: size, scale: 30, amount: cell * 0.35, octaves: 2 });
  const tufts = worleyField(new WorleyNoise(rng, 0.55), { width: size, height: size, cellSize: cell, warp });
  const hair = new ValueNoise(rng);
  const mottle = noiseField(new PerlinNoise(rng), { width: size, height: size, scale: 70, octaves: 3 });
  for (let i = 0; i < size * size; i++) {
    const x = i % size;
    const y = (i - x) / size;
    const f1 = tufts.f1[i]!;
    const id = tufts.id[i]!;
    const tuftShade = 1 - 0.75 * Math.min(1, f1 * f1 * 1.6);
    const perTuft = 0.85 + 0.3 * (id / 255);
    // fibres: fine stretched noise, direction from the tuft id
    const dir = (id & 3) * 0.8;
    const hx = x + dir * y * 0.2;
    const fib = hair.at(hx * 0.9, y * 0.25 + id);
    const shade = (0.3 + 0.7 * tuftShade) * perTuft * (1 + 0.18 * fib) * (1 + 0.12 * mottle[i]!);
    c.set(i, base[0] * shade, base[1] * shade, base[2] * shade);
  }
  applyLighting(c, rng, { gradient: 0.3, vignette: 0.25, specular: 0 });
  addSensorNoise(c, rng, 2.5);
  return { family: 'carpet', image: c.toImage() };
}

/**
 * Woven wire mesh (like MVTec "grid"): two families of round wires at a fixed pitch over a dark
 * backing; a wire is shaded as a cylinder (bright core), and at each crossing the wire that
 * passes under is shadowed. Slight rotation and domain warp make the pitch imperfect.
 */
function renderWireMesh(rng: Rng, size: number) {
  const c = new Canvas(size, size);
  const pitch = between(rng, 14, 22);
  const hw = between(rng, 1.6, 2.8);
  const angle = between(rng, -0.35, 0.35);
  const [ca, sa] = [Math.cos(angle), Math.sin(angle)];
  const metal = varyColour(pick<Rgb>(rng, [[185, 185, 180], [160, 165, 175], [190, 175, 150]]), rng);
  const backing = varyColour(pick<Rgb>(rng, [[40, 40, 40], [55, 50, 45], [30, 35, 45]]), rng, 0.15);
  const noise = new PerlinNoise(rng);
  const grain = new ValueNoise(rng);
  const { dx, dy } = warpFields(new PerlinNoise(rng), new PerlinNoise(rng), { width: size, height: size, scale: 90, amount: between(rng, 0.5, 2), octaves: 2 });
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const i = y * size + x;
      const u = ca * x + sa * y + dx[i]!;
      const v = -sa * x + ca * y + dy[i]!;
      // distance to the nearest wire centre line of each family
      const du = Math.abs(u - pitch * Math.round(u / pitch));
      const dv = Math.abs(v - pitch * Math.round(v / pitch));
      const onTopIsVertical = ((Math.round(u / pitch) + Math.round(v / pitch)) & 1) === 0;
      const bgShade = 0.85 + 0.25 * fbm(noise, x / 40, y / 40, { octaves: 3 });
      let r = backing[0] * bgShade;
      let g = backing[1] * bgShade;
      let b = backing[2] * bgShade;
      // draw the under wire first, then the over wire
      const order = onTopIsVertical ? [dv, du] : [du, dv];
      for (let k = 0; k < 2; k++) {
        const d = order[k]!;
        if (d >= hw + 0.7) continue;
        const cover = clamp01(hw + 0.5 - d);
        const core = Math.sqrt(clamp01(1 - (d / hw) * (d / hw)));
        // the under wire is shadowed close to the crossing (where the other wire is near)
        const other = order[1 - k]!;
        const shadow = k === 0 ? 0.45 + 0.55 * smoothstep(hw, hw * 3, other) : 1;
        const shade = (0.35 + 0.75 * core) * shadow * (1 + 0.06 * grain.at(u * 0.8, v * 0.8));
        r += (metal[0] * shade - r) * cover;
        g += (metal[1] * shade - g) * cover;
        b += (metal[2] * shade - b) * cover;
      }
      c.set(i, r, g, b);
    }
  }
  applyLighting(c, rng, { gradient: 0.35, vignette: 0.3, specular: 0.08 });
  addSensorNoise(c, rng, 2);
  return { family: 'wire_mesh', image: c.toImage() };
}

export const TEXTILE_FAMILIES: NormalFamilyDef[] = [
  { name: 'fabric', kind: 'texture', material: { scratchTone: 'dark', gloss: 0.05 }, render: renderFabric },
  { name: 'carpet', kind: 'texture', material: { scratchTone: 'dark', gloss: 0 }, render: renderCarpet },
  { name: 'wire_mesh', kind: 'texture', material: { scratchTone: 'bright', gloss: 0.6 }, render: renderWireMesh },
];
