// Pretraining of the tiny LDM (issue 5): plan, data, phases, logging. Entry: runPretraining.
export { decoderLogPath, runPretraining, trainLogPath, type PhaseBeside, type RunOptions, type RunSummary, type PhaseName } from './run';
export { BASE_PLAN, BASE_PLAN_V2, BASE_PLAN_V3, BASE_PLAN_V4, BASE_PLAN_V5, SMOKE_PLAN, SMOKE_PLAN_V2, SMOKE_PLAN_V3, SMOKE_PLAN_V4, SMOKE_PLAN_V5, defaultTrainDir, fingerprint, learningRate, packageConfig, planVariant, selectPlan, type PlanVariant, type PhaseSchedule, type PlanVersion, type TrainPlan } from './plan';
export { HELD_OUT_DEFECTS, corpusSample, sampleLabels, trainedDefects } from './data';
export { evaluateAutoencoder, psnr, type ReconstructionReport } from './evaluate';
export { TrainLog } from './log';
export { vaeCheckpointPath } from './vae-phase';
export { decoderCheckpointPath } from './decoder-phase';
export { unetCheckpointPath } from './unet-phase';
