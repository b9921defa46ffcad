// A contact sheet to eyeball the pretrained model: per row a procedural normal image, the same
// image with a real procedural defect (the reference), the defect's mask, and what the model
// paints into the normal image inside that mask (blended generation of METHOD.md through the
// package loader, conditioned on the family token, the defect family's rows and the mask).
// Only trained defect families are shown (the held-out ones have untrained rows).

import { NORMAL_FAMILIES, applyDefect, deriveSeed, generateNormal, CORPUS_SIZE } from '../../../corpus';
import { generateBlended } from '../../../diffusion/blended';
import { encodePng } from '../../../imaging';
import { writeFileAtomic } from '../../../autodiff/checkpoint';
import { Rng } from '../../../../shared/random';
import { loadBuiltinModel } from '../../builtin/load';
import { HELD_OUT_DEFECTS, downscale } from './data';

export interface PreviewOptions {
  rows: number;
  steps: number;
  guidance: number;
  seed: number;
}

export const DEFAULT_PREVIEW: PreviewOptions = { rows: 6, steps: 25, guidance: 3, seed: 1 };

export interface PreviewRow {
  family: string;
  defect: string;
  /** mean absolute 8-bit change inside the mask (generated vs normal) */
  changeInside: number;
}

export async function writePreview(packageDir: string, outFile: string, opts: PreviewOptions = DEFAULT_PREVIEW): Promise<PreviewRow[]> {
  const model = await loadBuiltinModel(packageDir, { intraOpNumThreads: 1 });
  try {
    const S = model.facts.imageSize.width;
    const factor = CORPUS_SIZE / S;
    const sheet = new Uint8Array(opts.rows * S * 4 * S * 3);
    const put = (rgb: Uint8Array, row: number, col: number): void => {
      for (let y = 0; y < S; y++) sheet.set(rgb.subarray(y * S * 3, (y + 1) * S * 3), ((row * S + y) * 4 * S + col * S) * 3);
    };
    const rows: PreviewRow[] = [];
    for (let r = 0; r < opts.rows; r++) {
      const rng = new Rng(deriveSeed(opts.seed, 'tiny-ldm-preview', r));
      const family = NORMAL_FAMILIES[r % NORMAL_FAMILIES.length]!;
      const defects = family.defects.filter((d) => !HELD_OUT_DEFECTS.includes(d));
      const defect = defects[rng.int(defects.length)]!;
      const normalFull = generateNormal(family.name, rng);
      const reference = applyDefect(defect, normalFull, rng);
      const normal = downscale(normalFull.image.data, CORPUS_SIZE, 3, factor);
      const maskSmall = downscale(reference.mask, CORPUS_SIZE, 1, factor).map((v) => (v > 0 ? 255 : 0));
      const result = await generateBlended(model, {
        normal: { width: S, height: S, channels: 3, data: normal },
        mask: maskSmall,
        conditioning: { prompt: family.name, defect, mask: { width: S, height: S, data: maskSmall } },
        seed: deriveSeed(opts.seed, 'tiny-ldm-preview-sample', r),
        sampler: { sampler: 'ddim', steps: opts.steps },
        guidanceScale: opts.guidance,
      });
      put(normal, r, 0);
      put(downscale(reference.image.data, CORPUS_SIZE, 3, factor), r, 1);
      put(Uint8Array.from({ length: S * S * 3 }, (_, i) => maskSmall[Math.floor(i / 3)]!), r, 2);
      put(result.image.data, r, 3);
      let inside = 0;
      let insideCount = 0;
      for (let p = 0; p < S * S; p++) {
        for (let c = 0; c < 3; c++) {
          const d = Math.abs(result.image.data[p * 3 + c]! - normal[p * 3 + c]!);
          if (maskSmall[p]) {
            inside += d;
            insideCount++;
          }
        }
      }
      rows.push({ family: family.name, defect, changeInside: insideCount ? inside / insideCount : 0 });
    }
    const png = await encodePng({ width: 4 * S, height: opts.rows * S, channels: 3, data: sheet });
    await writeFileAtomic(outFile, png);
    return rows;
  } finally {
    await model.release();
  }
}
