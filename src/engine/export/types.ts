// What an export writes, gathered from the project beforehand (src/main/augment/collect.ts), so
// the format writers are plain functions of data: synthetic pairs (with their lineage) and the
// real images they go with. Real test images are a separate list and never share a folder or a
// split with synthetic pairs in any format.

export interface ExportMask {
  /** the canonical 1-channel PNG (0/255) */
  png: Uint8Array;
  /** decoded, one byte per pixel, 0/255 */
  data: Uint8Array;
  width: number;
  height: number;
}

export interface ExportSynthetic {
  sampleId: number;
  category: string;
  defectType: string;
  /** PNG bytes of the generated image */
  image: Uint8Array;
  width: number;
  height: number;
  mask: ExportMask;
  /** the sample's lineage row, as stored */
  lineage: Record<string, unknown>;
}

export interface ExportReal {
  imageId: number;
  category: string;
  /** null for good images */
  defectType: string | null;
  /** the stored bytes and the extension of their format ('.png', '.jpg', ...) */
  image: Uint8Array;
  ext: string;
  width: number;
  height: number;
  /** the union of the image's masks (defect images) */
  mask?: ExportMask;
  sourcePath: string | null;
}

export interface ExportSet {
  projectName: string;
  /** defect types in a fixed order (class ids follow it) */
  types: { category: string; name: string }[];
  synthetic: ExportSynthetic[];
  /** real normal training images of the exported categories */
  trainGood: ExportReal[];
  /** real test images: test/good and the held-out defect images of the exported types */
  test: ExportReal[];
}

export const EXPORT_FORMATS = ['mvtec', 'anomalib', 'coco', 'yolo'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

/** The file system operations an export makes; tests inject one that fails (a full disk). */
export interface ExportWriter {
  mkdir(dir: string): Promise<void>;
  writeFile(file: string, bytes: Uint8Array): Promise<void>;
  rename(from: string, to: string): Promise<void>;
  /** removes a folder and everything in it; no error when it does not exist */
  removeTree(dir: string): Promise<void>;
  exists(path: string): Promise<boolean>;
}

/** Stable file stems: r<image id> for real images, s<sample id> for synthetic pairs. */
export const realStem = (r: ExportReal): string => `r${String(r.imageId).padStart(6, '0')}`;
export const syntheticStem = (s: ExportSynthetic): string => `s${String(s.sampleId).padStart(6, '0')}`;
