export { runAugment, checkPerType, SYNTHESIZE_KIND, SYNTHESIS_DEFAULTS, type AugmentHooks, type AugmentReport, type AugmentRequest, type TypeOutcome } from './augment';
export { planAdaptation, runAdaptation, projectAdaptSettings, reusableAdaptation, ADAPT_KIND, type AdaptChoice, type AdaptationOutcome, type AdaptationPlan, type AdaptationSettings, type AdaptedPackage } from './adaptation';
export { collectExportSet } from './collect';
export { conditioningFor, readModelInfo, type ModelInfo } from './conditioning';
export { runStage, DEADLINE_REASON, type AugmentJobs, type StageHooks, type StageKind } from './jobs';
export { learnMissing, learnSettings, projectLearnSettings, learnedMaskEmbedding, type LearnSettings, type TypeLearning } from './learning';
export { LocalJobs } from './local-jobs';
export { resolveTypes, typeMaterial, checkMaterial, type AugmentType } from './types';
