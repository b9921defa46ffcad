// Baseline defect generators every comparison includes (METHOD.md, Baselines).
export { createCutPaste, CUTPASTE_DEFAULTS, type CutPasteSettings } from './cutpaste';
export { createPerlinAnomalies, renderTextures, PERLIN_DEFAULTS, type PerlinSettings, type TextureSource } from './perlin';
export { chessboardDistance } from './distance';
