export { Adam, AdamW, type AdamOptions, type ParamGroup } from './adam';
export { clipGradNorm, globalNorm } from './clip';
export { learningRateAt, linearWarmup, type LearningRate, type Optimizer, type OptimizerState } from './types';
export { WithEma, EMA_SLOT, shippedWeights } from './ema';
