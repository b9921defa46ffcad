// Pretraining of the tiny LDM (issue 5): plan, data, phases, logging. Entry: runPretraining.
export { runPretraining, type RunOptions, type RunSummary, type PhaseName } from './run';
export { BASE_PLAN, SMOKE_PLAN, defaultTrainDir, learningRate, fingerprint, type TrainPlan, type PhaseSchedule } from './plan';
export { HELD_OUT_DEFECTS, corpusSample, sampleLabels, trainedDefects } from './data';
export { evaluateAutoencoder, psnr, type ReconstructionReport } from './evaluate';
export { TrainLog } from './log';
export { vaeCheckpointPath } from './vae-phase';
export { unetCheckpointPath } from './unet-phase';
