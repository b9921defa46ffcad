// Procedural corpus: normal surfaces/objects, defects with exact masks, MVTec-layout export.

export { PerlinNoise, ValueNoise, WorleyNoise, fbm, noiseField, warpFields, worleyField } from './noise';
export type { Noise2, FbmOptions, FieldOptions, WorleySample } from './noise';
export type { RgbImage } from './canvas';
export { CORPUS_SIZE, generateNormal } from './normals';
export type { NormalSample, Material } from './normals';
export { NORMAL_FAMILIES, DEFECT_FAMILIES, applyDefect } from './families';
export type { NormalFamilyInfo, DefectFamilyInfo, ApplyDefectOptions } from './families';
export type { DefectResult } from './defects/types';
export { VISIBLE_LEVEL } from './defects/pipeline';
export { writeMvtecCorpus, readMvtecLayout, readCorpusLabels } from './mvtec';
export type { MvtecCorpusOptions, LabelEntry, CorpusLabels, MvtecEntry } from './mvtec';
export { buildContactSheet } from './sheet';
export { deriveSeed } from './seed';
