// The contract between the defect pipeline and the defect families.
//
// A family's `plan` draws every random choice up front (where, which shape, which colour) and
// returns a `render(s)` that paints the defect at size s in (0, 1] - deterministically, so the
// pipeline can search s until the visible area lands in the requested range.

import type { Rng } from '../../../shared/random';
import type { Canvas, RgbImage } from '../canvas';
import type { Material } from '../normals/types';

export interface DefectContext {
  width: number;
  height: number;
  /** the normal image as floats (read-only for painters: sample from it) */
  source: Canvas;
  /** 1 where the defect may appear (the object's foreground, or everywhere for textures) */
  allowed: Uint8Array;
  /** true when `allowed` is an object's foreground rather than the whole image */
  isObject: boolean;
  /** what lies behind the object (object families), for cuts */
  background: Canvas | undefined;
  material: Material;
}

export interface DefectPlan {
  /** paints the defect at relative size s (0..1] into `out`, a fresh copy of the source */
  render(s: number, out: Canvas): void;
}

export interface DefectFamilyDef {
  name: string;
  /** area range (fraction of the image) used when the caller gives none */
  defaultArea: readonly [number, number];
  plan(ctx: DefectContext, rng: Rng): DefectPlan;
}

export interface DefectResult {
  image: RgbImage;
  /** 255 exactly where the defect changed the image visibly, 0 elsewhere */
  mask: Uint8Array;
  /** mask area as a fraction of the image */
  area: number;
}
