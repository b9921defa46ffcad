// What a normal (defect-free) family renders and what the defect painters need to know about
// its material.

import type { Rng } from '../../../shared/random';
import type { RgbImage } from '../canvas';

export interface NormalSample {
  family: string;
  image: RgbImage;
  /** object families: 255 on the object's pixels, 0 elsewhere */
  foreground?: Uint8Array;
  /** object families: the same scene without the object (what a cut reveals) */
  background?: RgbImage;
}

/** How the surface reacts to damage; the defect painters read it. */
export interface Material {
  /** a scratch catches the light (polished metal, glaze) or reads as a dark groove (wood, leather) */
  scratchTone: 'bright' | 'dark';
  /** 0 = matte, 1 = mirror-like: strength of highlights on glue and rims */
  gloss: number;
}

export interface NormalFamilyDef {
  name: string;
  kind: 'texture' | 'object';
  material: Material;
  render(rng: Rng, size: number): NormalSample;
}
