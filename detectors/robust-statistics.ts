import { errorFunction, median } from 'simple-statistics';

/** 1.4826 × MAD estimates the standard deviation of normal data; the usual consistency constant. */
export const MAD_TO_SIGMA = 1.4826;
/** √(π/2): the same consistency constant for the mean absolute deviation. */
const MEAN_AD_TO_SIGMA = 1.2533;

/**
 * A fixed-capacity window of the most recent values: the one bounded history every detector keeps
 * per series (its size is a setting, never a function of how long the series ran). It keeps the
 * values in arrival order and in sorted order, so a median or quantile costs O(1) and a push
 * O(capacity) of memory moves, not a sort. Its arrays are made by its first push and grow as it
 * fills, doubling up to capacity: a new series' detectors hold no array for a window that has no
 * value yet (a seasonal track waits two days for its first), and a few dozen bytes for one that
 * just started, not capacity × 16. Allocating and zeroing those for every new series was a tenth of
 * stage 2's time when many series start at once.
 */
/** A RollingWindow's arrays start at this many values: 64 bytes, which V8 keeps on its heap (larger typed arrays get a separately allocated store). */
const INITIAL_LENGTH = 8;
/** What a window holds before its first value: never written (the first push replaces it). */
const NO_VALUES = new Float64Array(0);

export class RollingWindow {
  private ring: Float64Array;
  private ordered: Float64Array;
  private count = 0;
  private next = 0;

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new Error(`RollingWindow capacity must be a positive integer, got ${capacity}`);
    this.ring = NO_VALUES;
    this.ordered = NO_VALUES;
  }

  get length(): number {
    return this.count;
  }

  get full(): boolean {
    return this.count === this.capacity;
  }

  push(value: number): void {
    if (!Number.isFinite(value)) throw new Error(`RollingWindow takes finite numbers, got ${value}`);
    if (this.count === this.capacity) {
      const evicted = this.ring[this.next]!;
      const at = this.lowerBound(evicted);
      this.ordered.copyWithin(at, at + 1, this.count);
      this.count -= 1;
    } else if (this.count === this.ring.length) {
      // Not full yet, so nothing has wrapped: the ring holds its values in arrival order from 0.
      const length = Math.min(this.capacity, Math.max(INITIAL_LENGTH, 2 * this.count));
      const ring = new Float64Array(length);
      const ordered = new Float64Array(length);
      ring.set(this.ring);
      ordered.set(this.ordered);
      this.ring = ring;
      this.ordered = ordered;
    }
    const at = this.lowerBound(value);
    this.ordered.copyWithin(at + 1, at, this.count);
    this.ordered[at] = value;
    this.count += 1;
    this.ring[this.next] = value;
    this.next = (this.next + 1) % this.capacity;
  }

  /** Index of the first sorted value ≥ value. */
  private lowerBound(value: number): number {
    let lo = 0;
    let hi = this.count;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.ordered[mid]! < value) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** The values in arrival order, oldest first (a copy). */
  values(): number[] {
    const out = new Array<number>(this.count);
    const start = this.count < this.capacity ? 0 : this.next;
    for (let i = 0; i < this.count; i += 1) out[i] = this.ring[(start + i) % this.capacity]!;
    return out;
  }

  /** The most recent `count` values, oldest first. */
  latest(count: number): number[] {
    const all = this.values();
    return all.slice(Math.max(0, all.length - count));
  }

  /** The values in ascending order (a read-only view; valid until the next push). */
  sorted(): Float64Array {
    return this.ordered.subarray(0, this.count);
  }

  /** The q-quantile with linear interpolation (R type 7); NaN when empty. */
  quantile(q: number): number {
    if (this.count === 0) return Number.NaN;
    const position = (this.count - 1) * Math.min(1, Math.max(0, q));
    const below = Math.floor(position);
    const above = Math.min(this.count - 1, below + 1);
    return this.ordered[below]! + (position - below) * (this.ordered[above]! - this.ordered[below]!);
  }

  median(): number {
    return this.quantile(0.5);
  }

  /**
   * Median and robust sigma of the window (see robustLocationScale), from the sorted order: the
   * absolute deviations from the median are two sorted runs, merged up to their middle.
   */
  locationScale(): LocationScale {
    const n = this.count;
    if (n === 0) return { median: 0, sigma: 0 };
    const center = this.median();
    const split = this.lowerBound(center);
    let left = split - 1;
    let right = split;
    // The MAD is the middle of that merge (the mean of the two middles for an even n); the sum of
    // all deviations, in the same ascending order, is the fallback when the MAD is 0. No array:
    // this runs for every judged window of every series.
    const lowMiddle = (n - 1) >>> 1;
    const highMiddle = n >>> 1;
    let mad = 0;
    let sum = 0;
    for (let k = 0; k < n; k += 1) {
      const fromLeft = left >= 0 ? center - this.ordered[left]! : Number.POSITIVE_INFINITY;
      const fromRight = right < n ? this.ordered[right]! - center : Number.POSITIVE_INFINITY;
      let deviation: number;
      if (fromLeft <= fromRight) {
        deviation = fromLeft;
        left -= 1;
      } else {
        deviation = fromRight;
        right += 1;
      }
      if (k === lowMiddle) mad = deviation;
      if (k === highMiddle) mad = lowMiddle === highMiddle ? deviation : (mad + deviation) / 2;
      sum += deviation;
    }
    if (mad > 0) return { median: center, sigma: MAD_TO_SIGMA * mad };
    return { median: center, sigma: (MEAN_AD_TO_SIGMA * sum) / n };
  }

  /** How many values are ≥ value. */
  countAtLeast(value: number): number {
    return this.count - this.lowerBound(value);
  }

  clear(): void {
    this.count = 0;
    this.next = 0;
  }

  static from(capacity: number, values: readonly number[]): RollingWindow {
    const window = new RollingWindow(capacity);
    for (const value of values.slice(Math.max(0, values.length - capacity))) window.push(value);
    return window;
  }
}

export interface LocationScale {
  median: number;
  /** Robust standard deviation: 1.4826 × MAD, or 1.2533 × mean absolute deviation when MAD is 0. */
  sigma: number;
}

/**
 * Median and a robust sigma. When more than half the values are equal (quantized counters, a
 * mostly flat series) the MAD is 0 and would make every small move infinitely surprising; the
 * mean absolute deviation then still measures the spread that is there.
 */
export function robustLocationScale(values: readonly number[]): LocationScale {
  if (values.length === 0) return { median: 0, sigma: 0 };
  const center = median(values as number[]);
  const deviations = Float64Array.from(values, (value) => Math.abs(value - center)).sort();
  return locationScaleFromDeviations(center, deviations);
}

/** From the absolute deviations in ascending order. */
function locationScaleFromDeviations(center: number, sortedDeviations: Float64Array): LocationScale {
  const n = sortedDeviations.length;
  const mad = n % 2 === 1 ? sortedDeviations[(n - 1) / 2]! : (sortedDeviations[n / 2 - 1]! + sortedDeviations[n / 2]!) / 2;
  if (mad > 0) return { median: center, sigma: MAD_TO_SIGMA * mad };
  let sum = 0;
  for (const d of sortedDeviations) sum += d;
  return { median: center, sigma: (MEAN_AD_TO_SIGMA * sum) / n };
}

/** Φ(z), the standard normal distribution function. */
export function normalCdf(z: number): number {
  return 0.5 * (1 + errorFunction(z / Math.SQRT2));
}

export interface RankTest {
  /** Mann-Whitney U of the first sample: how many (a, b) pairs have a > b, ties counting one half. */
  u: number;
  /** The normal approximation's z, with the tie correction; positive when the first sample is larger. */
  z: number;
  /** One-sided p-value of "the first sample tends to be larger". */
  pGreater: number;
  /** One-sided p-value of "the first sample tends to be smaller". */
  pLess: number;
}

/**
 * The Mann-Whitney U (Wilcoxon rank-sum) test with midranks for ties, the tie-corrected variance
 * and a continuity correction. Adequate from about 8 values per sample, which is why detectors
 * using it have a minimum sample size.
 */
export function mannWhitneyU(first: readonly number[], second: readonly number[]): RankTest {
  const n1 = first.length;
  const n2 = second.length;
  if (n1 === 0 || n2 === 0) throw new Error(`mannWhitneyU needs two non-empty samples, got ${n1} and ${n2} values`);
  const pooled = [...first.map((value) => ({ value, fromFirst: true })), ...second.map((value) => ({ value, fromFirst: false }))].sort((a, b) => a.value - b.value);
  const n = n1 + n2;
  let rankSumFirst = 0;
  let tieTerm = 0;
  for (let i = 0; i < n; ) {
    let j = i;
    while (j + 1 < n && pooled[j + 1]!.value === pooled[i]!.value) j += 1;
    const midrank = (i + j) / 2 + 1;
    const ties = j - i + 1;
    tieTerm += ties ** 3 - ties;
    for (let k = i; k <= j; k += 1) if (pooled[k]!.fromFirst) rankSumFirst += midrank;
    i = j + 1;
  }
  const u = rankSumFirst - (n1 * (n1 + 1)) / 2;
  const mean = (n1 * n2) / 2;
  const variance = ((n1 * n2) / 12) * (n + 1 - tieTerm / (n * (n - 1)));
  if (variance <= 0) return { u, z: 0, pGreater: 1, pLess: 1 };
  const sd = Math.sqrt(variance);
  const z = (u - mean) / sd;
  return {
    u,
    z,
    pGreater: 1 - normalCdf((u - mean - 0.5) / sd),
    pLess: normalCdf((u - mean + 0.5) / sd),
  };
}

/**
 * Cliff's delta: P(a > b) − P(a < b) over all pairs, in [−1, 1]. An effect size that needs no
 * distribution: |δ| ≥ 0.33 is usually called medium, ≥ 0.47 large. Equals 2U/(n1·n2) − 1.
 */
export function cliffsDelta(first: readonly number[], second: readonly number[]): number {
  if (first.length === 0 || second.length === 0) return 0;
  return cliffsDeltaFromU(mannWhitneyU(first, second).u, first.length, second.length);
}

/** Cliff's delta from the U of a Mann-Whitney test already run on the same two non-empty samples: no second ranking. */
export function cliffsDeltaFromU(u: number, n1: number, n2: number): number {
  return (2 * u) / (n1 * n2) - 1;
}

/**
 * P(X ≥ k) for X ~ Poisson(λ): how surprising k events (errors in a window) are when λ were
 * expected. Summed upward from k in log space, so a tiny tail stays accurate instead of being
 * 1 minus nearly 1.
 */
export function poissonUpperTail(k: number, lambda: number): number {
  if (k <= 0) return 1;
  if (!(lambda > 0)) return 0;
  if (k <= lambda) {
    // The bulk is below k: 1 − P(X < k), summed over the (few) terms below k.
    let term = Math.exp(-lambda);
    let below = term;
    for (let i = 1; i < k; i += 1) {
      term *= lambda / i;
      below += term;
    }
    return Math.max(0, 1 - below);
  }
  let logTerm = -lambda + k * Math.log(lambda) - logFactorial(k);
  let tail = 0;
  for (let i = k; i < k + 1000; i += 1) {
    const term = Math.exp(logTerm);
    tail += term;
    if (term < tail * 1e-12) break;
    logTerm += Math.log(lambda) - Math.log(i + 1);
  }
  return Math.min(1, tail);
}

function logFactorial(n: number): number {
  let sum = 0;
  for (let i = 2; i <= n; i += 1) sum += Math.log(i);
  return sum;
}
