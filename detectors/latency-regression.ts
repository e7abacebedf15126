import { median } from 'simple-statistics';
import type { Alert } from '../schemas/index.js';
import { AlertEpisode, type EpisodePolicy } from './alert-episode.js';
import { robustLocationScale } from './robust-statistics.js';

export const LATENCY_REGRESSION_RULE = 'latency_p95_regression';

export interface LatencyRegressionSettings extends EpisodePolicy {
  historyWindows: number;
  minHistory: number;
  ratio: number;
  minDeltaMs: number;
  minRequests: number;
  /**
   * The jump must also be this many robust standard deviations of the series' own window-to-window
   * spread (on a log scale): a p95 over 40 requests swings by ×1.5 on its own, one over 4,000 does not.
   * Absent: no such margin (the configuration's default is 4).
   */
  minZ?: number;
}

/** One window of one series, as this detector needs it. */
export interface LatencyObservation {
  key: string;
  dimensions: Record<string, string>;
  windowStart: number;
  windowEnd: number;
  requests: number;
  latencyP95Ms: number;
}

interface SeriesState {
  /** The last `historyWindows` healthy p95 values, oldest first: constant size per series. */
  history: number[];
  lastWindowStart: number;
  episode: AlertEpisode;
}

function describeKey(dimensions: Record<string, string>, key: string): string {
  const { model_name: model, model_version: version, region } = dimensions;
  return model && version && region ? `${model} ${version} in ${region}` : key;
}

/**
 * Latency p95 of a series against its own trailing median, by a relative, an absolute and a
 * noise-aware margin (the series' own spread, so a low-traffic key's noisy p95 does not page).
 * Windows that breach do not enter the history, so a sustained regression does not become its own
 * baseline and resolve itself.
 * Pure: windows arrive in order per key with their event time; no clock, no I/O.
 */
export class LatencyRegressionDetector {
  private readonly series = new Map<string, SeriesState>();

  constructor(private readonly settings: LatencyRegressionSettings) {}

  /** Series with state held. */
  get size(): number {
    return this.series.size;
  }

  observe(observation: LatencyObservation): Alert | undefined {
    let state = this.series.get(observation.key);
    if (!state) {
      state = { history: [], lastWindowStart: Number.NEGATIVE_INFINITY, episode: new AlertEpisode(this.settings) };
      this.series.set(observation.key, state);
    }
    // A window seen before (a replay, or a late re-emission) changes nothing: detectors see each window once.
    if (observation.windowStart <= state.lastWindowStart) return undefined;
    state.lastWindowStart = observation.windowStart;
    if (observation.requests < this.settings.minRequests) return undefined;

    const p95 = observation.latencyP95Ms;
    if (state.history.length < this.settings.minHistory) {
      this.remember(state, p95);
      return undefined;
    }
    // Latency is multiplicative: the spread of log p95 is comparable across fast and slow endpoints.
    const spread = robustLocationScale(state.history.map((v) => Math.log(Math.max(v, 1e-3)))).sigma;
    const baseline = median(state.history);
    const ratio = baseline > 0 ? p95 / baseline : Number.POSITIVE_INFINITY;
    const beyondNoise = Math.log(ratio) >= (this.settings.minZ ?? 0) * spread;
    const breaching = ratio >= this.settings.ratio && p95 - baseline >= this.settings.minDeltaMs && beyondNoise;
    // The onset: the first window of a regression that starts inside it shows about half the jump
    // (requests record their latency when they complete), so half the relative and absolute
    // margins; but three quarters of the noise margin, as a p95 over few requests swings that far
    // on its own now and then, and the onset must stand out of the key's noise as well.
    const leaning = !breaching && ratio >= 1 + (this.settings.ratio - 1) / 2 && p95 - baseline >= this.settings.minDeltaMs / 2 && Math.log(ratio) >= 0.75 * (this.settings.minZ ?? 0) * spread;
    if (!breaching) this.remember(state, p95);
    const who = describeKey(observation.dimensions, observation.key);
    const evidence = breaching
      ? `latency p95 of ${who} is ${Math.round(p95)} ms, ×${ratio.toFixed(1)} its trailing median of ${Math.round(baseline)} ms over the last ${state.history.length} windows (${observation.requests} requests in the window)`
      : `latency p95 of ${who} is back to ${Math.round(p95)} ms against a trailing median of ${Math.round(baseline)} ms`;
    return state.episode.step(
      { rule: LATENCY_REGRESSION_RULE, key: observation.key, dimensions: observation.dimensions, windowStart: observation.windowStart, windowEnd: observation.windowEnd },
      { breaching, leaning, severity: ratio >= 2 * this.settings.ratio ? 'critical' : 'warning', metric: 'latency_p95_ms', observed: p95, baseline, score: ratio, evidence },
    );
  }

  private remember(state: SeriesState, p95: number): void {
    state.history.push(p95);
    if (state.history.length > this.settings.historyWindows) state.history.shift();
  }
}
