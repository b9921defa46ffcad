// Chessboard (8-neighbour) distance from a mask, capped: 0 inside the mask, d = 1..limit for
// pixels d dilation steps away, limit + 1 for everything farther. Computed by `limit` rounds of
// 3x3 dilation over a frontier, so the cost is proportional to the seam area, not the image.
import type { Mask } from '../eval/picture';

export function chessboardDistance(mask: Mask, limit: number): Uint16Array {
  const { width, height } = mask;
  const far = limit + 1;
  const dist = new Uint16Array(width * height).fill(far);
  let frontier: number[] = [];
  for (let i = 0; i < mask.data.length; i++) {
    if (mask.data[i]) {
      dist[i] = 0;
      frontier.push(i);
    }
  }
  for (let d = 1; d <= limit && frontier.length > 0; d++) {
    const next: number[] = [];
    for (const i of frontier) {
      const x = i % width;
      const y = (i - x) / width;
      for (let dy = -1; dy <= 1; dy++) {
        const ny = y + dy;
        if (ny < 0 || ny >= height) continue;
        for (let dx = -1; dx <= 1; dx++) {
          const nx = x + dx;
          if (nx < 0 || nx >= width) continue;
          const j = ny * width + nx;
          if (dist[j] === far) {
            dist[j] = d;
            next.push(j);
          }
        }
      }
    }
    frontier = next;
  }
  return dist;
}
