// Printed labels: paper with fibres, a frame, lines of procedural glyph-like marks (no fonts:
// each glyph is 2-4 strokes picked from a small stroke alphabet) and often a barcode.

import type { Rng } from '../../../shared/random';
import { Canvas, between, pick, varyColour } from '../canvas';
import type { Rgb } from '../canvas';
import { addSensorNoise, applyLighting } from '../lighting';
import { PerlinNoise, ValueNoise, noiseField } from '../noise';
import { bezierPoints, emptyField, strokePolyline, strokeSegment } from '../raster';
import type { Field } from '../raster';
import type { NormalFamilyDef } from './types';

// Stroke alphabet in glyph-box units (0..1, y down): bars, diagonals and quadratic-curve bowls.
const STROKES: number[][] = [
  [0, 0, 0, 1],
  [1, 0, 1, 1],
  [0.5, 0, 0.5, 1],
  [0, 0, 1, 0],
  [0, 0.5, 1, 0.5],
  [0, 1, 1, 1],
  [0, 1, 1, 0],
  [0, 0, 1, 1],
  [0.5, 0, 0, 1],
  [0.5, 0, 1, 1],
  bezierPoints(0, 0, 1.4, 0.25, 0, 0.5, 6),
  bezierPoints(0, 0.5, 1.4, 0.75, 0, 1, 6),
  bezierPoints(1, 0, -0.4, 0.5, 1, 1, 8),
  bezierPoints(0, 0, 0.5, 1.6, 1, 0, 8),
];

/** Draws one glyph of 2-4 strokes into the ink field, in the box (x, y, w, h). */
export function drawGlyph(ink: Field, rng: Rng, x: number, y: number, w: number, h: number, hw: number): void {
  const n = 2 + rng.int(3);
  for (let k = 0; k < n; k++) {
    const s = pick(rng, STROKES);
    const pts = s.map((v, j) => (j % 2 === 0 ? x + v * w : y + v * h));
    strokePolyline(ink, pts, hw);
  }
}

/** One line of glyphs with word gaps from x0 to at most x1; returns the x where it ended. */
function drawTextLine(ink: Field, rng: Rng, x0: number, x1: number, y: number, glyphH: number, hw: number): number {
  const glyphW = glyphH * between(rng, 0.5, 0.7);
  const gap = glyphW * 0.35;
  let x = x0;
  const end = x0 + (x1 - x0) * between(rng, 0.5, 1);
  while (x + glyphW <= end) {
    drawGlyph(ink, rng, x, y, glyphW, glyphH, hw);
    x += glyphW + gap;
    if (rng.uniform() < 0.15) x += glyphW; // a space between words
  }
  return x;
}

const PAPERS: Rgb[] = [
  [236, 234, 226],
  [245, 240, 220],
  [225, 230, 235],
  [240, 225, 200],
];
const INKS: Rgb[] = [
  [25, 25, 30],
  [20, 35, 90],
  [120, 20, 25],
  [20, 70, 40],
];

function renderLabel(rng: Rng, size: number) {
  const c = new Canvas(size, size);
  const paper = varyColour(pick(rng, PAPERS), rng, 0.04, 0.02);
  const inkColour = varyColour(pick(rng, INKS), rng, 0.15);
  const ink = emptyField(size, size);
  const margin = between(rng, 10, 24);
  const frameHw = between(rng, 0.8, 1.8);
  // frame
  const m = margin;
  const e = size - margin;
  for (const [a, b, cc, d] of [[m, m, e, m], [e, m, e, e], [e, e, m, e], [m, e, m, m]] as const) strokeSegment(ink, a, b, cc, d, frameHw);
  let y = m + between(rng, 8, 14);
  // title line: larger glyphs
  const titleH = between(rng, 18, 28);
  drawTextLine(ink, rng, m + 10, e - 10, y, titleH, titleH * 0.09);
  y += titleH + between(rng, 8, 14);
  const hasBarcode = rng.uniform() < 0.6;
  const textBottom = hasBarcode ? e - 60 : e - 10;
  const bodyH = between(rng, 9, 14);
  while (y + bodyH < textBottom) {
    drawTextLine(ink, rng, m + 10, e - 10, y, bodyH, Math.max(0.7, bodyH * 0.08));
    y += bodyH * between(rng, 1.5, 1.9);
  }
  if (hasBarcode) {
    // bars of 1-4 module widths with gaps of 1-3 modules
    const module = between(rng, 1.2, 2.2);
    let x = m + 14;
    const top = e - 52;
    const bottom = e - 14;
    const right = Math.min(e - 14, x + between(rng, 120, 200));
    while (x < right) {
      const bw = module * (1 + rng.int(4));
      const hw = (bw - 1) / 2;
      strokeSegment(ink, x + hw, top, x + hw, bottom, Math.max(0.25, hw));
      x += bw + module * (1 + rng.int(3));
    }
  }
  // ink coverage varies a little (print density), paper has fibres and cockling
  const density = new ValueNoise(rng);
  const fibres = noiseField(new ValueNoise(rng), { width: size, height: size, scale: 1.2, stretchX: 6, octaves: 2 });
  const cockle = noiseField(new PerlinNoise(rng), { width: size, height: size, scale: 90, octaves: 2 });
  for (let i = 0; i < size * size; i++) {
    const x = i % size;
    const yy = (i - x) / size;
    const shade = 1 + 0.025 * fibres[i]! + 0.04 * cockle[i]!;
    const a = ink.data[i]! * (0.88 + 0.1 * density.at(x / 3, yy / 3));
    c.set(i, (paper[0] + (inkColour[0] - paper[0]) * a) * shade, (paper[1] + (inkColour[1] - paper[1]) * a) * shade, (paper[2] + (inkColour[2] - paper[2]) * a) * shade);
  }
  applyLighting(c, rng, { gradient: 0.2, vignette: 0.15, specular: 0.05, specularWidth: [40, 90] });
  addSensorNoise(c, rng, 1.5);
  return { family: 'label', image: c.toImage() };
}

export const LABEL_FAMILY: NormalFamilyDef = { name: 'label', kind: 'texture', material: { scratchTone: 'bright', gloss: 0.1 }, render: renderLabel };
