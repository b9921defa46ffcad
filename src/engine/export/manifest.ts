// The manifest every exported format carries (manifest.json at its root): which file is which
// synthetic pair or real image, and each synthetic pair's full lineage (normal image, mask origin,
// artifacts, model hash, seed, sampler settings, runtime and app versions), so a training run
// on the export can be traced back to how every image was made.
import type { ExportFormat, ExportReal, ExportSet, ExportSynthetic } from './types';

export const MANIFEST_FORMAT = 'defectforge-export';
export const MANIFEST_VERSION = 1;

export interface ManifestEntry {
  file: string;
  mask?: string;
  split: 'train' | 'test';
}

export class ManifestBuilder {
  private readonly synthetic: Record<string, unknown>[] = [];
  private readonly real: Record<string, unknown>[] = [];
  constructor(private readonly format: ExportFormat) {}

  addSynthetic(s: ExportSynthetic, entry: ManifestEntry): void {
    this.synthetic.push({ ...entry, sampleId: s.sampleId, category: s.category, defectType: s.defectType, lineage: s.lineage });
  }

  addReal(r: ExportReal, entry: ManifestEntry): void {
    this.real.push({ ...entry, imageId: r.imageId, category: r.category, defectType: r.defectType, sourcePath: r.sourcePath });
  }

  toJson(set: ExportSet, extra: Record<string, unknown> = {}): string {
    return (
      JSON.stringify(
        {
          format: MANIFEST_FORMAT,
          version: MANIFEST_VERSION,
          layout: this.format,
          project: set.projectName,
          createdAt: new Date().toISOString(),
          types: set.types.map((t) => `${t.category}/${t.name}`),
          counts: { synthetic: this.synthetic.length, real: this.real.length },
          ...extra,
          synthetic: this.synthetic,
          real: this.real,
        },
        null,
        1,
      ) + '\n'
    );
  }
}
