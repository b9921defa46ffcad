// Reusable layer helpers on GraphBuilder (see each file for the maths).
export { Net, add, mul, broadcastShape, type Value, type Init } from './net';
export { linear, type LinearOptions } from './linear';
export { conv2d, downsample, type Conv2dOptions } from './conv';
export { groupNorm, type GroupNormOptions } from './norm';
export { silu } from './activation';
export { attention, spatialAttention, type AttentionOptions, type SpatialAttentionOptions } from './attention';
export { sinusoidalFrequencies, timestepFeatures, timestepEmbedding } from './embedding';
export { upsampleNearest2x } from './upsample';
export { resBlock, type ResBlockOptions } from './resblock';
export { buildTinyUNet, type TinyUNet, type TinyUNetConfig } from './unet';
