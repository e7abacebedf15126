import { z } from 'zod';
import type { Alert } from '../schemas/index.js';
import { AlertEpisode, type Verdict } from './alert-episode.js';
import { ChangePointScorer, changePointScorerSchemaWith, DEFAULT_CHANGE_POINT_SCORER, type ChangePointScorerSettings, type PointScore } from './change-point-scorer.js';
import { describeDimensions, formatMetric, formatRatio, metricLabel } from './evidence.js';
import { MODEL_METRIC_NAMES, MODEL_METRICS, minAbsoluteChangeSchema, modelMetric, type ModelMetric, type ModelWindow } from './inputs.js';
import { RollingWindow } from './robust-statistics.js';
import { closeSilentSeries, episodeSettingsShape, SeriesTable, type EpisodeSeries } from './series-table.js';

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
  /**
   * Latency, time to first token and error rate by default. The efficiency metrics (tokens per
   * second per GPU, cost per 1k tokens) move with traffic on a fixed fleet: every quiet night
   * raises the cost per token against the afternoon, which is not a regression of the key. The
   * canary compares them at the same time and traffic instead, and idle capacity is gpu_waste's.
   */
  metrics: z.array(metricName).min(1).default(['latency_p95_ms', 'ttft_p95_ms', 'error_rate']),
  /** Windows with fewer requests are skipped: their percentiles and rates say little. */
  minRequests: z.number().int().min(1).default(20),
  /** A significant change must also move the metric by this share of its baseline, the worse way... */
  minRelativeChange: z.number().min(0).default(0.2),
  /** ...and by this much in the metric's unit (ms, tokens/s, error share, money per 1k tokens): a p95 moving 3 ms is no regression. */
  minAbsoluteChange: minAbsoluteChangeSchema(),
  /**
   * Latency and time to first token must also move by this many robust standard deviations of the
   * key's own window-to-window spread (log scale, over the last `spreadWindows` clean windows): a
   * p95 over a few dozen requests swings by a third on its own.
   */
  minZ: z.number().min(0).default(4),
  spreadWindows: z.number().int().min(8).max(1440).default(60),
  /** Errors a window needs before its error rate can breach: 0 → 1 error in 40 requests is not a regression. */
  minErrors: z.number().int().min(0).default(5),
  /** A costlier key must cost at least this much more per hour at the window's traffic (currency units). */
  minExcessCostPerHour: z.number().min(0).default(1),
  /** Critical from this relative change on. */
  criticalRelativeChange: z.number().min(0).default(1),
  ...episodeSettingsShape({ fireAfter: 2, resolveAfter: 3, staleAfterMs: 60 * 60_000 }),
  scorer: changePointScorerSchemaWith(LIVE_CHANGE_POINT_SCORER).default(LIVE_CHANGE_POINT_SCORER),
});

export type ChangePointDetectorSettings = z.infer<typeof changePointDetectorSchema>;

interface MetricSeries extends EpisodeSeries {
  scorer: ChangePointScorer;
  /** Log values of recent clean windows, for the latency metrics' noise margin (bounded). */
  logs: RollingWindow;
}

const MULTIPLICATIVE: ReadonlySet<ModelMetric> = new Set(['latency_p95_ms', 'ttft_p95_ms']);

/**
 * The verdict's evidence, formatted only if an alert reads it. Made by a function rather than
 * written as an arrow in the verdict: tsx (esbuild's keepNames) wraps every named function
 * expression in an Object.defineProperty call, some 0.4 µs for each window of each series.
 */
function changeEvidence(window: ModelWindow, metric: ModelMetric, value: number, point: PointScore, breaching: boolean): () => string {
  return () => {
    const who = describeDimensions(window.dimensions);
    const label = metricLabel(metric);
    const ratio = point.expected !== 0 ? value / point.expected : Number.POSITIVE_INFINITY;
    return breaching
      ? `${label} of ${who} moved to ${formatMetric(metric, value)} from a baseline of ${formatMetric(metric, point.expected)} (${formatRatio(ratio)}, p≈${(10 ** -point.surprise).toPrecision(1)} against its own recent history)`
      : `${label} of ${who} is ${formatMetric(metric, value)} against a baseline of ${formatMetric(metric, point.expected)}`;
  };
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
      lastWindowStart: Number.NEGATIVE_INFINITY,
      lastWindowEnd: Number.NEGATIVE_INFINITY,
      dimensions: {},
      scorer: new ChangePointScorer(settings.scorer),
      episode: new AlertEpisode(settings),
      logs: new RollingWindow(settings.spreadWindows),
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
      const verdict = this.verdict(window, metric, value, point, state.logs);
      if (MULTIPLICATIVE.has(metric) && value > 0 && !verdict.breaching) state.logs.push(Math.log(value));
      const alert = state.episode.step({ rule: CHANGE_POINT_RULE, key: seriesKey, dimensions: window.dimensions, windowStart: window.windowStart, windowEnd: window.windowEnd }, verdict);
      if (alert) alerts.push(alert);
    }
    return alerts;
  }

  advance(watermark: number): Alert[] {
    return closeSilentSeries(this.series, watermark - this.settings.staleAfterMs, CHANGE_POINT_RULE, (key) => key.slice(key.lastIndexOf('|') + 1));
  }

  /** The absolute floors: the change is big enough, in the metric's own unit, for a person to act on. */
  private material(window: ModelWindow, metric: ModelMetric, value: number, worseBy: number, logs: RollingWindow): boolean {
    if (worseBy < this.settings.minAbsoluteChange[metric]) return false;
    if (MULTIPLICATIVE.has(metric)) return logs.length === 0 || Math.log(value / (value - worseBy)) >= this.settings.minZ * logs.locationScale().sigma;
    if (metric === 'error_rate') return window.errors >= this.settings.minErrors;
    if (metric === 'cost_per_1k_tokens') {
      const tokensPerHour = ((window.inputTokens + window.outputTokens) * 3_600_000) / (window.windowEnd - window.windowStart);
      return (worseBy * tokensPerHour) / 1000 >= this.settings.minExcessCostPerHour;
    }
    return true;
  }

  private verdict(window: ModelWindow, metric: ModelMetric, value: number, point: PointScore, logs: RollingWindow): Verdict {
    const higherIsWorse = MODEL_METRICS[metric].worse === 'higher';
    const worseBy = higherIsWorse ? value - point.expected : point.expected - value;
    const relative = point.expected !== 0 ? worseBy / Math.abs(point.expected) : worseBy > 0 ? Number.POSITIVE_INFINITY : 0;
    const worseDirection = point.direction === (higherIsWorse ? 1 : -1);
    const significant = point.surprise >= this.settings.scorer.operatingSurprise;
    const breaching = significant && worseDirection && relative >= this.settings.minRelativeChange && this.material(window, metric, value, worseBy, logs);
    return {
      breaching,
      severity: relative >= this.settings.criticalRelativeChange ? 'critical' : 'warning',
      metric,
      observed: value,
      baseline: point.expected,
      score: point.surprise,
      evidence: changeEvidence(window, metric, value, point, breaching),
    };
  }
}
