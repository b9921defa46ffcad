// Evaluation metrics: exact ranking metrics for image scores, streaming binned ones (with bounds
// on the exact values) for pixel scores, and AU-PRO.
export { rankingMetrics, rocPoints, prPoints, cumulativePoints, type RankingMetrics, type ScoreGroups, type CurvePoint } from './curves';
export { exactGroups, exactRankingMetrics } from './exact';
export { createQuantizer, type Quantizer, type ScoreScale } from './quantizer';
export { ScoreHistogram, binningBounds, type BinnedRankingMetrics, type Interval } from './histogram';
export { ProAccumulator, type AuProResult } from './pro';
export { connectedComponents, type Components } from './components';
export { PixelMetricsAccumulator, DEFAULT_PIXEL_BINS, DEFAULT_PIXEL_SCALE, type PixelMetrics } from './pixel';
