export { runAugment, checkPerType, SYNTHESIZE_KIND, type AugmentJobs, type AugmentHooks, type AugmentReport, type AugmentRequest, type TypeOutcome } from './augment';
export { collectExportSet } from './collect';
export { conditioningFor, readModelInfo, type ModelInfo } from './conditioning';
export { resolveTypes, typeMaterial, checkMaterial, type AugmentType } from './types';
