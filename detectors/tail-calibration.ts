import { RollingWindow } from './robust-statistics.js';

export interface TailCalibrationSettings {
  /** Past statistics kept to calibrate against. */
  capacity: number;
  /** Share of them above the peaks threshold the tail is fitted to (e.g. 0.05: the top 5%). */
  tailFraction: number;
  /** Below this many past statistics, nothing is surprising yet. */
  minHistory: number;
  /**
   * A longer memory of peaks: the maximum of each block of `peakBlockPoints` statistics, for the
   * last `peakBlocks` blocks (none by default). A statistic that past blocks keep reaching is a
   * recurring event, however rare in the recent history.
   */
  peakBlocks?: number;
  peakBlockPoints?: number;
}

/** Smallest tail probability reported: beyond it numbers mean nothing on any realistic history. */
const MIN_PROBABILITY = 1e-12;

/** A generalized Pareto tail in Hosking's parametrization: P(Y > y) = (1 − k·y/scale)^(1/k), k ≤ 0. */
interface ParetoTail {
  threshold: number;
  /** Share of the history above the threshold. */
  share: number;
  k: number;
  scale: number;
}

/**
 * An adaptive threshold, after SPOT (Siffer et al., "Anomaly Detection in Streams with Extreme
 * Value Theory", KDD 2017): how surprising a statistic is, judged against the series' own recent
 * statistics rather than against a Gaussian it rarely follows. Inside the observed range the tail
 * probability is empirical; beyond the peaks threshold it comes from a generalized Pareto
 * distribution fitted to the exceedances (probability-weighted moments), so a value past anything
 * seen still gets a finite, ordered probability.
 * State: `capacity` numbers per series.
 */
export class TailCalibration {
  private readonly history: RollingWindow;
  /** Made by the first block's end (a calibration that never fills a block holds none). */
  private peaks: Float64Array | undefined;
  private peakCount = 0;
  private peakNext = 0;
  private blockMax = Number.NEGATIVE_INFINITY;
  private blockFill = 0;

  constructor(readonly settings: TailCalibrationSettings) {
    if (!(settings.tailFraction > 0 && settings.tailFraction < 0.5)) throw new Error(`tailFraction must be in (0, 0.5), got ${settings.tailFraction}`);
    this.history = new RollingWindow(settings.capacity);
  }

  /** Numbers held: the recent history and the block peaks. */
  get length(): number {
    return this.history.length + this.peakCount;
  }

  private rememberPeak(statistic: number): void {
    const blocks = this.settings.peakBlocks ?? 0;
    if (blocks === 0) return;
    this.blockMax = Math.max(this.blockMax, statistic);
    this.blockFill += 1;
    if (this.blockFill < (this.settings.peakBlockPoints ?? 1)) return;
    this.peaks ??= new Float64Array(blocks);
    this.peaks[this.peakNext] = this.blockMax;
    this.peakNext = (this.peakNext + 1) % blocks;
    this.peakCount = Math.min(this.peakCount + 1, blocks);
    this.blockMax = Number.NEGATIVE_INFINITY;
    this.blockFill = 0;
  }

  /**
   * How often per point the remembered blocks reached the statistic, a floor under its tail
   * probability. The first block that reached it does not count: an event seen once before may
   * still be news; seen again and again, it is the series' habit.
   */
  private recurrence(statistic: number): number {
    let reached = 0;
    for (let i = 0; i < this.peakCount; i += 1) if (this.peaks![i]! >= statistic) reached += 1;
    return reached <= 1 ? 0 : (reached - 1) / (this.peakCount * (this.settings.peakBlockPoints ?? 1));
  }

  get ready(): boolean {
    return this.history.length >= this.settings.minHistory;
  }

  /** Learns a statistic: `statistic` into the recent history (the caller may winsorize it), `observed` into the peaks. */
  add(statistic: number, observed = statistic): void {
    this.history.push(statistic);
    this.rememberPeak(observed);
  }

  /**
   * P(S ≥ statistic) under the recent statistics, and beyond their peaks threshold at least as
   * often as the peaks memory saw it recur; 1 while there are too few of them.
   */
  tailProbability(statistic: number): number {
    if (!this.ready) return 1;
    const n = this.history.length;
    const tail = this.fitTail();
    if (statistic <= tail.threshold) return (this.history.countAtLeast(statistic) + 1) / (n + 1);
    return Math.max(MIN_PROBABILITY, tail.share * paretoSurvival(tail, statistic - tail.threshold), this.recurrence(statistic));
  }

  /**
   * The statistic whose tail probability is `probability`: the inverse of tailProbability, used to
   * winsorize what an anomaly teaches the calibration.
   */
  statisticAt(probability: number): number {
    if (!this.ready) return Number.POSITIVE_INFINITY;
    const n = this.history.length;
    const tail = this.fitTail();
    if (probability >= tail.share) return this.history.quantile(1 - probability * ((n + 1) / n));
    const ratio = probability / tail.share;
    const excess = tail.k === 0 ? -tail.scale * Math.log(ratio) : (tail.scale * (1 - ratio ** tail.k)) / tail.k;
    return tail.threshold + excess;
  }

  private fitTail(): ParetoTail {
    const sorted = this.history.sorted();
    const n = sorted.length;
    const threshold = this.history.quantile(1 - this.settings.tailFraction);
    let first = n;
    while (first > 0 && sorted[first - 1]! > threshold) first -= 1;
    const exceedances = sorted.subarray(first);
    const share = (exceedances.length + 1) / (n + 1);
    const fitted = fitGeneralizedPareto(exceedances, threshold);
    if (fitted.scale > 0) return { threshold, share, ...fitted };
    // No spread above the threshold (the top of the history is one repeated value): take the
    // exponential tail that falls from 1/2 at the median to tailFraction at the threshold.
    const spread = (threshold - this.history.median()) / Math.log(0.5 / this.settings.tailFraction);
    return { threshold, share, k: 0, scale: spread > 0 ? spread : Number.MIN_VALUE };
  }
}

function paretoSurvival(tail: ParetoTail, excess: number): number {
  if (tail.k === 0) return Math.exp(-excess / tail.scale);
  return (1 - (tail.k * excess) / tail.scale) ** (1 / tail.k);
}

/**
 * A generalized Pareto distribution fitted to the exceedances over `threshold` (ascending) by
 * probability-weighted moments (Hosking and Wallis 1987), robust with few peaks. With fewer than
 * three exceedances the tail is taken as exponential with their mean. A bounded tail (k > 0) would
 * make everything past its end point equally, infinitely surprising; the exponential (k = 0) is the
 * lightest tail assumed, so that larger stays more surprising.
 */
export function fitGeneralizedPareto(sortedPeaks: ArrayLike<number>, threshold: number): { k: number; scale: number } {
  const n = sortedPeaks.length;
  let sum = 0;
  for (let i = 0; i < n; i += 1) sum += sortedPeaks[i]! - threshold;
  const mean = n === 0 ? 0 : sum / n;
  if (mean <= 0) return { k: 0, scale: 0 };
  if (n < 3) return { k: 0, scale: mean };
  // a1 = E[Y · (1 − F(Y))], estimated with plotting positions (i − 0.35)/n.
  let a1 = 0;
  for (let i = 0; i < n; i += 1) a1 += (sortedPeaks[i]! - threshold) * (1 - (i + 1 - 0.35) / n);
  a1 /= n;
  const denominator = mean - 2 * a1;
  if (denominator <= 0) return { k: 0, scale: mean };
  const k = Math.min(0, mean / denominator - 2);
  const scale = k === 0 ? mean : (2 * mean * a1) / denominator;
  return { k: Math.abs(k) < 1e-6 ? 0 : k, scale };
}
