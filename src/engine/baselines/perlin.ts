// DRAEM-style Perlin anomalies (Zavrtanik et al., ICCV 2021): a Perlin-noise field, thresholded,
// is the mask; inside it a foreign texture is blended into the normal image:
//   x = (1 - m) * y + m * ((1 - beta) * texture + beta * y)
// DRAEM's field: 2-D Perlin noise with 2^kx x 2^ky lattice cells across the image
// (kx, ky uniform in {0..5}), rotated by an angle in [-90, 90] degrees, threshold 0.5 on its raw
// scale (gradients of unit length: values within +-sqrt(1/2)). corpus/noise.ts scales Perlin noise
// by sqrt(2), so the same threshold is 0.5 * sqrt(2) here. beta is uniform in [0.1, 1.0).
// The foreign textures are procedural corpus surfaces (DRAEM uses DTD photographs), rendered once
// per generator from its seed, with random flips per pair. Outside the mask the image is
// unchanged, bit for bit.
import { Rng } from '../../shared/random';
import { UserError } from '../../shared/errors';
import { NORMAL_FAMILIES, PerlinNoise, generateNormal, noiseField } from '../corpus';
import type { DefectGenerator } from '../eval/generator';
import { blankMask, clonePicture, resizePicture, type Picture } from '../eval/picture';

export interface PerlinSettings {
  /** lattice cells per axis are 2^k, k uniform in [minScaleExp, maxScaleExp] */
  minScaleExp: number;
  maxScaleExp: number;
  /** threshold on DRAEM's raw Perlin scale */
  threshold: number;
  betaMin: number;
  betaMax: number;
  maxRotationDeg: number;
  /** corpus families rendered as foreign textures */
  textureFamilies: readonly string[];
  /** tries before giving up on a non-empty mask */
  maxTries: number;
}

export const PERLIN_DEFAULTS: PerlinSettings = {
  minScaleExp: 0,
  maxScaleExp: 5,
  threshold: 0.5,
  betaMin: 0.1,
  betaMax: 1.0,
  maxRotationDeg: 90,
  textureFamilies: NORMAL_FAMILIES.filter((f) => f.kind === 'texture').map((f) => f.name),
  maxTries: 50,
};

export interface TextureSource {
  family: string;
  picture: Picture;
}

/** One texture per family, rendered from `seed` and resized to the working resolution. */
export function renderTextures(families: readonly string[], seed: number, width: number, height: number): TextureSource[] {
  return families.map((family, k) => {
    const rgb = generateNormal(family, new Rng((seed ^ Math.imul(k + 1, 0x9e3779b1)) >>> 0)).image;
    const picture: Picture = { width: rgb.width, height: rgb.height, data: Float32Array.from(rgb.data, (v) => v / 255) };
    return { family, picture: resizePicture(picture, width, height) };
  });
}

export function createPerlinAnomalies(textures: readonly TextureSource[], settings: Partial<PerlinSettings> = {}): DefectGenerator {
  const s: PerlinSettings = { ...PERLIN_DEFAULTS, ...settings };
  if (textures.length === 0) throw new UserError('BAD_SETTINGS', 'perlin: no foreign textures to fill anomalies with');
  if (!(s.betaMin >= 0 && s.betaMax <= 1 && s.betaMin < s.betaMax)) throw new UserError('BAD_SETTINGS', `perlin: beta range [${s.betaMin}, ${s.betaMax}) is not inside [0, 1]`);
  const threshold = s.threshold * Math.SQRT2;
  return {
    name: 'perlin',
    settings: { ...s, textureFamilies: textures.map((t) => t.family) },
    generate(normal, _defectType, rng) {
      const { width, height } = normal.picture;
      for (let attempt = 0; attempt < s.maxTries; attempt++) {
        const kx = s.minScaleExp + rng.int(s.maxScaleExp - s.minScaleExp + 1);
        const ky = s.minScaleExp + rng.int(s.maxScaleExp - s.minScaleExp + 1);
        const angle = ((rng.uniform() * 2 - 1) * s.maxRotationDeg * Math.PI) / 180;
        const noise = new PerlinNoise(rng);
        // cell size in pixels: width / 2^kx along x, height / 2^ky along y
        const cellX = width / 2 ** kx;
        const field = noiseField(noise, {
          width,
          height,
          octaves: 1,
          scale: cellX,
          stretchY: height / 2 ** ky / cellX,
          axis: [Math.cos(angle), Math.sin(angle)],
          offsetX: rng.uniform() * 64,
          offsetY: rng.uniform() * 64,
        });
        const mask = blankMask(width, height);
        let area = 0;
        for (let i = 0; i < field.length; i++) {
          if (field[i]! > threshold) {
            mask.data[i] = 1;
            area++;
          }
        }
        if (area === 0) continue;
        const texture = textures[rng.int(textures.length)]!;
        const flipX = rng.uniform() < 0.5;
        const flipY = rng.uniform() < 0.5;
        const beta = s.betaMin + rng.uniform() * (s.betaMax - s.betaMin);
        const image = clonePicture(normal.picture);
        const t = texture.picture;
        for (let i = 0; i < mask.data.length; i++) {
          if (!mask.data[i]) continue;
          const x = i % width;
          const y = (i - x) / width;
          // the texture is resized to the working resolution; tile it if the image differs
          const tx = (flipX ? width - 1 - x : x) % t.width;
          const ty = (flipY ? height - 1 - y : y) % t.height;
          for (let c = 0; c < 3; c++) {
            const k = i * 3 + c;
            image.data[k] = (1 - beta) * t.data[(ty * t.width + tx) * 3 + c]! + beta * image.data[k]!;
          }
        }
        return {
          image,
          mask,
          lineage: {
            normalImageId: normal.imageId,
            sourceImageIds: [],
            maskOrigin: 'perlin',
            sampled: { cellsX: 2 ** kx, cellsY: 2 ** ky, rotationDeg: (angle * 180) / Math.PI, beta, texture: texture.family, flipX, flipY, attempts: attempt + 1 },
          },
        };
      }
      throw new UserError('PERLIN_EMPTY', `perlin: ${s.maxTries} noise fields in a row gave an empty mask at ${width}x${height}; lower the threshold`);
    },
  };
}
