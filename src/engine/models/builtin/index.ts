// The built-in model package format: contract (manifest.ts, contract.ts), exporter and loader.
export * from './manifest';
export { GRAPH_ROLES, graphContract, checkGraphContract, type GraphRole, type IoSpec } from './contract';
export { writeBuiltinPackage, type BuiltinPackageSpec } from './export';
export { loadBuiltinModel, readBuiltinManifest, MANIFEST_FILE, type BuiltinModel, type EncoderWeights, type LoadBuiltinOptions } from './load';
export { packageContentHash, sha256File, verifyPackageFiles } from './files';
export { TokenTable, NULL_LABEL } from './token-table';
export { symbolicBatch } from './symbolic-batch';
export { storeWeightsAsHalf } from './half-storage';
export { synthesizeFile, besideOutput, type SynthesisFiles, type SynthesisSettings, type SynthesisOutput } from './synthesize';
export { attachAarInputs, emitAarFactor, AAR_WEIGHT_INPUT, AAR_COLUMNS_INPUT, type AarGraphSpec } from './aar-inputs';
