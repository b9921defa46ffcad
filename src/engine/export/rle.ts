// COCO run-length encoding of a binary mask (the "uncompressed RLE" of the COCO format, which
// pycocotools' frPyObjects reads): the mask is read in column-major (Fortran) order, and counts
// alternate between runs of 0 and runs of 1, starting with 0 (a mask whose first pixel is set
// starts with a run of 0 zeros). size is [height, width].
export interface CocoRle {
  size: [number, number];
  counts: number[];
}

export function encodeRle(mask: Uint8Array, width: number, height: number): CocoRle {
  if (mask.length !== width * height) throw new RangeError(`encodeRle: ${mask.length} values for ${width}x${height}`);
  const counts: number[] = [];
  let current = 0; // the value of the run being counted
  let run = 0;
  for (let x = 0; x < width; x++) {
    for (let y = 0; y < height; y++) {
      const v = mask[y * width + x]! > 0 ? 1 : 0;
      if (v !== current) {
        counts.push(run);
        run = 0;
        current = v;
      }
      run++;
    }
  }
  counts.push(run);
  return { size: [height, width], counts };
}

/** The inverse of encodeRle (row-major 0/255), for validation. */
export function decodeRle(rle: CocoRle): Uint8Array {
  const [height, width] = rle.size;
  const out = new Uint8Array(width * height);
  let k = 0;
  rle.counts.forEach((n, i) => {
    if (!Number.isInteger(n) || n < 0) throw new RangeError(`RLE count ${i} is ${n}`);
    for (let j = 0; j < n; j++, k++) {
      if (k >= width * height) throw new RangeError(`RLE counts cover more than ${width}x${height} pixels`);
      if (i % 2 === 1) out[(k % height) * width + Math.floor(k / height)] = 255;
    }
  });
  if (k !== width * height) throw new RangeError(`RLE counts cover ${k} pixels, the mask has ${width * height}`);
  return out;
}

/** [x, y, width, height] of the set pixels (COCO bbox), and their count (area). */
export function maskBox(mask: Uint8Array, width: number, height: number): { bbox: [number, number, number, number]; area: number } {
  let x0 = width;
  let y0 = height;
  let x1 = -1;
  let y1 = -1;
  let area = 0;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      if (mask[y * width + x]! === 0) continue;
      area++;
      if (x < x0) x0 = x;
      if (x > x1) x1 = x;
      if (y < y0) y0 = y;
      if (y > y1) y1 = y;
    }
  }
  return area === 0 ? { bbox: [0, 0, 0, 0], area } : { bbox: [x0, y0, x1 - x0 + 1, y1 - y0 + 1], area };
}
