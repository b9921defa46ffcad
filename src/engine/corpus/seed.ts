// Per-file seeds derived from the corpus seed and the file's identity (family, split, defect,
// index), so one file's pixels never depend on which other files were generated.

/** 32-bit FNV-1a over the UTF-8 bytes of the parts, mixed with the base seed. */
export function deriveSeed(seed: number, ...parts: (string | number)[]): number {
  let h = (0x811c9dc5 ^ (seed >>> 0)) >>> 0;
  const text = new TextEncoder().encode(parts.join('\u0000'));
  for (const byte of text) {
    h ^= byte;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  // final avalanche (murmur3 fmix32) so nearby inputs give unrelated seeds
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b) >>> 0;
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35) >>> 0;
  h ^= h >>> 16;
  return h >>> 0;
}
