import { median } from 'simple-statistics';
import { z } from 'zod';
import type { Alert } from '../schemas/index.js';
import { AlertEpisode, type Verdict } from './alert-episode.js';
import { carriesOverflow } from './cardinality-overflow.js';
import { WindowAligner } from './aligned-windows.js';
import { formatMetric, formatRatio, metricLabel } from './evidence.js';
import { MODEL_METRIC_NAMES, MODEL_METRICS, minAbsoluteChangeSchema, modelMetric, type ModelMetric, type ModelWindow } from './inputs.js';
import { cliffsDeltaFromU, mannWhitneyU } from './robust-statistics.js';
import { episodeSettingsShape, silenceVerdict } from './series-table.js';

export const CANARY_REGRESSION_RULE = 'canary_regression';

const metricName = z.enum(MODEL_METRIC_NAMES as [ModelMetric, ...ModelMetric[]]);

export const canaryRegressionSchema = z.strictObject({
  enabled: z.boolean().default(true),
  metrics: z.array(metricName).min(1).default(MODEL_METRIC_NAMES),
  /** The last this-many windows of the new version are compared with the previous version's windows over the same time. */
  comparisonWindows: z.number().int().min(4).max(1440).default(30),
  /** Windows each version needs in the comparison before the rank test may speak. */
  minWindows: z.number().int().min(4).default(8),
  /** Windows with fewer requests do not count: their percentiles and rates say little. */
  minRequests: z.number().int().min(1).default(20),
  /** One-sided Mann-Whitney p-value below which the new version is worse. */
  alpha: z.number().gt(0).lt(0.5).default(0.01),
  /** Cliff's delta (worse direction) the difference must reach: 0.33 is a medium effect, 0.47 large. */
  minEffect: z.number().min(0).max(1).default(0.47),
  /** The medians must differ by at least this share of the previous version's (as a change-point must move its own baseline)... */
  minRelativeChange: z.number().min(0).default(0.2),
  /**
   * ...or, for the efficiency metrics (tokens per second per GPU, cost per 1k tokens), this share:
   * a canary serving a small share of traffic on its own GPUs runs smaller batches, so it is
   * somewhat less efficient than its predecessor without anything being wrong with it.
   */
  efficiencyMinRelativeChange: z.number().min(0).default(0.3),
  /**
   * ...and by at least this much in the metric's unit (ms, tokens/s, error share, money per 1k
   * tokens). A canary on a few replicas also queues a little more than its predecessor on many at
   * the same load: the 100 ms latency floor keeps that from reading as a regression.
   */
  minAbsoluteChange: minAbsoluteChangeSchema(),
  /** A costlier version must cost at least this much more per hour at its current traffic (currency units): fractions of a cent per 1k tokens on a small canary are not worth a person's time. */
  minExcessCostPerHour: z.number().min(0).default(1),
  /** Errors the new version must have had over the compared windows before its error rate can be worse: 0 → 1 error is not a regression. */
  minErrors: z.number().int().min(0).default(10),
  /** Critical from this relative change of the medians on. */
  criticalRelativeChange: z.number().min(0).default(0.5),
  /** Versions of one model remembered per region (the newest ones). */
  maxVersions: z.number().int().min(2).max(16).default(4),
  ...episodeSettingsShape({ fireAfter: 2, resolveAfter: 3, staleAfterMs: 30 * 60_000 }),
});

export type CanaryRegressionSettings = z.infer<typeof canaryRegressionSchema>;

interface VersionState {
  version: string;
  key: string;
  dimensions: Record<string, string>;
  /** Event time the version was first seen: what makes one version newer than another. */
  firstSeen: number;
  lastWindowStart: number;
  lastWindowEnd: number;
  /** The last `comparisonWindows` counted windows, oldest first: bounded per version. */
  history: Array<{ windowStart: number; values: Partial<Record<ModelMetric, number>>; errors: number; tokens: number; hours: number }>;
  episodes: Map<ModelMetric, AlertEpisode>;
}

/** All versions of one model in one region. */
interface GroupState {
  modelName: string;
  region: string;
  versions: Map<string, VersionState>;
}

/** Nothing to compare yet: not breaching, with what is missing as the evidence. A function, not a closure per judgement (see changeEvidence in change-point.ts). */
function quietVerdict(metric: ModelMetric, evidence: string): Verdict {
  return { breaching: false, severity: 'warning', metric, observed: 0, baseline: 0, score: 0, evidence };
}

/**
 * A judged comparison's evidence, formatted only if an alert reads it: formatting the medians
 * (Intl for money) for every window of every version and metric cost more than the rank test.
 * Made by a function, not an arrow in the verdict (see changeEvidence in change-point.ts).
 */
function comparisonEvidence(c: { label: string; who: string; metric: ModelMetric; observed: number; base: number; baselineVersion: string; windows: number; p: number; delta: number; breaching: boolean }): () => string {
  return () => {
    const ratio = c.base !== 0 ? c.observed / c.base : Number.POSITIVE_INFINITY;
    return c.breaching
      ? `${c.label} of ${c.who} is ${formatMetric(c.metric, c.observed)} against ${formatMetric(c.metric, c.base)} for ${c.baselineVersion} over the same ${c.windows} windows (${formatRatio(ratio)}, Mann-Whitney p=${c.p.toPrecision(2)}, Cliff's delta ${c.delta.toFixed(2)}): roll back to ${c.baselineVersion} or hold the rollout`
      : `${c.label} of ${c.who} is ${formatMetric(c.metric, c.observed)}, in line with ${formatMetric(c.metric, c.base)} for ${c.baselineVersion} (p=${c.p.toPrecision(2)})`;
  };
}

interface Comparison {
  metric: ModelMetric;
  candidate: number[];
  baseline: number[];
  /** The new version's errors and tokens per hour over the compared windows: what absolute floors are judged on. */
  errors: number;
  tokensPerHour: number;
}

/**
 * A new model version against the previous one in the same region over the same time: the canary
 * comparison. Per metric, the new version's per-window values are compared with the previous
 * version's values from the same windows by a one-sided Mann-Whitney U test (no distribution
 * assumed, robust to the odd outlier window), with minimum sample sizes and an effect size (Cliff's
 * delta) and a minimum relative and absolute change of the medians, so a significant but harmless
 * difference does not page. Direction-aware: higher is worse except tokens per second per GPU.
 * "Previous" is the version first seen most recently before this one among those still serving.
 * One episode per version and metric (key `model|version|region|metric`).
 */
export class CanaryRegressionDetector {
  private readonly groups = new Map<string, GroupState>();
  private readonly aligner = new WindowAligner<ModelWindow>();
  /**
   * No version's last window ended before this: a lower bound, exact after each walk for stale
   * versions (a version's last window only moves forward). advance walks (and sorts) the groups
   * only when the cutoff passes it, as SeriesTable.expire does.
   */
  private lowestEnd = Number.POSITIVE_INFINITY;

  constructor(private readonly settings: CanaryRegressionSettings) {}

  /** Versions with state held. */
  get size(): number {
    let count = 0;
    for (const group of this.groups.values()) count += group.versions.size;
    return count;
  }

  observe(window: ModelWindow): Alert[] {
    // A folded series mixes many versions (or models, or regions): no version comparison means anything on it.
    if (carriesOverflow(window.dimensions)) return [];
    const group = `${window.modelName}|${window.region}`;
    return this.aligner.add(group, window.modelVersion, window.windowStart, window.windowEnd, window).flatMap((aligned) => this.compare(aligned.members.map(([, w]) => w)));
  }

  /** Compares what the watermark completes, and forgets versions silent for `staleAfterMs`. */
  advance(watermark: number): Alert[] {
    const alerts = this.aligner.flush(watermark).flatMap((aligned) => this.compare(aligned.members.map(([, w]) => w)));
    const cutoff = watermark - this.settings.staleAfterMs;
    if (cutoff <= this.lowestEnd) return alerts;
    let lowest = Number.POSITIVE_INFINITY;
    for (const [groupKey, group] of [...this.groups].sort(([a], [b]) => (a < b ? -1 : 1))) {
      for (const [version, state] of [...group.versions].sort(([a], [b]) => (a < b ? -1 : 1))) {
        if (state.lastWindowEnd >= cutoff) {
          if (state.lastWindowEnd < lowest) lowest = state.lastWindowEnd;
          continue;
        }
        alerts.push(...this.resolveAll(state));
        group.versions.delete(version);
      }
      if (group.versions.size === 0) this.groups.delete(groupKey);
    }
    this.lowestEnd = lowest;
    return alerts;
  }

  /** One released window of a (model, region): every version that reported in it. */
  private compare(windows: ModelWindow[]): Alert[] {
    const first = windows[0];
    if (!first) return [];
    const groupKey = `${first.modelName}|${first.region}`;
    let group = this.groups.get(groupKey);
    if (!group) {
      group = { modelName: first.modelName, region: first.region, versions: new Map() };
      this.groups.set(groupKey, group);
    }
    const fresh: VersionState[] = [];
    for (const window of windows) {
      const state = this.versionState(group, window);
      if (window.windowStart <= state.lastWindowStart) continue; // seen before: a replay or a re-emission
      state.lastWindowStart = window.windowStart;
      state.lastWindowEnd = window.windowEnd;
      if (window.windowEnd < this.lowestEnd) this.lowestEnd = window.windowEnd;
      if (window.requests >= this.settings.minRequests) {
        const values: Partial<Record<ModelMetric, number>> = {};
        for (const metric of this.settings.metrics) {
          const value = modelMetric(window, metric);
          if (value !== undefined) values[metric] = value;
        }
        state.history.push({ windowStart: window.windowStart, values, errors: window.errors, tokens: window.inputTokens + window.outputTokens, hours: (window.windowEnd - window.windowStart) / 3_600_000 });
        if (state.history.length > this.settings.comparisonWindows) state.history.shift();
      }
      fresh.push(state);
    }
    this.forgetOldestVersions(group);
    const alerts: Alert[] = [];
    for (const state of fresh) {
      if (!group.versions.has(state.version)) continue;
      const window = windows.find((w) => w.modelVersion === state.version)!;
      const baseline = this.previousVersion(group, state, window.windowStart);
      for (const metric of this.settings.metrics) {
        const verdict = this.judge(group, state, baseline, metric);
        const alert = this.episode(state, metric).step(
          { rule: CANARY_REGRESSION_RULE, key: `${state.key}|${metric}`, dimensions: this.alertDimensions(state, baseline), windowStart: window.windowStart, windowEnd: window.windowEnd },
          verdict,
        );
        if (alert) alerts.push(alert);
      }
    }
    return alerts;
  }

  private versionState(group: GroupState, window: ModelWindow): VersionState {
    let state = group.versions.get(window.modelVersion);
    if (!state) {
      state = {
        version: window.modelVersion,
        key: window.key,
        dimensions: window.dimensions,
        firstSeen: window.windowStart,
        lastWindowStart: Number.NEGATIVE_INFINITY,
        lastWindowEnd: Number.NEGATIVE_INFINITY,
        history: [],
        episodes: new Map(),
      };
      group.versions.set(window.modelVersion, state);
    }
    return state;
  }

  private episode(state: VersionState, metric: ModelMetric): AlertEpisode {
    let episode = state.episodes.get(metric);
    if (!episode) {
      episode = new AlertEpisode(this.settings);
      state.episodes.set(metric, episode);
    }
    return episode;
  }

  /** Keeps the newest `maxVersions` versions: state stays bounded however many versions roll out. */
  private forgetOldestVersions(group: GroupState): void {
    const byAge = [...group.versions.values()].sort((a, b) => a.firstSeen - b.firstSeen || (a.version < b.version ? -1 : 1));
    for (const state of byAge.slice(0, Math.max(0, byAge.length - this.settings.maxVersions))) group.versions.delete(state.version);
  }

  /** The version first seen most recently before this one that has windows in the comparison span. */
  private previousVersion(group: GroupState, state: VersionState, windowStart: number): VersionState | undefined {
    const spanStart = state.history[0]?.windowStart ?? windowStart;
    let previous: VersionState | undefined;
    for (const other of group.versions.values()) {
      if (other === state || other.firstSeen > state.firstSeen || (other.firstSeen === state.firstSeen && other.version > state.version)) continue;
      if (!other.history.some((h) => h.windowStart >= spanStart && h.windowStart <= windowStart)) continue;
      if (!previous || other.firstSeen > previous.firstSeen || (other.firstSeen === previous.firstSeen && other.version > previous.version)) previous = other;
    }
    return previous;
  }

  private alertDimensions(state: VersionState, baseline: VersionState | undefined): Record<string, string> {
    return baseline ? { ...state.dimensions, baseline_version: baseline.version } : state.dimensions;
  }

  /**
   * The windows both versions reported in, and only those: "over the same time" pairs window by
   * window, so an event that silences one version (its replicas failed, it took no traffic) does
   * not compare one version's bad minutes with the other's good ones.
   */
  private comparison(state: VersionState, baseline: VersionState, metric: ModelMetric): Comparison {
    const previous = new Map<number, number>();
    for (const h of baseline.history) if (h.values[metric] !== undefined) previous.set(h.windowStart, h.values[metric]!);
    const paired = state.history.filter((h) => h.values[metric] !== undefined && previous.has(h.windowStart));
    return {
      metric,
      candidate: paired.map((h) => h.values[metric]!),
      baseline: paired.map((h) => previous.get(h.windowStart)!),
      errors: paired.reduce((sum, h) => sum + h.errors, 0),
      tokensPerHour: paired.reduce((sum, h) => sum + h.tokens, 0) / Math.max(1e-9, paired.reduce((sum, h) => sum + h.hours, 0)),
    };
  }

  private judge(group: GroupState, state: VersionState, baseline: VersionState | undefined, metric: ModelMetric): Verdict {
    const who = `${group.modelName} ${state.version} in ${group.region}`;
    const label = metricLabel(metric);
    if (!baseline) return quietVerdict(metric, `${label} of ${who}: no previous version serving in ${group.region} to compare with`);
    const { candidate, baseline: previous, errors, tokensPerHour } = this.comparison(state, baseline, metric);
    if (candidate.length < this.settings.minWindows || previous.length < this.settings.minWindows) {
      return quietVerdict(metric, `${label} of ${who}: ${candidate.length} and ${previous.length} comparable windows against ${baseline.version}, ${this.settings.minWindows} needed`);
    }
    const higherIsWorse = MODEL_METRICS[metric].worse === 'higher';
    const test = mannWhitneyU(candidate, previous);
    const p = higherIsWorse ? test.pGreater : test.pLess;
    const delta = cliffsDeltaFromU(test.u, candidate.length, previous.length) * (higherIsWorse ? 1 : -1);
    const observed = median(candidate);
    const base = median(previous);
    const worseBy = higherIsWorse ? observed - base : base - observed;
    const relative = base !== 0 ? worseBy / Math.abs(base) : worseBy > 0 ? Number.POSITIVE_INFINITY : 0;
    const efficiency = metric === 'tokens_per_gpu_second' || metric === 'cost_per_1k_tokens';
    const relevant =
      relative >= (efficiency ? this.settings.efficiencyMinRelativeChange : this.settings.minRelativeChange) &&
      worseBy >= this.settings.minAbsoluteChange[metric] &&
      (metric !== 'error_rate' || errors >= this.settings.minErrors) &&
      (metric !== 'cost_per_1k_tokens' || (worseBy * tokensPerHour) / 1000 >= this.settings.minExcessCostPerHour);
    const breaching = p < this.settings.alpha && delta >= this.settings.minEffect && relevant;
    return {
      breaching,
      severity: relative >= this.settings.criticalRelativeChange ? 'critical' : 'warning',
      metric,
      observed,
      baseline: base,
      score: delta,
      evidence: comparisonEvidence({ label, who, metric, observed, base, baselineVersion: baseline.version, windows: candidate.length, p, delta, breaching }),
    };
  }

  private resolveAll(state: VersionState): Alert[] {
    const alerts: Alert[] = [];
    for (const [metric, episode] of [...state.episodes].sort(([a], [b]) => (a < b ? -1 : 1))) {
      const alert = episode.resolveNow(
        { rule: CANARY_REGRESSION_RULE, key: `${state.key}|${metric}`, dimensions: state.dimensions, windowStart: state.lastWindowStart, windowEnd: state.lastWindowEnd },
        silenceVerdict(metric, state.lastWindowEnd),
      );
      if (alert) alerts.push(alert);
    }
    return alerts;
  }
}
