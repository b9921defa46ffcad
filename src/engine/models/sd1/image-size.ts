// The pixel size an SD 1.x export with a symbolic image size is run at (`--size WxH`, the
// engine methods' imageSize), checked where it crosses a boundary. No model code is imported:
// the engine checks params before it loads anything.
import { UserError } from '../../../shared/errors';
import type { Size2 } from '../types';

/** A pixel size a model may be opened at: whole multiples of 8 (SD 1.x's VAE halves the size three times), 8..4096. */
export function checkImageSize(what: string, size: unknown): asserts size is Size2 {
  const ok = (v: unknown): boolean => typeof v === 'number' && Number.isInteger(v) && v >= 8 && v <= 4096 && v % 8 === 0;
  const s = size as Partial<Size2> | null;
  if (typeof s !== 'object' || s === null || !ok(s.width) || !ok(s.height)) {
    throw new UserError('BAD_PARAMS', `${what} must be { width, height }, whole multiples of 8 from 8 to 4096 (got ${JSON.stringify(size)})`);
  }
}
