import { z } from 'zod';
import type { Alert } from '../schemas/index.js';
import { AlertEpisode, type Verdict } from './alert-episode.js';
import { WindowAligner } from './aligned-windows.js';
import { DailyProfile } from './daily-profile.js';
import { describeDimensions, formatDuration, formatMoney, formatPercent, formatRatio } from './evidence.js';
import type { CostContribution, SpendWindow } from './inputs.js';
import { RollingWindow } from './robust-statistics.js';
import { closeSilentSeries, episodeSettingsShape, SeriesTable, type EpisodeSeries } from './series-table.js';

export const SPEND_SPIKE_RULE = 'spend_spike';
const HOUR_MS = 3_600_000;

export const spendSpikeSchema = z.strictObject({
  enabled: z.boolean().default(true),
  /** Recent windows the baseline's median and spread come from. */
  historyWindows: z.number().int().min(4).max(10_080).default(60),
  /** No verdict before this many windows of history: a new owner has no baseline yet. */
  minHistory: z.number().int().min(2).default(10),
  /** Time-of-day buckets (UTC) of the daily profile; once `seasonalMinDays` days are there, the same bucket on past days is the baseline. */
  seasonalBucketMs: z.number().int().min(60_000).refine((ms) => 86_400_000 % ms === 0, 'must divide a day (86400000 ms), e.g. 3600000').default(HOUR_MS),
  seasonalDays: z.number().int().min(1).max(28).default(7),
  seasonalMinDays: z.number().int().min(1).max(28).default(3),
  /** Breaching when the cost rate is this many times the baseline... */
  ratio: z.number().gt(1).default(2.5),
  /** ...and this many robust standard deviations above it... */
  minZ: z.number().min(0).default(4),
  /** ...and at least this much money per hour above it, so small spends never page. */
  minExcessPerHour: z.number().min(0).default(1),
  /**
   * The money floor of egress. Bytes leaving for the internet cost little next to GPUs, but a surge
   * of them is a symptom (a client turned on verbose streaming or logprobs, a scraper) worth a look
   * before the bill comes: the ratio and spread conditions stay, the floor is lower.
   */
  egressMinExcessPerHour: z.number().min(0).default(0.1),
  /**
   * Egress is judged per model and region, all versions together: a rollout moves traffic (and its
   * bytes) from one version to the other without anyone sending more.
   */
  egressAcrossVersions: z.boolean().default(true),
  /** The spread is at least this share of the baseline: a perfectly flat spend does not make a wiggle a spike. */
  minRelativeSpread: z.number().min(0).default(0.05),
  /** Critical from this ratio on. */
  criticalRatio: z.number().gt(1).default(5),
  /** Contributors remembered per episode for the evidence (the largest ones). */
  maxContributors: z.number().int().min(1).max(1000).default(20),
  ...episodeSettingsShape({ fireAfter: 2, resolveAfter: 3, staleAfterMs: 2 * HOUR_MS }),
});

export type SpendSpikeSettings = z.infer<typeof spendSpikeSchema>;

interface SpendSeries extends EpisodeSeries {
  /** Cost rates (per hour) of recent clean windows. */
  recent: RollingWindow;
  profile: DailyProfile;
  /** The current run of breaching windows: when it began, what it cost, and who spent it. */
  streak: { start: number; cost: number; contributors: Map<string, CostContribution> } | undefined;
}

function contributorKey(dimensions: Record<string, string>): string {
  return Object.keys(dimensions)
    .sort()
    .map((name) => `${name}=${dimensions[name]}`)
    .join(',');
}

/** The egress of every version of one model in one region in one window, as one window keyed `model|region|egress`. */
function sumAcrossVersions(windows: SpendWindow[]): SpendWindow {
  const first = windows[0]!;
  const { model_name: model = '', region = '' } = first.dimensions;
  // Written out rather than spread from the first window: a spread followed by more fields is a slow path in V8.
  return {
    key: `${model}|${region}|egress`,
    dimensions: { model_name: model, region },
    windowStart: first.windowStart,
    windowEnd: first.windowEnd,
    kind: 'spend',
    scope: first.scope,
    cost: windows.reduce((sum, w) => sum + w.cost, 0),
    currency: first.currency,
    breakdown: windows.flatMap((w) => w.breakdown),
  };
}

/**
 * The cost rate of one owner (team, experiment, environment), one model version in one region, or
 * egress (per model and region, all versions together), against a robust baseline: the median and MAD of its recent clean windows, or, once
 * there are `seasonalMinDays` days of history, the median of the same time of day over past days
 * (spend that peaks every afternoon is not a spike every afternoon). The evidence names who spends
 * most of the spike, from the windows' cost breakdown.
 */
export class SpendSpikeDetector {
  private readonly series: SeriesTable<SpendSeries>;
  /** Egress windows of the versions of one model in one region, lined up to be summed. */
  private readonly egress = new WindowAligner<SpendWindow>();

  constructor(private readonly settings: SpendSpikeSettings) {
    if (settings.seasonalMinDays > settings.seasonalDays) throw new Error(`spend spike seasonalMinDays (${settings.seasonalMinDays}) cannot exceed seasonalDays (${settings.seasonalDays})`);
    this.series = new SeriesTable(() => ({
      lastWindowStart: Number.NEGATIVE_INFINITY,
      lastWindowEnd: Number.NEGATIVE_INFINITY,
      dimensions: {},
      recent: new RollingWindow(settings.historyWindows),
      profile: new DailyProfile({ bucketMs: settings.seasonalBucketMs, days: settings.seasonalDays }),
      episode: new AlertEpisode(settings),
      streak: undefined,
    }));
  }

  get size(): number {
    return this.series.size;
  }

  observe(window: SpendWindow): Alert[] {
    const { model_name: model, model_version: version, region } = window.dimensions;
    if (window.scope === 'egress' && this.settings.egressAcrossVersions && model !== undefined && version !== undefined && region !== undefined) {
      return this.egress.add(`${model}|${region}`, version, window.windowStart, window.windowEnd, window).flatMap((aligned) => this.judge(sumAcrossVersions(aligned.members.map(([, w]) => w))));
    }
    return this.judge(window);
  }

  private judge(window: SpendWindow): Alert[] {
    const state = this.series.admit(window.key, window.windowStart, window.windowEnd);
    if (!state) return [];
    state.dimensions = window.dimensions;
    const hours = (window.windowEnd - window.windowStart) / HOUR_MS;
    if (!(hours > 0)) throw new Error(`spend window of ${window.key} has no duration: [${window.windowStart}, ${window.windowEnd})`);
    const rate = window.cost / hours;
    if (state.recent.length < this.settings.minHistory) {
      this.learn(state, window.windowStart, rate);
      return [];
    }
    const seasonal = state.profile.expected(window.windowStart, this.settings.seasonalMinDays);
    const { median: recentMedian, sigma: recentSigma } = state.recent.locationScale();
    const baseline = seasonal ?? recentMedian;
    const sigma = Math.max(recentSigma, this.settings.minRelativeSpread * baseline);
    const excess = rate - baseline;
    const ratio = baseline > 0 ? rate / baseline : Number.POSITIVE_INFINITY;
    const floor = window.scope === 'egress' ? this.settings.egressMinExcessPerHour : this.settings.minExcessPerHour;
    const breaching = ratio >= this.settings.ratio && excess >= this.settings.minZ * sigma && excess >= floor;
    // The daily profile learns every window (a median over days shrugs off one day's spike, and
    // a spike that comes back every day at the same hour is the pattern); the recent baseline
    // only clean ones, so a sustained spike does not become its own baseline.
    state.profile.add(window.windowStart, rate);
    if (breaching) this.extendStreak(state, window);
    else {
      state.streak = undefined;
      state.recent.push(rate);
    }
    const verdict: Verdict = {
      breaching,
      severity: ratio >= this.settings.criticalRatio ? 'critical' : 'warning',
      metric: window.scope === 'egress' ? 'egress_cost_per_hour' : 'cost_per_hour',
      observed: rate,
      baseline,
      score: ratio,
      // Read by the episode's step just below, before the state changes again.
      evidence: this.evidenceLater(window, state, rate, baseline, ratio, breaching, seasonal !== undefined),
    };
    const alert = state.episode.step({ rule: SPEND_SPIKE_RULE, key: window.key, dimensions: window.dimensions, windowStart: window.windowStart, windowEnd: window.windowEnd }, verdict);
    return alert ? [alert] : [];
  }

  advance(watermark: number): Alert[] {
    const egress = this.egress.flush(watermark).flatMap((aligned) => this.judge(sumAcrossVersions(aligned.members.map(([, w]) => w))));
    return [...egress, ...closeSilentSeries(this.series, watermark - this.settings.staleAfterMs, SPEND_SPIKE_RULE, (key) => (key.endsWith('|egress') ? 'egress_cost_per_hour' : 'cost_per_hour'))];
  }

  private learn(state: SpendSeries, windowStart: number, rate: number): void {
    state.recent.push(rate);
    state.profile.add(windowStart, rate);
  }

  private extendStreak(state: SpendSeries, window: SpendWindow): void {
    const streak = state.streak ?? { start: window.windowStart, cost: 0, contributors: new Map<string, CostContribution>() };
    state.streak = streak;
    streak.cost += window.cost;
    for (const part of window.breakdown) {
      const id = contributorKey(part.dimensions);
      const known = streak.contributors.get(id);
      if (known) known.cost += part.cost;
      else streak.contributors.set(id, { dimensions: part.dimensions, cost: part.cost });
    }
    // Bounded: keep the largest contributors only.
    if (streak.contributors.size > this.settings.maxContributors) {
      const largest = [...streak.contributors].sort(([a, x], [b, y]) => y.cost - x.cost || (a < b ? -1 : 1)).slice(0, this.settings.maxContributors);
      streak.contributors = new Map(largest);
    }
  }

  /** The evidence, formatted only if an alert reads it (a function, not an arrow in the verdict: see changeEvidence in change-point.ts). */
  private evidenceLater(window: SpendWindow, state: SpendSeries, rate: number, baseline: number, ratio: number, breaching: boolean, seasonal: boolean): () => string {
    return () => this.evidence(window, state, rate, baseline, ratio, breaching, seasonal);
  }

  private evidence(window: SpendWindow, state: SpendSeries, rate: number, baseline: number, ratio: number, breaching: boolean, seasonal: boolean): string {
    const what = window.scope === 'egress' ? 'egress spend' : 'spend';
    const who = describeDimensions(window.dimensions);
    const perHour = (amount: number): string => `${formatMoney(amount, window.currency)}/h`;
    const against = seasonal ? 'the usual for this time of day' : 'its recent baseline';
    if (!breaching) return `${what} of ${who} is ${perHour(rate)}, back within ${against} of ${perHour(baseline)}`;
    const streak = state.streak!;
    let text = `${what} ${formatRatio(ratio)} over ${formatDuration(window.windowEnd - streak.start)} for ${who}: ${perHour(rate)} against ${against} of ${perHour(baseline)}`;
    const top = [...streak.contributors.values()].sort((a, b) => b.cost - a.cost || (contributorKey(a.dimensions) < contributorKey(b.dimensions) ? -1 : 1))[0];
    if (top && streak.cost > 0) text += `, ${formatPercent(Math.min(1, top.cost / streak.cost))} from ${describeDimensions(top.dimensions)}`;
    return text;
  }
}
