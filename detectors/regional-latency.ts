import { median } from 'simple-statistics';
import { z } from 'zod';
import { poissonUpperTail, RollingWindow } from './robust-statistics.js';
import type { Alert } from '../schemas/index.js';
import { AlertEpisode, type Verdict } from './alert-episode.js';
import { carriesOverflow } from './cardinality-overflow.js';
import { WindowAligner } from './aligned-windows.js';
import { formatMetric, formatRatio } from './evidence.js';
import type { ModelWindow } from './inputs.js';
import { closeSilentSeries, episodeSettingsShape, SeriesTable, type EpisodeSeries } from './series-table.js';

export const REGIONAL_LATENCY_RULE = 'regional_latency';

export const regionalLatencySchema = z.strictObject({
  enabled: z.boolean().default(true),
  /** Windows (of the region and of each peer) with fewer requests do not count. */
  minRequests: z.number().int().min(1).default(20),
  /** Other regions serving the same version that must report in the window. */
  minPeers: z.number().int().min(1).default(1),
  /** Breaching when the region's p95 is this many times the peers' median... */
  ratio: z.number().gt(1).default(1.5),
  /** ...and at least this many milliseconds above it. */
  minDeltaMs: z.number().min(0).default(100),
  /** Critical from this ratio on. */
  criticalRatio: z.number().gt(1).default(2.5),
  /**
   * A region that is always somewhat slower than its peers (farther from its users, older
   * hardware) has a usual gap: once `usualGapMinHistory` healthy windows show it, the ratio
   * thresholds apply on top of that gap, so the alert means "worse than this region usually is".
   */
  usualGapWindows: z.number().int().min(4).max(10_080).default(120),
  usualGapMinHistory: z.number().int().min(2).default(30),
  /**
   * The gap must also exceed the usual one by this many robust standard deviations of its own
   * window-to-window spread (log scale): a p95 over 40 requests swings by ×1.5 on its own.
   */
  minZ: z.number().min(0).default(4),
  /** Errors are pooled over this many recent windows of the region and of its peers: a few errors a minute say little on their own. */
  errorWindows: z.number().int().min(1).max(60).default(3),
  /** The region's error rate is degraded when it is at least this much above the peers' (an absolute share)... */
  minErrorRateIncrease: z.number().min(0).max(1).default(0.02),
  /** ...with at least this many errors in the pooled windows... */
  minErrors: z.number().int().min(1).default(5),
  /** ...and that many errors would happen by chance at the peers' rate (at least `errorRateFloor`) with less than this probability (Poisson). */
  errorAlpha: z.number().gt(0).lt(0.5).default(1e-4),
  errorRateFloor: z.number().min(0).max(1).default(0.001),
  /** Critical from this error rate above the peers' on. */
  criticalErrorRateIncrease: z.number().min(0).max(1).default(0.1),
  ...episodeSettingsShape({ fireAfter: 2, resolveAfter: 3, staleAfterMs: 30 * 60_000 }),
});

export type RegionalLatencySettings = z.infer<typeof regionalLatencySchema>;

interface RegionState extends EpisodeSeries {
  /** Log ratios to the peers' median p95 in recent healthy windows (bounded). */
  gaps: RollingWindow;
  /** Errors and requests of the region and of its peers in the last `errorWindows` windows, oldest first (bounded). */
  errorCounts: Array<{ errors: number; requests: number; peerErrors: number; peerRequests: number }>;
}

type RegionalVerdict = Verdict & { peerRegion?: string };

function formatMs(ms: number): string {
  return `${Math.round(ms).toLocaleString('en-US')} ms`;
}

/**
 * The evidence of a latency verdict, formatted only if an alert reads it (toLocaleString for
 * every window of every region cost more than the comparison). Made by a function, not an arrow
 * in the verdict (see changeEvidence in change-point.ts).
 */
function latencyEvidence(v: { who: string; observed: number; baseline: number; ratio: number; usualGap: number; peers: ModelWindow[]; healthiest: ModelWindow; breaching: boolean }): () => string {
  return () => {
    const { who, observed, baseline, ratio, usualGap, peers, healthiest } = v;
    if (!v.breaching) return `latency p95 of ${who} is ${formatMs(observed)}, in line with the other regions' median of ${formatMs(baseline)}`;
    const peerList = peers.length <= 3 ? ` (${peers.map((p) => `${p.region} ${formatMs(p.latencyP95Ms)}`).join(', ')})` : '';
    return `latency p95 of ${who} is ${formatMs(observed)}, ${formatRatio(ratio)} the median of the other ${peers.length} region${peers.length === 1 ? '' : 's'} serving it, ${formatMs(baseline)}${peerList}${usualGap > 1 ? ` (its usual gap is ${formatRatio(usualGap)})` : ''}; ${healthiest.region} is the fastest at ${formatMs(healthiest.latencyP95Ms)}`;
  };
}

/** The evidence of an error-rate verdict, formatted only if an alert reads it (as latencyEvidence). */
function errorEvidence(v: { who: string; rate: number; peerRate: number; minutes: number; errors: number; requests: number; peers: number; p: number; healthiest: string; breaching: boolean }): () => string {
  return () =>
    v.breaching
      ? `error rate of ${v.who} is ${formatMetric('error_rate', v.rate)} over the last ${v.minutes} min (${v.errors} of ${v.requests} requests), against ${formatMetric('error_rate', v.peerRate)} in the other ${v.peers} region${v.peers === 1 ? '' : 's'} serving it (Poisson p=${v.p.toPrecision(2)}); ${v.healthiest} is the healthiest`
      : `error rate of ${v.who} is ${formatMetric('error_rate', v.rate)}, in line with ${formatMetric('error_rate', v.peerRate)} in the other regions`;
}

/**
 * A region's latency p95 and error rate against the other regions serving the same model version
 * in the same window: a degradation local to one region (a bad zone, failed nodes, a saturated
 * cluster, a network path) rather than of the version. One episode per key whichever signal
 * breaches; the alert's metric says which. The evidence names the healthiest peer, where traffic could go, and
 * the alert carries it as the `peer_region` dimension for a shift_traffic action.
 */
export class RegionalLatencyDetector {
  private readonly aligner = new WindowAligner<ModelWindow>();
  private readonly regions: SeriesTable<RegionState>;

  constructor(private readonly settings: RegionalLatencySettings) {
    this.regions = new SeriesTable(() => ({ lastWindowStart: Number.NEGATIVE_INFINITY, lastWindowEnd: Number.NEGATIVE_INFINITY, dimensions: {}, episode: new AlertEpisode(settings), gaps: new RollingWindow(settings.usualGapWindows), errorCounts: [] }));
  }

  get size(): number {
    return this.regions.size;
  }

  observe(window: ModelWindow): Alert[] {
    // A folded series mixes many regions (or versions): comparing it with one region means nothing.
    if (carriesOverflow(window.dimensions)) return [];
    return this.aligner.add(`${window.modelName}|${window.modelVersion}`, window.region, window.windowStart, window.windowEnd, window).flatMap((aligned) => this.compare(aligned.members.map(([, w]) => w)));
  }

  advance(watermark: number): Alert[] {
    const alerts = this.aligner.flush(watermark).flatMap((aligned) => this.compare(aligned.members.map(([, w]) => w)));
    return [...alerts, ...closeSilentSeries(this.regions, watermark - this.settings.staleAfterMs, REGIONAL_LATENCY_RULE, () => 'latency_p95_ms')];
  }

  private compare(windows: ModelWindow[]): Alert[] {
    const counted = windows.filter((w) => w.requests >= this.settings.minRequests);
    const alerts: Alert[] = [];
    for (const window of windows) {
      const state = this.regions.admit(window.key, window.windowStart, window.windowEnd);
      if (!state) continue;
      state.dimensions = window.dimensions;
      const peers = counted.filter((w) => w.region !== window.region);
      const verdict = this.judge(window, peers, state);
      if (!verdict) continue;
      const alert = state.episode.step(
        {
          rule: REGIONAL_LATENCY_RULE,
          key: window.key,
          dimensions: verdict.peerRegion ? { ...window.dimensions, peer_region: verdict.peerRegion } : window.dimensions,
          windowStart: window.windowStart,
          windowEnd: window.windowEnd,
        },
        verdict,
      );
      if (alert) alerts.push(alert);
    }
    return alerts;
  }

  /** Undefined when the window itself has too few requests to say anything. */
  private judge(window: ModelWindow, peers: ModelWindow[], state: RegionState): RegionalVerdict | undefined {
    if (window.requests < this.settings.minRequests) return undefined;
    const who = `${window.modelName} ${window.modelVersion} in ${window.region}`;
    const observed = window.latencyP95Ms;
    if (peers.length < this.settings.minPeers) {
      state.errorCounts = [];
      return { breaching: false, severity: 'warning', metric: 'latency_p95_ms', observed, baseline: observed, score: 1, evidence: `latency p95 of ${who} is ${formatMs(observed)}; too few other regions reporting to compare with` };
    }
    const latency = this.judgeLatency(window, peers, state, who);
    const errors = this.judgeErrors(window, peers, state, who);
    // One verdict per window and key: the degraded signal, the more severe one when both are.
    if (errors.breaching && (!latency.breaching || (errors.severity === 'critical' && latency.severity !== 'critical'))) return errors;
    return latency;
  }

  /** The region's p95 against the peers' median, beyond the region's usual gap and its spread. */
  private judgeLatency(window: ModelWindow, peers: ModelWindow[], state: RegionState, who: string): RegionalVerdict {
    const observed = window.latencyP95Ms;
    const baseline = median(peers.map((p) => p.latencyP95Ms));
    const healthiest = [...peers].sort((a, b) => a.latencyP95Ms - b.latencyP95Ms || (a.region < b.region ? -1 : 1))[0]!;
    const ratio = baseline > 0 ? observed / baseline : Number.POSITIVE_INFINITY;
    // No verdict until the usual gap and its spread are known: one region's p95 over a few dozen
    // requests is too noisy to compare raw.
    const known = state.gaps.length >= this.settings.usualGapMinHistory;
    // From the window's sorted order, O(n) with no copies; the same numbers as robustLocationScale
    // over its values (gaps are logs, never -0, so even the median's sign agrees).
    const usual = known ? state.gaps.locationScale() : { median: 0, sigma: 0 };
    const usualGap = Math.max(1, Math.exp(usual.median));
    const breaching =
      known &&
      ratio >= this.settings.ratio * usualGap &&
      observed - baseline * usualGap >= this.settings.minDeltaMs &&
      Math.log(ratio / usualGap) >= this.settings.minZ * usual.sigma;
    // Breaching windows stay out of the usual gap: a lasting degradation does not become the norm.
    if (!breaching && Number.isFinite(ratio) && ratio > 0) state.gaps.push(Math.log(ratio));
    const evidence = latencyEvidence({ who, observed, baseline, ratio, usualGap, peers, healthiest, breaching });
    return {
      breaching,
      severity: ratio >= this.settings.criticalRatio * usualGap ? 'critical' : 'warning',
      metric: 'latency_p95_ms',
      observed,
      baseline,
      score: ratio,
      evidence,
      peerRegion: healthiest.region,
    };
  }

  /**
   * The region's error rate against its peers', errors pooled over the last few windows: breaching
   * when the excess is large in absolute terms, rests on enough errors, and could hardly happen by
   * chance at the peers' rate.
   */
  private judgeErrors(window: ModelWindow, peers: ModelWindow[], state: RegionState, who: string): RegionalVerdict {
    state.errorCounts.push({
      errors: window.errors,
      requests: window.requests,
      peerErrors: peers.reduce((sum, p) => sum + p.errors, 0),
      peerRequests: peers.reduce((sum, p) => sum + p.requests, 0),
    });
    if (state.errorCounts.length > this.settings.errorWindows) state.errorCounts.shift();
    // Summed in one loop, not through a helper closure made per window (see changeEvidence in change-point.ts).
    let errors = 0;
    let requests = 0;
    let peerErrors = 0;
    let peerRequests = 0;
    for (const c of state.errorCounts) {
      errors += c.errors;
      requests += c.requests;
      peerErrors += c.peerErrors;
      peerRequests += c.peerRequests;
    }
    const rate = requests > 0 ? errors / requests : 0;
    const peerRate = peerRequests > 0 ? peerErrors / peerRequests : 0;
    const excess = rate - peerRate;
    const p = poissonUpperTail(errors, requests * Math.max(peerRate, this.settings.errorRateFloor));
    const breaching = errors >= this.settings.minErrors && excess >= this.settings.minErrorRateIncrease && p < this.settings.errorAlpha;
    const healthiest = [...peers].sort((a, b) => a.errors / a.requests - b.errors / b.requests || (a.region < b.region ? -1 : 1))[0]!;
    const evidence = errorEvidence({ who, rate, peerRate, minutes: state.errorCounts.length, errors, requests, peers: peers.length, p, healthiest: healthiest.region, breaching });
    return {
      breaching,
      severity: excess >= this.settings.criticalErrorRateIncrease ? 'critical' : 'warning',
      metric: 'error_rate',
      observed: rate,
      baseline: peerRate,
      score: excess,
      evidence,
      peerRegion: healthiest.region,
    };
  }
}
