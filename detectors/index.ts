// Detectors, the alert lifecycle and (later) playbooks: pure code, time arrives with the data.
export { AlertEpisode, alertId, type Verdict, type EpisodePolicy, type SeriesWindow } from './alert-episode.js';
export { LatencyRegressionDetector, LATENCY_REGRESSION_RULE, type LatencyObservation, type LatencyRegressionSettings } from './latency-regression.js';
