// Shared pieces of the object families: the surface an object lies on, its soft shadow, the
// Blinn-Phong shading of a surface normal, and compositing an object over the backdrop with an
// anti-aliased coverage (foreground mask = coverage >= 0.5).

import { Rng } from '../../../shared/random';
import { Canvas, between, clamp01, pick, varyColour } from '../canvas';
import type { Rgb, RgbImage } from '../canvas';
import { addSensorNoise, applyLighting } from '../lighting';
import { PerlinNoise, ValueNoise, noiseField } from '../noise';
import type { NormalSample } from './types';

const BACKDROPS: Rgb[] = [
  [40, 40, 42],
  [200, 200, 195],
  [70, 90, 110],
  [120, 118, 110],
  [25, 30, 28],
];

/** A matte backdrop (conveyor belt, inspection plate) with mottling and grain. */
export function renderBackdrop(rng: Rng, size: number): Canvas {
  const c = new Canvas(size, size);
  const base = varyColour(pick(rng, BACKDROPS), rng, 0.1);
  const mottle = noiseField(new PerlinNoise(rng), { width: size, height: size, scale: 60, octaves: 3 });
  const grain = new ValueNoise(rng);
  for (let i = 0; i < size * size; i++) {
    const x = i % size;
    const y = (i - x) / size;
    const s = 1 + 0.06 * mottle[i]! + 0.04 * grain.at(x / 1.3, y / 1.3);
    c.set(i, base[0] * s, base[1] * s, base[2] * s);
  }
  return c;
}

/** A unit light direction from above at a random azimuth, elevation 35-65 degrees. */
export function randomLight(rng: Rng): [number, number, number] {
  const az = between(rng, -Math.PI, Math.PI);
  const el = between(rng, 0.6, 1.15);
  return [Math.cos(az) * Math.cos(el), Math.sin(az) * Math.cos(el), Math.sin(el)];
}

/**
 * Blinn-Phong with the viewer straight above: ambient + diffuse (n.l) + specular (n.h)^shine,
 * h the half-vector between light and view (0, 0, 1). Returns (diffuse factor, specular add).
 */
export function shadeNormal(nx: number, ny: number, nz: number, light: readonly [number, number, number], shine: number): [number, number] {
  const ndl = Math.max(0, nx * light[0] + ny * light[1] + nz * light[2]);
  let hx = light[0];
  let hy = light[1];
  let hz = light[2] + 1;
  const hl = Math.sqrt(hx * hx + hy * hy + hz * hz);
  hx /= hl;
  hy /= hl;
  hz /= hl;
  const ndh = Math.max(0, nx * hx + ny * hy + nz * hz);
  return [0.35 + 0.75 * ndl, Math.pow(ndh, shine)];
}

/**
 * Darkens the backdrop under a soft shadow: the object's signed distance sampled at an offset
 * away from the light, faded over `blur` pixels.
 */
export function castShadow(backdrop: Canvas, sdf: (x: number, y: number) => number, light: readonly [number, number, number], strength: number, blur: number): void {
  const size = backdrop.width;
  const ox = -light[0] * 8;
  const oy = -light[1] * 8;
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const d = sdf(x - ox, y - oy);
      if (d > blur) continue;
      const s = clamp01(1 - d / blur);
      backdrop.scale(y * size + x, 1 - strength * s * s);
    }
  }
}

/**
 * Blends the object over the backdrop by coverage (0..1), applies lighting to both together and
 * returns the sample: the object's pixels (coverage >= 0.5) form the foreground; the lit
 * backdrop alone is kept as the background that a cut reveals.
 */
export function composeObject(family: string, rng: Rng, backdrop: Canvas, object: Canvas, coverage: Float32Array, hole?: Float32Array): NormalSample {
  const size = backdrop.width;
  const n = size * size;
  const lightingSeed = rng.nextU32();
  const lit = backdrop.clone();
  const scene = backdrop.clone();
  const foreground = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const a = coverage[i]! * (hole ? 1 - hole[i]! : 1);
    if (a <= 0) continue;
    const k = i * 3;
    scene.set(i, scene.data[k]! + (object.data[k]! - scene.data[k]!) * a, scene.data[k + 1]! + (object.data[k + 1]! - scene.data[k + 1]!) * a, scene.data[k + 2]! + (object.data[k + 2]! - scene.data[k + 2]!) * a);
    if (a >= 0.5) foreground[i] = 255;
  }
  // the same lighting on scene and background: identical rng streams
  const style = { gradient: 0.25, vignette: 0.25, specular: 0 };
  applyLighting(scene, new Rng(lightingSeed), style);
  applyLighting(lit, new Rng(lightingSeed), style);
  // sensor noise: identical on both, so the background matches the scene pixel for pixel
  addSensorNoise(scene, rng, 1.8, lit);
  const image: RgbImage = scene.toImage();
  return { family, image, foreground, background: lit.toImage() };
}


