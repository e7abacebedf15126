// Detectors, the alert lifecycle and playbooks: pure code, time arrives with the data.
export { AlertEpisode, alertId, type Verdict, type EpisodePolicy, type SeriesWindow } from './alert-episode.js';
export { LatencyRegressionDetector, LATENCY_REGRESSION_RULE, type LatencyObservation, type LatencyRegressionSettings } from './latency-regression.js';

// What detectors consume: rollup-shaped windows.
export {
  MODEL_METRICS,
  MODEL_METRIC_NAMES,
  modelMetric,
  type CostContribution,
  type DetectorInput,
  type DetectorInputKind,
  type GpuPoolWindow,
  type GpuUtilization,
  type GpuWorkload,
  type KeyedWindow,
  type ModelMetric,
  type ModelWindow,
  type QueueWindow,
  type SpendWindow,
  type UnitPriceWindow,
} from './inputs.js';

// The detectors, one rule each.
export { CanaryRegressionDetector, CANARY_REGRESSION_RULE, canaryRegressionSchema, type CanaryRegressionSettings } from './canary-regression.js';
export {
  ChangePointScorer,
  changePointScorerSchema,
  changePointScorerSchemaWith,
  changePointStateSize,
  DEFAULT_CHANGE_POINT_SCORER,
  type ChangePointScorerSettings,
  type PointScore,
} from './change-point-scorer.js';
export { ChangePointDetector, CHANGE_POINT_RULE, changePointDetectorSchema, LIVE_CHANGE_POINT_SCORER, type ChangePointDetectorSettings } from './change-point.js';
export { SpendSpikeDetector, SPEND_SPIKE_RULE, spendSpikeSchema, type SpendSpikeSettings } from './spend-spike.js';
export { GpuWasteDetector, GPU_WASTE_RULE, gpuWasteSchema, type GpuWasteSettings } from './waste.js';
export { BudgetBurnDetector, BUDGET_BURN_RULE, budgetBurnSchema, budgetSchema, budgetPeriod, type Budget, type BudgetBurnSettings } from './budget-burn.js';
export { QueueSaturationDetector, QUEUE_SATURATION_RULE, queueSaturationSchema, type QueueSaturationSettings } from './queue-saturation.js';
export { CardinalityOverflowDetector, CARDINALITY_OVERFLOW_RULE, cardinalityOverflowSchema, OVERFLOW_DIMENSION_VALUE, type CardinalityOverflowSettings } from './cardinality-overflow.js';
export { RegionalLatencyDetector, REGIONAL_LATENCY_RULE, regionalLatencySchema, type RegionalLatencySettings } from './regional-latency.js';
export { PriceChangeDetector, PRICE_CHANGE_RULE, priceChangeSchema, type PriceChangeSettings } from './price-change.js';

// All of them as one component, one page per cause.
export { CauseGrouping } from './cause-grouping.js';
export { DetectorSet, detectorSetSchema, compareAlerts, type DetectorSetSettings } from './engine.js';

// Playbooks.
export * from './playbooks/index.js';

// Detectors of a bare timestamp,value series, by name (costline detect, benchmarks).
export { SERIES_DETECTORS, DEFAULT_SERIES_DETECTOR, createSeriesDetector, type SeriesDetector } from './series-detectors.js';
