// Where the mask embedding e_m sits in a built-in model's context, for training and sampling
// alike: [ 'family:mask' (or '<null>') | e_m (maskTokens) + '<null>' up to the anomaly slots |
// '<null>' in the spatial slots ]. Masks are images of their own kind, so the family slot names
// them where the model has a 'mask' family; the spatial slots stay empty (nothing to place).

import type { BuiltinModel } from '../models/builtin/load';
import { NULL_LABEL } from '../models/builtin/token-table';
import type { ContextSegment } from './inversion-graph';

export const MASK_TOKENS = 4;
export const MASK_FAMILY = 'family:mask';

export interface MaskLayout {
  maskTokens: number;
  /** the family slot's label */
  familyLabel: string;
  /** '<null>' rows after e_m: the unused anomaly slots, then the spatial slots */
  nullTokens: number;
}

export function maskLayout(model: BuiltinModel): MaskLayout {
  const { defectTokens: k, spatialTokens: n, vocabulary } = model.manifest.tokens;
  const maskTokens = Math.min(MASK_TOKENS, k);
  return { maskTokens, familyLabel: MASK_FAMILY in vocabulary ? MASK_FAMILY : NULL_LABEL, nullTokens: k - maskTokens + n };
}

function nullRows(model: BuiltinModel, count: number): Float32Array {
  const W = model.manifest.tokens.width;
  const row = model.tokens.row(NULL_LABEL);
  const out = new Float32Array(count * W);
  for (let i = 0; i < count; i++) out.set(row, i * W);
  return out;
}

/** The training graph's context segments, e_m fed as the graph input `input`. */
export function maskSegments(model: BuiltinModel, layout: MaskLayout, input: string): ContextSegment[] {
  return [
    { kind: 'fixed', rows: model.tokens.row(layout.familyLabel) },
    { kind: 'trained', input, tokens: layout.maskTokens },
    { kind: 'fixed', rows: nullRows(model, layout.nullTokens) },
  ];
}

/** The full conditional context [contextLength, width] for sampling with a trained e_m. */
export function maskContext(model: BuiltinModel, layout: MaskLayout, em: Float32Array): Float32Array {
  const W = model.manifest.tokens.width;
  if (em.length !== layout.maskTokens * W) throw new RangeError(`mask embedding has ${em.length} values; the model takes ${layout.maskTokens}x${W}`);
  const out = new Float32Array((1 + layout.maskTokens + layout.nullTokens) * W);
  out.set(model.tokens.row(layout.familyLabel), 0);
  out.set(em, W);
  out.set(nullRows(model, layout.nullTokens), (1 + layout.maskTokens) * W);
  return out;
}

/** The mask as an RGB image: defect white (+1), background black (-1) in every channel. */
export function maskAsImage(mask: ArrayLike<number>, width: number, height: number): { width: number; height: number; channels: 3; data: Uint8Array } {
  const data = new Uint8Array(width * height * 3);
  for (let p = 0; p < width * height; p++) if (mask[p]! > 0) data.fill(255, p * 3, p * 3 + 3);
  return { width, height, channels: 3, data };
}
