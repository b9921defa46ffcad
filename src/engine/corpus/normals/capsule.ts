// A two-piece capsule (pill) lying on a backdrop: a stadium outline whose 3-D surface is a
// cylinder with hemispherical caps, two coloured halves with a seam, an imprint on one half,
// and a specular streak along its length.

import type { Rng } from '../../../shared/random';
import { Canvas, between, clamp01, pick, varyColour } from '../canvas';
import type { Rgb } from '../canvas';
import { emptyField } from '../raster';
import { drawGlyph } from './label';
import { castShadow, composeObject, randomLight, renderBackdrop, shadeNormal } from './scene';
import type { NormalFamilyDef, NormalSample } from './types';

const SHELLS: Rgb[] = [
  [200, 40, 40],
  [230, 225, 215],
  [40, 80, 170],
  [230, 190, 60],
  [60, 140, 80],
  [150, 60, 140],
];

function renderCapsule(rng: Rng, size: number): NormalSample {
  const backdrop = renderBackdrop(rng, size);
  const cx = size / 2 + between(rng, -10, 10);
  const cy = size / 2 + between(rng, -10, 10);
  const half = between(rng, 55, 75);
  const radius = between(rng, 34, 46);
  const a = between(rng, -0.35, 0.35) + (rng.uniform() < 0.3 ? Math.PI / 2 : 0);
  const [ca, sa] = [Math.cos(a), Math.sin(a)];
  const capColour = varyColour(pick(rng, SHELLS), rng, 0.06, 0.03);
  const bodyColour = rng.uniform() < 0.4 ? capColour : varyColour(pick(rng, SHELLS), rng, 0.06, 0.03);
  const seam = between(rng, -0.15, 0.15) * half;
  const light = randomLight(rng);
  // imprint: a short row of glyphs on the body half, in capsule coordinates (u along, v across)
  const imprint = emptyField(size, size);
  const glyphH = radius * 0.6;
  const glyphW = glyphH * 0.6;
  const count = 2 + rng.int(3);
  const u0 = seam - half * 0.15 - count * glyphW * 1.3;
  for (let k = 0; k < count; k++) drawGlyph(imprint, rng, size / 2 + u0 + k * glyphW * 1.3, size / 2 - glyphH / 2, glyphW, glyphH, 1.2);
  const inkColour: Rgb = pick<Rgb>(rng, [[30, 30, 30], [240, 240, 240]]);
  const sdf = (x: number, y: number): number => {
    const u = ca * (x - cx) + sa * (y - cy);
    const v = -sa * (x - cx) + ca * (y - cy);
    const q = Math.max(Math.abs(u) - half, 0);
    return Math.hypot(q, v) - radius;
  };
  castShadow(backdrop, sdf, light, 0.5, 14);
  const object = new Canvas(size, size);
  const coverage = new Float32Array(size * size);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const i = y * size + x;
      coverage[i] = clamp01(0.5 - sdf(x, y));
      if (coverage[i] === 0) continue;
      const u = ca * (x - cx) + sa * (y - cy);
      const v = -sa * (x - cx) + ca * (y - cy);
      // offset from the nearest point on the axis segment gives the surface normal
      const qu = u - Math.max(-half, Math.min(half, u));
      const ru = qu / radius;
      const rv = v / radius;
      const nz = Math.sqrt(Math.max(0.02, 1 - ru * ru - rv * rv));
      const nx = ca * ru - sa * rv;
      const ny = sa * ru + ca * rv;
      const [diffuse, spec] = shadeNormal(nx, ny, nz, light, 40);
      const body = u < seam;
      const col = body ? bodyColour : capColour;
      // the cap overlaps the body: a thin dark seam line
      const seamShade = Math.abs(u - seam) < 1.2 ? 0.7 : 1;
      let r = col[0] * diffuse * seamShade;
      let g = col[1] * diffuse * seamShade;
      let b = col[2] * diffuse * seamShade;
      // imprint is drawn in an axis-aligned frame and mapped through the capsule's rotation
      const iu = Math.round(size / 2 + u);
      const iv = Math.round(size / 2 + v);
      if (iu >= 0 && iu < size && iv >= 0 && iv < size) {
        const ink = imprint.data[iv * size + iu]! * nz;
        r += (inkColour[0] - r) * ink;
        g += (inkColour[1] - g) * ink;
        b += (inkColour[2] - b) * ink;
      }
      const hl = spec * 150;
      object.set(i, r + hl, g + hl, b + hl);
    }
  }
  return composeObject('capsule', rng, backdrop, object, coverage);
}

export const CAPSULE_FAMILY: NormalFamilyDef = { name: 'capsule', kind: 'object', material: { scratchTone: 'bright', gloss: 0.5 }, render: renderCapsule };
