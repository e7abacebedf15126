import { median } from 'simple-statistics';
import { z } from 'zod';
import { RollingWindow } from './robust-statistics.js';
import type { Alert } from '../schemas/index.js';
import { AlertEpisode, type Verdict } from './alert-episode.js';
import { WindowAligner } from './aligned-windows.js';
import { formatRatio } from './evidence.js';
import type { ModelWindow } from './inputs.js';
import { closeSilentSeries, episodeSettingsShape, newSeriesClock, SeriesTable, type EpisodeSeries } from './series-table.js';

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
  ...episodeSettingsShape({ fireAfter: 2, resolveAfter: 3, staleAfterMs: 30 * 60_000 }),
});

export type RegionalLatencySettings = z.infer<typeof regionalLatencySchema>;

interface RegionState extends EpisodeSeries {
  /** Ratios to the peers' median in recent healthy windows (bounded). */
  gaps: RollingWindow;
}

function formatMs(ms: number): string {
  return `${Math.round(ms).toLocaleString('en-US')} ms`;
}

/**
 * A region's latency p95 against the other regions serving the same model version in the same
 * window: a degradation local to one region (a bad zone, a saturated cluster, a network path)
 * rather than of the version. The evidence names the healthiest peer, where traffic could go, and
 * the alert carries it as the `peer_region` dimension for a shift_traffic action.
 */
export class RegionalLatencyDetector {
  private readonly aligner = new WindowAligner<ModelWindow>();
  private readonly regions: SeriesTable<RegionState>;

  constructor(private readonly settings: RegionalLatencySettings) {
    this.regions = new SeriesTable(() => ({ ...newSeriesClock(), dimensions: {}, episode: new AlertEpisode(settings), gaps: new RollingWindow(settings.usualGapWindows) }));
  }

  get size(): number {
    return this.regions.size;
  }

  observe(window: ModelWindow): Alert[] {
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
  private judge(window: ModelWindow, peers: ModelWindow[], state: RegionState): (Verdict & { peerRegion?: string }) | undefined {
    if (window.requests < this.settings.minRequests) return undefined;
    const who = `${window.modelName} ${window.modelVersion} in ${window.region}`;
    const observed = window.latencyP95Ms;
    if (peers.length < this.settings.minPeers) {
      return { breaching: false, severity: 'warning', metric: 'latency_p95_ms', observed, baseline: observed, score: 1, evidence: `latency p95 of ${who} is ${formatMs(observed)}; too few other regions reporting to compare with` };
    }
    const baseline = median(peers.map((p) => p.latencyP95Ms));
    const healthiest = [...peers].sort((a, b) => a.latencyP95Ms - b.latencyP95Ms || (a.region < b.region ? -1 : 1))[0]!;
    const ratio = baseline > 0 ? observed / baseline : Number.POSITIVE_INFINITY;
    const usualGap = state.gaps.length >= this.settings.usualGapMinHistory ? Math.max(1, median(state.gaps.values())) : 1;
    const breaching = ratio >= this.settings.ratio * usualGap && observed - baseline * usualGap >= this.settings.minDeltaMs;
    // Breaching windows stay out of the usual gap: a lasting degradation does not become the norm.
    if (!breaching && Number.isFinite(ratio)) state.gaps.push(ratio);
    const peerList = peers.length <= 3 ? ` (${peers.map((p) => `${p.region} ${formatMs(p.latencyP95Ms)}`).join(', ')})` : '';
    const evidence = breaching
      ? `latency p95 of ${who} is ${formatMs(observed)}, ${formatRatio(ratio)} the median of the other ${peers.length} region${peers.length === 1 ? '' : 's'} serving it, ${formatMs(baseline)}${peerList}${usualGap > 1 ? ` (its usual gap is ${formatRatio(usualGap)})` : ''}; ${healthiest.region} is the fastest at ${formatMs(healthiest.latencyP95Ms)}`
      : `latency p95 of ${who} is ${formatMs(observed)}, in line with the other regions' median of ${formatMs(baseline)}`;
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
}
