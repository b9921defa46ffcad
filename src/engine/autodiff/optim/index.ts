export { Adam, AdamW, type AdamOptions } from './adam';
export { clipGradNorm, globalNorm } from './clip';
export { learningRateAt, type LearningRate, type Optimizer, type OptimizerState } from './types';
