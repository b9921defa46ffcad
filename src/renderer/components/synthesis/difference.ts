// The difference view of the lineage: |synthetic - normal| per pixel (max over RGB), drawn as grey
// levels stretched so the largest difference is white. The normal image is scaled to the
// synthetic's size first (a pair may have been generated at the model's size and resized).

async function loadImage(src: string): Promise<HTMLImageElement> {
  const img = new Image();
  img.src = src;
  await img.decode();
  return img;
}

function pixels(img: HTMLImageElement, width: number, height: number): Uint8ClampedArray {
  const canvas = document.createElement('canvas');
  canvas.width = width;
  canvas.height = height;
  const ctx = canvas.getContext('2d', { willReadFrequently: true })!;
  ctx.drawImage(img, 0, 0, width, height);
  return ctx.getImageData(0, 0, width, height).data;
}

/** Draws the difference into `canvas`; returns the largest per-pixel difference (0..255). */
export async function drawDifference(canvas: HTMLCanvasElement, normalSrc: string, syntheticSrc: string): Promise<number> {
  const [normal, synthetic] = await Promise.all([loadImage(normalSrc), loadImage(syntheticSrc)]);
  const width = synthetic.naturalWidth;
  const height = synthetic.naturalHeight;
  const a = pixels(normal, width, height);
  const b = pixels(synthetic, width, height);
  const diff = new Uint8ClampedArray(width * height);
  let max = 0;
  for (let i = 0; i < diff.length; i++) {
    const o = i * 4;
    const d = Math.max(Math.abs(a[o]! - b[o]!), Math.abs(a[o + 1]! - b[o + 1]!), Math.abs(a[o + 2]! - b[o + 2]!));
    diff[i] = d;
    if (d > max) max = d;
  }
  canvas.width = width;
  canvas.height = height;
  const ctx = canvas.getContext('2d')!;
  const out = ctx.createImageData(width, height);
  const gain = max > 0 ? 255 / max : 0;
  for (let i = 0; i < diff.length; i++) {
    const v = diff[i]! * gain;
    out.data[i * 4] = v;
    out.data[i * 4 + 1] = v;
    out.data[i * 4 + 2] = v;
    out.data[i * 4 + 3] = 255;
  }
  ctx.putImageData(out, 0, 0);
  return max;
}
