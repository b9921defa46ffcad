// Crop-and-paste baseline (CutPaste-style, with real defects): cut one defect region out of a
// real training image by its mask, transform it (flips, rotation, scale), and paste it onto a
// normal image with a feathered seam. The output mask is the transformed region itself, so it
// labels the pasted defect exactly.
//
// Geometry: for each output pixel q near the paste position, the inverse transform gives a
// source position s = C + S^-1 R^-1 F (q - Q)  (C, Q the region's and the paste's centres,
// F the flips, R the rotation, S the scale). The mask is sampled nearest-neighbour from the chosen
// region, the image bilinearly from the whole source picture (so the seam carries the defect's
// real surroundings).
// Blending: alpha = 1 inside the mask; outside it, alpha = 1 - d / (r + 1) for pixels at
// chessboard distance d <= r from the mask (r = feather radius), and 0 beyond, so every pixel
// farther than r from the mask is the normal image's value, bit for bit.
import type { Rng } from '../../shared/random';
import { UserError } from '../../shared/errors';
import type { DefectExample, DefectGenerator, GeneratedPair, ProjectPicture } from '../eval/generator';
import { connectedComponents } from '../eval/metrics/components';
import { blankMask, clonePicture, sampleBilinear, type Mask } from '../eval/picture';
import { chessboardDistance } from './distance';

export interface CutPasteSettings {
  /** largest rotation in degrees either way (0 = none, 180 = any angle) */
  maxRotationDeg: number;
  /** scale factor range */
  minScale: number;
  maxScale: number;
  /** random horizontal/vertical mirroring */
  flips: boolean;
  /** feather radius in pixels around the mask */
  featherPx: number;
}

const MAX_TRIES = 20;

// a 1-pixel seam: at the inspector's ~128 x 128 resolution a wider ring outweighs small defects
export const CUTPASTE_DEFAULTS: CutPasteSettings = { maxRotationDeg: 180, minScale: 0.75, maxScale: 1.25, flips: true, featherPx: 1 };

interface Region {
  example: DefectExample;
  /** 1 inside the chosen connected component of the example's mask */
  mask: Mask;
  cx: number;
  cy: number;
  /** half extent: the region fits in a circle of this radius around (cx, cy) */
  radius: number;
}

/** Every connected component of every training mask, grouped by defect type. */
function regionsByType(defects: readonly DefectExample[]): Map<string, Region[]> {
  const byType = new Map<string, Region[]>();
  for (const example of defects) {
    const { width, height } = example.mask;
    const cc = connectedComponents(example.mask.data, width, height);
    for (let c = 1; c <= cc.count; c++) {
      const mask = blankMask(width, height);
      let sx = 0, sy = 0;
      for (let i = 0; i < cc.labels.length; i++) {
        if (cc.labels[i] !== c) continue;
        mask.data[i] = 1;
        sx += i % width;
        sy += Math.floor(i / width);
      }
      const cx = sx / cc.sizes[c]!;
      const cy = sy / cc.sizes[c]!;
      let radius = 0;
      for (let i = 0; i < mask.data.length; i++) if (mask.data[i]) radius = Math.max(radius, Math.hypot((i % width) - cx, Math.floor(i / width) - cy));
      const list = byType.get(example.defectType) ?? [];
      list.push({ example, mask, cx, cy, radius: radius + 0.5 });
      byType.set(example.defectType, list);
    }
  }
  return byType;
}

export function createCutPaste(defects: readonly DefectExample[], settings: Partial<CutPasteSettings> = {}): DefectGenerator {
  const s: CutPasteSettings = { ...CUTPASTE_DEFAULTS, ...settings };
  if (!(s.minScale > 0 && s.maxScale >= s.minScale)) throw new UserError('BAD_SETTINGS', `cutpaste: scale range [${s.minScale}, ${s.maxScale}] is not valid`);
  if (!(s.featherPx >= 0 && Number.isInteger(s.featherPx))) throw new UserError('BAD_SETTINGS', `cutpaste: featherPx must be a whole number >= 0, got ${s.featherPx}`);
  const regions = regionsByType(defects);
  return {
    name: 'cutpaste',
    settings: { ...s },
    generate(normal, defectType, rng) {
      const list = regions.get(defectType);
      if (!list || list.length === 0) {
        throw new UserError('NO_TRAINING_DEFECTS', `cutpaste: defect type '${defectType}' has no training image with a non-empty mask to cut from`);
      }
      // nearest-neighbour sampling can miss a region of a pixel or two when it shrinks and turns
      for (let attempt = 0; attempt < MAX_TRIES; attempt++) {
        const pair = paste(normal, list[rng.int(list.length)]!, s, rng);
        if (pair.mask.data.some((v) => v !== 0)) return pair;
      }
      throw new UserError('CUTPASTE_EMPTY', `cutpaste: ${MAX_TRIES} transformed regions of '${defectType}' in a row were empty at ${normal.picture.width}x${normal.picture.height}`);
    },
  };
}

function paste(normal: ProjectPicture, region: Region, s: CutPasteSettings, rng: Rng): GeneratedPair {
  const { width, height } = normal.picture;
  const flipX = s.flips && rng.uniform() < 0.5;
  const flipY = s.flips && rng.uniform() < 0.5;
  const angle = ((rng.uniform() * 2 - 1) * s.maxRotationDeg * Math.PI) / 180;
  // the region (plus seam) must fit inside the image: shrink the scale if it would not
  const fitScale = (Math.min(width, height) / 2 - s.featherPx - 1) / region.radius;
  const scale = Math.min(s.minScale + rng.uniform() * (s.maxScale - s.minScale), Math.max(fitScale, 0.05));
  const reach = region.radius * scale + s.featherPx + 1;
  // paste centre, so the transformed region stays inside the image; shifted by whole pixels from
  // the region's centre, so without rotation and scale the pixels land on the grid unresampled
  const qx = region.cx + Math.round(reach + rng.uniform() * Math.max(0, width - 2 * reach) - region.cx);
  const qy = region.cy + Math.round(reach + rng.uniform() * Math.max(0, height - 2 * reach) - region.cy);
  const cos = Math.cos(angle);
  const sin = Math.sin(angle);
  const source = region.example.picture;
  const src = region.mask;

  /** source position of output pixel (x, y): undo the translation, rotation, scale, flips */
  const inverse = (x: number, y: number): [number, number] => {
    const dx = x - qx;
    const dy = y - qy;
    let u = (cos * dx + sin * dy) / scale;
    let v = (-sin * dx + cos * dy) / scale;
    if (flipX) u = -u;
    if (flipY) v = -v;
    return [region.cx + u, region.cy + v];
  };

  const mask = blankMask(width, height);
  const x0 = Math.max(0, Math.floor(qx - reach));
  const x1 = Math.min(width - 1, Math.ceil(qx + reach));
  const y0 = Math.max(0, Math.floor(qy - reach));
  const y1 = Math.min(height - 1, Math.ceil(qy + reach));
  for (let y = y0; y <= y1; y++) {
    for (let x = x0; x <= x1; x++) {
      const [u, v] = inverse(x, y);
      const su = Math.round(u);
      const sv = Math.round(v);
      if (su >= 0 && sv >= 0 && su < src.width && sv < src.height && src.data[sv * src.width + su]) mask.data[y * width + x] = 1;
    }
  }

  const image = clonePicture(normal.picture);
  const distance = chessboardDistance(mask, s.featherPx);
  for (let i = 0; i < distance.length; i++) {
    const d = distance[i]!;
    if (d > s.featherPx) continue;
    const alpha = 1 - d / (s.featherPx + 1);
    const [u, v] = inverse(i % width, Math.floor(i / width));
    for (let c = 0; c < 3; c++) {
      const k = i * 3 + c;
      image.data[k] = alpha * sampleBilinear(source, u, v, c) + (1 - alpha) * image.data[k]!;
    }
  }
  return {
    image,
    mask,
    lineage: {
      normalImageId: normal.imageId,
      sourceImageIds: [region.example.imageId],
      maskOrigin: 'cutpaste:transformed-real-mask',
      sampled: { flipX, flipY, rotationDeg: (angle * 180) / Math.PI, scale, pasteX: qx, pasteY: qy },
    },
  };
}
