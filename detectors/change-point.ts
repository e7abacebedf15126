import { z } from 'zod';
import type { Alert } from '../schemas/index.js';
import { AlertEpisode, type Verdict } from './alert-episode.js';
import { ChangePointScorer, changePointScorerSchemaWith, DEFAULT_CHANGE_POINT_SCORER, type ChangePointScorerSettings, type PointScore } from './change-point-scorer.js';
import { describeDimensions, formatMetric, formatRatio, metricLabel } from './evidence.js';
import { MODEL_METRIC_NAMES, MODEL_METRICS, modelMetric, type ModelMetric, type ModelWindow } from './inputs.js';
import { closeSilentSeries, episodeSettingsShape, newSeriesClock, SeriesTable, type EpisodeSeries } from './series-table.js';

export const CHANGE_POINT_RULE = 'change_point';

const metricName = z.enum(MODEL_METRIC_NAMES as [ModelMetric, ...ModelMetric[]]);

/**
 * Live defaults for one-minute windows: a 2 h baseline, "rare" relative to the last 6 h, 15-minute
 * daily buckets. About 7,700 numbers (some 120 KB) per key and metric: `metrics` chooses which.
 */
export const LIVE_CHANGE_POINT_SCORER: ChangePointScorerSettings = {
  ...DEFAULT_CHANGE_POINT_SCORER,
  historyPoints: 120,
  calibrationPoints: 360,
  minCalibrationPoints: 120,
  onsetHoldPoints: 60,
  modeWindowPoints: 360,
  seasonalBucketMs: 900_000,
  neighbourBuckets: 4,
};

export const changePointDetectorSchema = z.strictObject({
  enabled: z.boolean().default(true),
  metrics: z.array(metricName).min(1).default(MODEL_METRIC_NAMES),
  /** Windows with fewer requests are skipped: their percentiles and rates say little. */
  minRequests: z.number().int().min(1).default(20),
  /** A significant change must also move the metric by this share of its baseline, the worse way. */
  minRelativeChange: z.number().min(0).default(0.2),
  /** Critical from this relative change on. */
  criticalRelativeChange: z.number().min(0).default(1),
  ...episodeSettingsShape({ fireAfter: 2, resolveAfter: 3, staleAfterMs: 60 * 60_000 }),
  scorer: changePointScorerSchemaWith(LIVE_CHANGE_POINT_SCORER).default(LIVE_CHANGE_POINT_SCORER),
});

export type ChangePointDetectorSettings = z.infer<typeof changePointDetectorSchema>;

interface MetricSeries extends EpisodeSeries {
  scorer: ChangePointScorer;
}

/**
 * Each model metric of each key against its own baseline, with the ChangePointScorer: the
 * regression of a version against its own past (where the canary compares it with its
 * predecessor). Direction-aware: only the worse direction breaches, and only by a relevant
 * relative change. A change the series keeps becomes its baseline once the rolling median adopts it
 * (about historyPoints/2 windows), and the episode then resolves: regressions that must stay open
 * until fixed are the canary's and the latency detector's. One episode per key and metric.
 */
export class ChangePointDetector {
  private readonly series: SeriesTable<MetricSeries>;

  constructor(private readonly settings: ChangePointDetectorSettings) {
    this.series = new SeriesTable<MetricSeries>(() => ({
      ...newSeriesClock(),
      dimensions: {},
      scorer: new ChangePointScorer(settings.scorer),
      episode: new AlertEpisode(settings),
    }));
  }

  /** Series (key and metric) with state held. */
  get size(): number {
    return this.series.size;
  }

  observe(window: ModelWindow): Alert[] {
    if (window.requests < this.settings.minRequests) return [];
    const alerts: Alert[] = [];
    for (const metric of this.settings.metrics) {
      const value = modelMetric(window, metric);
      if (value === undefined) continue;
      const seriesKey = `${window.key}|${metric}`;
      const state = this.series.admit(seriesKey, window.windowStart, window.windowEnd);
      if (!state) continue;
      state.dimensions = window.dimensions;
      const point = state.scorer.score(window.windowStart, value);
      const alert = state.episode.step(
        { rule: CHANGE_POINT_RULE, key: seriesKey, dimensions: window.dimensions, windowStart: window.windowStart, windowEnd: window.windowEnd },
        this.verdict(window, metric, value, point),
      );
      if (alert) alerts.push(alert);
    }
    return alerts;
  }

  advance(watermark: number): Alert[] {
    return closeSilentSeries(this.series, watermark - this.settings.staleAfterMs, CHANGE_POINT_RULE, (key) => key.slice(key.lastIndexOf('|') + 1));
  }

  private verdict(window: ModelWindow, metric: ModelMetric, value: number, point: PointScore): Verdict {
    const higherIsWorse = MODEL_METRICS[metric].worse === 'higher';
    const worseBy = higherIsWorse ? value - point.expected : point.expected - value;
    const relative = point.expected !== 0 ? worseBy / Math.abs(point.expected) : worseBy > 0 ? Number.POSITIVE_INFINITY : 0;
    const worseDirection = point.direction === (higherIsWorse ? 1 : -1);
    const significant = point.surprise >= this.settings.scorer.operatingSurprise;
    const breaching = significant && worseDirection && relative >= this.settings.minRelativeChange;
    const who = describeDimensions(window.dimensions);
    const label = metricLabel(metric);
    const ratio = point.expected !== 0 ? value / point.expected : Number.POSITIVE_INFINITY;
    const evidence = breaching
      ? `${label} of ${who} moved to ${formatMetric(metric, value)} from a baseline of ${formatMetric(metric, point.expected)} (${formatRatio(ratio)}, p≈${(10 ** -point.surprise).toPrecision(1)} against its own recent history)`
      : `${label} of ${who} is ${formatMetric(metric, value)} against a baseline of ${formatMetric(metric, point.expected)}`;
    return {
      breaching,
      severity: relative >= this.settings.criticalRelativeChange ? 'critical' : 'warning',
      metric,
      observed: value,
      baseline: point.expected,
      score: point.surprise,
      evidence,
    };
  }
}
