// Connected components of a binary mask with 8-connectivity, as the MVTec AD evaluation code
// labels ground-truth regions (scipy.ndimage.label with a 3x3 structure of ones).

export interface Components {
  /** per pixel: 0 = background, 1..count = the component */
  labels: Int32Array;
  count: number;
  /** pixels per component; sizes[0] is unused */
  sizes: number[];
}

/** Labels the nonzero pixels of a width x height mask (row-major); flood fill with an explicit stack. */
export function connectedComponents(mask: ArrayLike<number>, width: number, height: number): Components {
  if (mask.length !== width * height) throw new Error(`components: mask has ${mask.length} pixels, ${width}x${height} needs ${width * height}`);
  const labels = new Int32Array(width * height);
  const sizes = [0];
  const stack: number[] = [];
  let count = 0;
  for (let start = 0; start < labels.length; start++) {
    if (!mask[start] || labels[start] !== 0) continue;
    count++;
    let size = 0;
    labels[start] = count;
    stack.push(start);
    while (stack.length > 0) {
      const i = stack.pop()!;
      size++;
      const x = i % width;
      const y = (i - x) / width;
      for (let dy = -1; dy <= 1; dy++) {
        const ny = y + dy;
        if (ny < 0 || ny >= height) continue;
        for (let dx = -1; dx <= 1; dx++) {
          const nx = x + dx;
          if (nx < 0 || nx >= width) continue;
          const j = ny * width + nx;
          if (mask[j] && labels[j] === 0) {
            labels[j] = count;
            stack.push(j);
          }
        }
      }
    }
    sizes.push(size);
  }
  return { labels, count, sizes };
}
