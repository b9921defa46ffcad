// The decoder's reconstructions of normal images, decode(encode(image)) at the model's size, which
// restoring the detail in a pair (paste-back's restoreDetail) needs once per pair: pairs drawn on a
// normal image seen before reuse it instead of decoding it again (one decoder run of the tiny LDM
// at 256 px is ~20% of a pair). Entries are keyed by what determines the model-size image (the
// normal image's blob and the window generated on); one cache serves one model, and holds the most
// recently used `capacity` images.
import type { RgbImage } from '../diffusion/image-tensor';
import type { PairWindow } from './pair-window';

export class ReconstructionCache {
  private readonly entries = new Map<string, RgbImage>();

  constructor(private readonly capacity = 32) {
    if (!(Number.isInteger(capacity) && capacity >= 1)) throw new RangeError(`reconstruction cache: capacity must be a whole number >= 1, got ${capacity}`);
  }

  /** The key of a model-size image: a normal image's blob, whole or through a window. */
  static key(blob: string, window?: PairWindow): string {
    return window ? `${blob}@${window.x},${window.y},${window.width}x${window.height}${window.squeezed ? ',squeezed' : ''}` : blob;
  }

  get(key: string): RgbImage | undefined {
    const found = this.entries.get(key);
    if (found) {
      // most recently used last
      this.entries.delete(key);
      this.entries.set(key, found);
    }
    return found;
  }

  set(key: string, image: RgbImage): void {
    this.entries.delete(key);
    this.entries.set(key, image);
    while (this.entries.size > this.capacity) this.entries.delete(this.entries.keys().next().value!);
  }

  get size(): number {
    return this.entries.size;
  }
}
