// Round parts seen from above: a screw head (slotted, Phillips or hex socket), the mouth of a
// bottle, and a hex nut. Each is defined by a signed distance function (negative inside), shaded
// from an analytic surface normal, and returned with its foreground mask.

import type { Rng } from '../../../shared/random';
import { Canvas, between, clamp01, pick, smoothstep, varyColour } from '../canvas';
import type { Rgb } from '../canvas';
import { PerlinNoise, ValueNoise } from '../noise';
import { castShadow, composeObject, randomLight, renderBackdrop, shadeNormal } from './scene';
import type { NormalFamilyDef, NormalSample } from './types';

/** Signed distance to a regular hexagon with circumradius r, rotated by (c, s). */
function hexagonSdf(x: number, y: number, r: number, c: number, s: number): number {
  // rotate into the hexagon frame and fold into the first sextant
  let px = Math.abs(c * x + s * y);
  let py = Math.abs(-s * x + c * y);
  const kx = -0.8660254037844386;
  const ky = 0.5;
  const kz = 0.5773502691896258;
  const dot = 2 * Math.min(kx * px + ky * py, 0);
  px -= dot * kx;
  py -= dot * ky;
  const apothem = r * 0.8660254037844386;
  px -= Math.min(Math.max(px, -kz * apothem), kz * apothem);
  py -= apothem;
  return Math.sqrt(px * px + py * py) * Math.sign(py);
}

/** Signed distance to a rectangle of half-sizes (hx, hy), rotated by (c, s). */
function boxSdf(x: number, y: number, hx: number, hy: number, c: number, s: number): number {
  const u = Math.abs(c * x + s * y) - hx;
  const v = Math.abs(-s * x + c * y) - hy;
  const outside = Math.sqrt(Math.max(u, 0) ** 2 + Math.max(v, 0) ** 2);
  return outside + Math.min(Math.max(u, v), 0);
}

const STEELS: Rgb[] = [
  [170, 172, 175],
  [190, 180, 140],
  [70, 70, 75],
  [200, 170, 120],
];

function renderScrewHead(rng: Rng, size: number): NormalSample {
  const backdrop = renderBackdrop(rng, size);
  const cx = size / 2 + between(rng, -12, 12);
  const cy = size / 2 + between(rng, -12, 12);
  const R = between(rng, 70, 95);
  const light = randomLight(rng);
  const metal = varyColour(pick(rng, STEELS), rng, 0.08, 0.03);
  const a = between(rng, 0, Math.PI);
  const [ca, sa] = [Math.cos(a), Math.sin(a)];
  const drive = pick(rng, ['slot', 'phillips', 'hex'] as const);
  const armHalf = R * between(rng, 0.08, 0.12);
  const recessSdf = (x: number, y: number): number => {
    if (drive === 'slot') return boxSdf(x, y, R * 1.1, armHalf, ca, sa);
    if (drive === 'hex') return hexagonSdf(x, y, R * 0.32, ca, sa);
    return Math.min(boxSdf(x, y, R * 0.45, armHalf * 1.3, ca, sa), boxSdf(x, y, R * 0.45, armHalf * 1.3, -sa, ca));
  };
  castShadow(backdrop, (x, y) => Math.hypot(x - cx, y - cy) - R, light, 0.45, 14);
  const object = new Canvas(size, size);
  const coverage = new Float32Array(size * size);
  const marks = new ValueNoise(rng);
  const dome = between(rng, 0.5, 0.9);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const i = y * size + x;
      const dx = x - cx;
      const dy = y - cy;
      const r = Math.hypot(dx, dy);
      coverage[i] = clamp01(R + 0.5 - r);
      if (coverage[i] === 0) continue;
      // dome: slope grows with radius; a steeper bevel in the outer 8%
      const t = r / R;
      const slope = dome * t + (t > 0.92 ? (t - 0.92) * 8 : 0);
      let nx = (dx / (r + 1e-6)) * slope;
      let ny = (dy / (r + 1e-6)) * slope;
      let nz = 1;
      const rd = recessSdf(dx, dy);
      let cavity = 1;
      if (rd < 0) {
        // inside the recess: walls slope towards the centre, and the pit is in shadow
        nx = -nx * 0.5;
        ny = -ny * 0.5;
        cavity = 0.35 + 0.25 * smoothstep(-armHalf, 0, rd);
      }
      const nl = Math.hypot(nx, ny, nz);
      nx /= nl;
      ny /= nl;
      nz /= nl;
      const [diffuse, spec] = shadeNormal(nx, ny, nz, light, 30);
      // concentric turning marks from machining
      const turning = 1 + 0.04 * marks.at(r * 0.8, 3.3);
      const s = diffuse * cavity * turning;
      const hl = spec * 160 * cavity;
      object.set(i, metal[0] * s + hl, metal[1] * s + hl, metal[2] * s + hl);
    }
  }
  return composeObject('screw_head', rng, backdrop, object, coverage);
}

const GLASS: Rgb[] = [
  [120, 80, 40],
  [60, 110, 70],
  [170, 180, 180],
  [90, 110, 130],
];

/**
 * The mouth of a bottle from above: a glossy shoulder falling away to the outer edge, a bright
 * rounded lip, and the dark opening that looks into the bottle.
 */
function renderBottleTop(rng: Rng, size: number): NormalSample {
  const backdrop = renderBackdrop(rng, size);
  const cx = size / 2 + between(rng, -8, 8);
  const cy = size / 2 + between(rng, -8, 8);
  const R = between(rng, 95, 118);
  const lipOuter = R * between(rng, 0.55, 0.65);
  const lipInner = lipOuter * between(rng, 0.7, 0.8);
  const light = randomLight(rng);
  const glass = varyColour(pick(rng, GLASS), rng, 0.1, 0.05);
  castShadow(backdrop, (x, y) => Math.hypot(x - cx, y - cy) - R, light, 0.5, 16);
  const object = new Canvas(size, size);
  const coverage = new Float32Array(size * size);
  const ripple = new PerlinNoise(rng);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const i = y * size + x;
      const dx = x - cx;
      const dy = y - cy;
      const r = Math.hypot(dx, dy);
      coverage[i] = clamp01(R + 0.5 - r);
      if (coverage[i] === 0) continue;
      const ux = dx / (r + 1e-6);
      const uy = dy / (r + 1e-6);
      let nx: number;
      let ny: number;
      let base = 1;
      if (r > lipOuter) {
        // shoulder: slope increasing towards the outer edge
        const t = (r - lipOuter) / (R - lipOuter);
        nx = ux * (0.3 + 1.5 * t);
        ny = uy * (0.3 + 1.5 * t);
        base = 0.8;
      } else if (r > lipInner) {
        // rounded lip: the normal turns from inward to outward across the torus
        const t = ((r - lipInner) / (lipOuter - lipInner)) * 2 - 1;
        nx = ux * t * 1.6;
        ny = uy * t * 1.6;
        base = 1.1;
      } else {
        // the opening: dark, slightly lighter towards the rim where the neck wall shows
        nx = -ux * 0.5;
        ny = -uy * 0.5;
        base = 0.12 + 0.3 * smoothstep(lipInner * 0.4, lipInner, r);
      }
      const w = 0.15 * ripple.at(dx / 20, dy / 20);
      const nl = Math.hypot(nx + w, ny - w, 1);
      const [diffuse, spec] = shadeNormal((nx + w) / nl, (ny - w) / nl, 1 / nl, light, 60);
      const s = diffuse * base;
      const hl = spec * 200 * (r <= lipInner ? 0.2 : 1);
      object.set(i, glass[0] * s + hl, glass[1] * s + hl, glass[2] * s + hl);
    }
  }
  return composeObject('bottle_top', rng, backdrop, object, coverage);
}

/**
 * A hex nut from above: flat face with turning marks, a chamfer ring that darkens the corners,
 * the threaded bore (helix seen as alternating rings) and the through hole, which is not part of
 * the foreground (the backdrop, in shadow, shows through).
 */
function renderHexNut(rng: Rng, size: number): NormalSample {
  const backdrop = renderBackdrop(rng, size);
  const cx = size / 2 + between(rng, -10, 10);
  const cy = size / 2 + between(rng, -10, 10);
  const R = between(rng, 80, 105);
  const a = between(rng, 0, Math.PI / 3);
  const [ca, sa] = [Math.cos(a), Math.sin(a)];
  const bore = R * between(rng, 0.34, 0.4);
  const thread = bore * 1.25;
  const chamfer = R * 0.8660254037844386 * between(rng, 0.9, 0.97);
  const light = randomLight(rng);
  const metal = varyColour(pick(rng, STEELS), rng, 0.08, 0.03);
  const pitch = between(rng, 2.5, 4);
  castShadow(backdrop, (x, y) => hexagonSdf(x - cx, y - cy, R, ca, sa), light, 0.45, 14);
  const object = new Canvas(size, size);
  const coverage = new Float32Array(size * size);
  const hole = new Float32Array(size * size);
  const marks = new ValueNoise(rng);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const i = y * size + x;
      const dx = x - cx;
      const dy = y - cy;
      coverage[i] = clamp01(0.5 - hexagonSdf(dx, dy, R, ca, sa));
      if (coverage[i] === 0) continue;
      const r = Math.hypot(dx, dy);
      hole[i] = clamp01(bore + 0.5 - r);
      const ux = dx / (r + 1e-6);
      const uy = dy / (r + 1e-6);
      let nx = 0;
      let ny = 0;
      let s = 1;
      if (r > chamfer) {
        nx = ux * 0.9;
        ny = uy * 0.9;
      } else if (r < thread) {
        // thread flanks alternate their slope every half pitch; deep inside is in shadow
        const phase = (r / pitch) % 1;
        const flank = phase < 0.5 ? -1 : 1;
        nx = ux * 0.8 * flank;
        ny = uy * 0.8 * flank;
        s = 0.55 + 0.35 * smoothstep(bore, thread, r);
      }
      const nl = Math.hypot(nx, ny, 1);
      const [diffuse, spec] = shadeNormal(nx / nl, ny / nl, 1 / nl, light, 25);
      const turning = 1 + 0.05 * marks.at(r * 0.9, 7.7);
      const v = diffuse * s * turning;
      const hl = spec * 120 * s;
      object.set(i, metal[0] * v + hl, metal[1] * v + hl, metal[2] * v + hl);
    }
  }
  return composeObject('hex_nut', rng, backdrop, object, coverage, hole);
}

export const PART_FAMILIES: NormalFamilyDef[] = [
  { name: 'screw_head', kind: 'object', material: { scratchTone: 'bright', gloss: 0.7 }, render: renderScrewHead },
  { name: 'bottle_top', kind: 'object', material: { scratchTone: 'bright', gloss: 0.9 }, render: renderBottleTop },
  { name: 'hex_nut', kind: 'object', material: { scratchTone: 'bright', gloss: 0.6 }, render: renderHexNut },
];
