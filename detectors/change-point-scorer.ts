import { z } from 'zod';
import { DailyProfile, DAY_MS } from './daily-profile.js';
import { normalCdf, RollingWindow } from './robust-statistics.js';
import { SlidingMaximum } from './sliding-maximum.js';
import { TailCalibration } from './tail-calibration.js';

/**
 * The general-purpose detector: a series against its own baseline, one point at a time, no
 * look-ahead. It is what `costline detect` runs over a CSV and what the NAB benchmark scores.
 *
 * How a point is judged:
 * 1. Two working series: the raw values, and the values minus their daily profile (same time of
 *    day over the past days). Whichever the series is better explained by, over the last
 *    `modeWindowPoints`, is the one judged (a daily square wave is judged deseasonalized).
 * 2. On it, robust statistics in units of a robust sigma (MAD of residuals around a rolling
 *    median): the point's own deviation (a spike), and the deviation of the median of the last m
 *    points for each m in `shiftScales` (a level shift, seen sooner by the short scale and more
 *    surely by the long one). Upward and downward moves are separate statistics, since most
 *    operational series are lopsided (spikes go up).
 * 3. Each statistic is calibrated against its own recent history (TailCalibration: empirical tail,
 *    generalized Pareto beyond it), against its longer memory of peaks (how often past blocks of
 *    `peakBlockPoints` reached it, over `peakBlocks` blocks: an event the series keeps repeating is
 *    not news, however rare in the last days) and against a Gaussian, and the largest p-value is
 *    kept: a point must be rare for this series, not a recurring pattern, and a large move in robust
 *    units. The smallest p over the statistics, Bonferroni-corrected, is the point's p; its surprise
 *    is −log10 p.
 * 4. A spike within the range past days took at about this time of day (± `neighbourBuckets`) is
 *    explained by seasonality: the daily batch job at 03:00 is not an anomaly.
 * 5. An alarm is an onset: for `onsetHoldPoints` after one (the time the rolling median takes to
 *    adopt a new level) the score is held at 0, so one change is one alarm. Below the alarm level
 *    too, a point only scores when its surprise beats every surprise of the last `recordPoints`
 *    points, so that at any threshold an event is one detection at its start, not one per point
 *    (a user or a benchmark choosing a lower threshold gets onsets, not bursts). What an alarm
 *    teaches the recent calibration is winsorized at the alarm level, so one extreme event does
 *    not blind it; its peaks memory keeps the event as it was.
 *
 * State per series is bounded by the settings: a few rolling windows, calibrations and a daily
 * profile (see `changePointStateSize`).
 */

export interface ChangePointScorerSettings {
  /** Points in the rolling baseline (median and robust sigma). */
  historyPoints: number;
  /** Points of each statistic's history its tail is calibrated on: what "rare" is relative to. */
  calibrationPoints: number;
  /** No score before a statistic has this many points of calibration. */
  minCalibrationPoints: number;
  /** Share of the calibration above the peaks threshold the generalized Pareto tail is fitted to. */
  tailFraction: number;
  /** Widths (points) of the trailing medians that detect level shifts. */
  shiftScales: number[];
  /** −log10 p at which a point alarms (2.5: p < 0.003 after the Bonferroni correction): the operating point, score 0.5, the `alert` flag. */
  operatingSurprise: number;
  /** Points after an alarm during which the score is held at 0 while the baseline adopts the new level. */
  onsetHoldPoints: number;
  /** A point scores only when its surprise beats every surprise of the last this-many points (0: no such rule). */
  recordPoints: number;
  /** Blocks in each statistic's long memory of peaks (0: none), and the points per block. */
  peakBlocks: number;
  peakBlockPoints: number;
  /** Points over which raw and deseasonalized series are compared to pick the one to judge. */
  modeWindowPoints: number;
  /** Deseasonalize when the seasonal residuals' mean deviation is below this share of the raw one's (0.5: a profile of a few days is noisy; it must explain at least half). */
  seasonalAdvantage: number;
  /** Time-of-day bucket of the daily profile (UTC); must divide a day. */
  seasonalBucketMs: number;
  /** Days the daily profile remembers, and how many it needs before it is used. */
  seasonalDays: number;
  seasonalMinDays: number;
  /** Buckets either side of the time of day whose past range explains a spike (12 × 5 min: ± 1 h). */
  neighbourBuckets: number;
  /** Robust sigma is at least this share of the series' mean magnitude: sub-permille moves are never news. */
  scaleFloor: number;
}

/**
 * Defaults for a general series (what `costline detect` and the NAB benchmark use), stated for
 * 5-minute points: a one-day baseline, "rare" relative to the last two days and not a repeat of
 * what the last four weeks did (168 blocks of 4 hours). The operating point, p < 10^−2.5 after the
 * correction, sits where the threshold-optimized NAB score does on the full 58-file corpus.
 */
export const DEFAULT_CHANGE_POINT_SCORER: ChangePointScorerSettings = {
  historyPoints: 288,
  calibrationPoints: 576,
  minCalibrationPoints: 288,
  tailFraction: 0.05,
  shiftScales: [6, 24],
  operatingSurprise: 2.5,
  onsetHoldPoints: 144,
  recordPoints: 144,
  peakBlocks: 168,
  peakBlockPoints: 48,
  modeWindowPoints: 864,
  seasonalAdvantage: 0.5,
  seasonalBucketMs: 300_000,
  seasonalDays: 3,
  seasonalMinDays: 2,
  neighbourBuckets: 12,
  scaleFloor: 1e-3,
};

/** The scorer's settings, validated, with the given defaults for what is not said. */
export function changePointScorerSchemaWith(defaults: ChangePointScorerSettings) {
  return z
    .strictObject({
      historyPoints: z.number().int().min(8).max(100_000).default(defaults.historyPoints),
      calibrationPoints: z.number().int().min(32).max(100_000).default(defaults.calibrationPoints),
      minCalibrationPoints: z.number().int().min(16).default(defaults.minCalibrationPoints),
      tailFraction: z.number().gt(0).lt(0.5).default(defaults.tailFraction),
      shiftScales: z.array(z.number().int().min(2).max(10_000)).max(6).default(defaults.shiftScales),
      operatingSurprise: z.number().gt(0).max(12).default(defaults.operatingSurprise),
      onsetHoldPoints: z.number().int().min(0).default(defaults.onsetHoldPoints),
      recordPoints: z.number().int().min(0).max(100_000).default(defaults.recordPoints),
      peakBlocks: z.number().int().min(0).max(10_000).default(defaults.peakBlocks),
      peakBlockPoints: z.number().int().min(1).max(100_000).default(defaults.peakBlockPoints),
      modeWindowPoints: z.number().int().min(16).default(defaults.modeWindowPoints),
      seasonalAdvantage: z.number().gt(0).lt(1).default(defaults.seasonalAdvantage),
      seasonalBucketMs: z.number().int().min(1000).refine((ms) => DAY_MS % ms === 0, 'must divide a day (86400000 ms), e.g. 300000').default(defaults.seasonalBucketMs),
      seasonalDays: z.number().int().min(1).max(14).default(defaults.seasonalDays),
      seasonalMinDays: z.number().int().min(1).max(14).default(defaults.seasonalMinDays),
      neighbourBuckets: z.number().int().min(0).max(288).default(defaults.neighbourBuckets),
      scaleFloor: z.number().min(0).max(1).default(defaults.scaleFloor),
    })
    .refine((s) => s.minCalibrationPoints <= s.calibrationPoints, { message: 'minCalibrationPoints cannot exceed calibrationPoints', path: ['minCalibrationPoints'] })
    .refine((s) => s.seasonalMinDays <= s.seasonalDays, { message: 'seasonalMinDays cannot exceed seasonalDays', path: ['seasonalMinDays'] });
}

export const changePointScorerSchema = changePointScorerSchemaWith(DEFAULT_CHANGE_POINT_SCORER);

export interface PointScore {
  /** In [0, 1]: 0.5 at the operating point; 0 while warming up, during the hold after an alarm, and when a recent point was as surprising. */
  score: number;
  /** −log10 of the point's p-value, before the onset hold. */
  surprise: number;
  /** This point is an onset: surprise at or past the operating point, outside a hold. */
  alarm: boolean;
  /** Which way the most surprising statistic moved: 1 up, −1 down, 0 none. */
  direction: 1 | -1 | 0;
  /** What the baseline expected for this point (the rolling median, plus the daily profile when judged deseasonalized). */
  expected: number;
  model: 'raw' | 'seasonal' | 'warming_up';
}

interface TrackVerdict {
  p: number;
  direction: 1 | -1 | 0;
  /** Baseline level of the working series. */
  level: number;
}

/** Statistics past a billion standard errors are all the same news; keeps a zero sigma finite. */
function bounded(statistic: number): number {
  return Math.max(-1e9, Math.min(1e9, statistic));
}

/** The statistics of one working series (raw or deseasonalized). */
class RobustTrack {
  private readonly recent: RollingWindow;
  private readonly residuals: RollingWindow;
  private readonly magnitudes: RollingWindow;
  private readonly shortMedians: RollingWindow[];
  /** |residual| over the mode window: how well this track explains the series. */
  private readonly fit: RollingWindow;
  /** Two per statistic (the spike, then each shift scale): upward moves, then downward ones. */
  private readonly calibrations: TailCalibration[];

  constructor(private readonly settings: ChangePointScorerSettings) {
    this.recent = new RollingWindow(settings.historyPoints);
    this.residuals = new RollingWindow(settings.historyPoints);
    this.magnitudes = new RollingWindow(settings.historyPoints);
    this.fit = new RollingWindow(settings.modeWindowPoints);
    this.shortMedians = settings.shiftScales.map((m) => new RollingWindow(m));
    const calibration = {
      capacity: settings.calibrationPoints,
      tailFraction: settings.tailFraction,
      minHistory: settings.minCalibrationPoints,
      peakBlocks: settings.peakBlocks,
      peakBlockPoints: settings.peakBlockPoints,
    };
    this.calibrations = Array.from({ length: 2 * (1 + settings.shiftScales.length) }, () => new TailCalibration(calibration));
  }

  private get minPoints(): number {
    return Math.min(24, this.settings.historyPoints);
  }

  /** Values held: never more than the settings allow, however long the series. */
  storedValues(): number {
    let count = this.recent.length + this.residuals.length + this.magnitudes.length + this.fit.length;
    for (const window of this.shortMedians) count += window.length;
    for (const calibration of this.calibrations) count += calibration.length;
    return count;
  }

  /** Mean absolute residual over the mode window; infinite until there is enough of it. */
  meanDeviation(): number {
    if (this.fit.length < this.minPoints) return Number.POSITIVE_INFINITY;
    let sum = 0;
    for (const value of this.fit.sorted()) sum += value;
    return sum / this.fit.length;
  }

  /** Whether the next step judges its point (false while warming up: it only learns). */
  get judgesNext(): boolean {
    return this.recent.length >= this.minPoints && this.residuals.length >= this.minPoints;
  }

  /** Judges y, then learns it. `explainSpike` may shrink the spike residual (seasonal envelope). Undefined while warming up. */
  step(y: number, explainSpike?: (residual: number) => number): TrackVerdict | undefined {
    for (const window of this.shortMedians) window.push(y);
    let verdict: TrackVerdict | undefined;
    if (this.recent.length >= this.minPoints) {
      const level = this.recent.median();
      const residual = y - level;
      if (this.residuals.length >= this.minPoints) {
        verdict = this.judge(level, residual, explainSpike);
        this.fit.push(Math.abs(residual - this.residuals.median()));
      }
      this.residuals.push(residual);
    }
    this.recent.push(y);
    this.magnitudes.push(Math.abs(y));
    return verdict;
  }

  private judge(level: number, residual: number, explainSpike?: (residual: number) => number): TrackVerdict {
    const s = this.settings;
    // Residuals are measured from the rolling median itself, not re-centered on their own median:
    // after a level shift that median is stale and would fake a shift back.
    const rawSigma = this.residuals.locationScale().sigma;
    let magnitude = 0;
    for (const value of this.magnitudes.sorted()) magnitude += value;
    const sigma = Math.max(rawSigma, (s.scaleFloor * magnitude) / this.magnitudes.length, 1e-300);
    // Signed statistics in robust standard errors; undefined where a scale has too few points yet.
    const statistics: Array<number | undefined> = [bounded((explainSpike ? explainSpike(residual) : residual) / sigma)];
    s.shiftScales.forEach((m, i) => {
      const window = this.shortMedians[i]!;
      // The median of m normal values has a standard error of about 1.2533 σ/√m.
      statistics.push(window.full ? bounded((window.median() - level) / ((1.2533 * sigma) / Math.sqrt(m))) : undefined);
    });
    const tests: Array<{ value: number; calibration: TailCalibration; p: number; direction: 1 | -1 }> = [];
    statistics.forEach((statistic, i) => {
      if (statistic === undefined) return;
      tests.push({ value: Math.max(0, statistic), calibration: this.calibrations[2 * i]!, p: 1, direction: 1 });
      tests.push({ value: Math.max(0, -statistic), calibration: this.calibrations[2 * i + 1]!, p: 1, direction: -1 });
    });
    let best: (typeof tests)[number] | undefined;
    for (const test of tests) {
      test.p = Math.max(test.calibration.tailProbability(test.value), 1 - normalCdf(test.value));
      if (!best || test.p < best.p) best = test;
    }
    const p = Math.min(1, (best?.p ?? 1) * tests.length);
    // Learn, winsorizing at the alarm level what an alarm would teach the recent history.
    const alarmP = 10 ** -s.operatingSurprise / Math.max(1, tests.length);
    for (const test of tests) {
      const cap = test.p < alarmP && test.calibration.ready ? test.calibration.statisticAt(alarmP) : Number.POSITIVE_INFINITY;
      test.calibration.add(Math.min(test.value, cap), test.value);
    }
    return { p, direction: best && p < 1 ? best.direction : 0, level };
  }
}

/**
 * Scores one series point by point, in time order. Deterministic: the same points give the same
 * scores. See the module comment for the method.
 */
export class ChangePointScorer {
  private readonly profile: DailyProfile;
  private readonly raw: RobustTrack;
  private readonly seasonal: RobustTrack;
  private sinceAlarm = Number.POSITIVE_INFINITY;
  /** Surprises of the last `recordPoints` judged points. */
  private readonly recentSurprise: SlidingMaximum;

  constructor(readonly settings: ChangePointScorerSettings = DEFAULT_CHANGE_POINT_SCORER) {
    this.profile = new DailyProfile({ bucketMs: settings.seasonalBucketMs, days: settings.seasonalDays });
    this.raw = new RobustTrack(settings);
    this.seasonal = new RobustTrack(settings);
    this.recentSurprise = new SlidingMaximum(Math.max(1, settings.recordPoints));
  }

  /** Numbers held for this series (see changePointStateSize for the bound). */
  storedValues(): number {
    return this.raw.storedValues() + this.seasonal.storedValues() + 5 * this.profile.storedRecords() + 2 * this.recentSurprise.length;
  }

  /** Judges the point at `timestamp` (ms, non-decreasing), then learns it. */
  score(timestamp: number, value: number): PointScore {
    if (!Number.isFinite(value)) throw new Error(`change-point scorer takes finite values, got ${value} at ${timestamp}`);
    const s = this.settings;
    // Only a judged point can be explained by the envelope: a warming-up track need not look for one.
    const envelope = this.raw.judgesNext ? this.profile.envelope(timestamp, s.neighbourBuckets, s.seasonalMinDays) : undefined;
    // A spike inside what past days did around this time only counts by how far it leaves that range.
    const explainSpike = envelope
      ? (residual: number): number => {
          const beyond = value > envelope.high ? value - envelope.high : value < envelope.low ? value - envelope.low : 0;
          return Math.sign(beyond) === Math.sign(residual) ? Math.sign(residual) * Math.min(Math.abs(residual), Math.abs(beyond)) : 0;
        }
      : undefined;
    const rawVerdict = this.raw.step(value, explainSpike);
    const seasonalExpected = this.profile.expected(timestamp, s.seasonalMinDays);
    const seasonalVerdict = seasonalExpected === undefined ? undefined : this.seasonal.step(value - seasonalExpected);
    this.profile.add(timestamp, value);

    // The seasonal track has no verdict where the profile has too few past days at this time of day
    // (irregular or sparse timestamps): the raw track judges those points rather than nobody.
    const deseasonalize = seasonalVerdict !== undefined && this.seasonal.meanDeviation() < s.seasonalAdvantage * this.raw.meanDeviation();
    const verdict = deseasonalize ? seasonalVerdict : rawVerdict;
    this.sinceAlarm += 1;
    if (!verdict) return { score: 0, surprise: 0, alarm: false, direction: 0, expected: value, model: 'warming_up' };
    const surprise = -Math.log10(Math.max(verdict.p, 1e-300));
    const record = s.recordPoints === 0 || surprise > this.recentSurprise.max();
    this.recentSurprise.push(surprise);
    const held = this.sinceAlarm <= s.onsetHoldPoints || !record;
    const alarm = !held && surprise >= s.operatingSurprise;
    if (alarm) this.sinceAlarm = 0;
    return {
      score: held ? 0 : surprise / (surprise + s.operatingSurprise),
      surprise,
      alarm,
      direction: verdict.direction,
      expected: verdict.level + (deseasonalize ? (seasonalExpected ?? 0) : 0),
      model: deseasonalize ? 'seasonal' : 'raw',
    };
  }
}

/**
 * The most numbers a scorer holds with these settings, whatever the series' length: its state
 * bound (rolling windows keep each value twice, in arrival and in sorted order, so bytes are about
 * 16 × this). About 18,500 numbers with the defaults, 10,000 with the live ones.
 */
export function changePointStateSize(settings: ChangePointScorerSettings): number {
  const statistics = 2 * (1 + settings.shiftScales.length);
  const perTrack = 3 * settings.historyPoints + settings.modeWindowPoints + settings.shiftScales.reduce((sum, m) => sum + m, 0) + statistics * (settings.calibrationPoints + settings.peakBlocks);
  const profile = (DAY_MS / settings.seasonalBucketMs) * (settings.seasonalDays + 1) * 5;
  return 2 * perTrack + profile + 2 * Math.max(1, settings.recordPoints);
}
