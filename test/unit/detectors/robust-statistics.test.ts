import fc from 'fast-check';
import { median, quantile } from 'simple-statistics';
import { describe, expect, it } from 'vitest';
import { cliffsDelta, mannWhitneyU, poissonUpperTail, robustLocationScale, RollingWindow } from '../../../detectors/robust-statistics.js';
import { TailCalibration, fitGeneralizedPareto } from '../../../detectors/tail-calibration.js';
import { Random } from './builders.js';

const finite = fc.double({ min: -1e6, max: 1e6, noNaN: true, noDefaultInfinity: true });

describe('RollingWindow', () => {
  it('holds at most its capacity, keeping the most recent values in arrival order', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 50 }), fc.array(finite, { maxLength: 200 }), (capacity, values) => {
        const window = new RollingWindow(capacity);
        for (const v of values) window.push(v);
        expect(window.length).toBe(Math.min(capacity, values.length));
        expect(window.values()).toEqual(values.slice(Math.max(0, values.length - capacity)));
      }),
    );
  });

  it('gives the same median and quantiles as sorting the window', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 40 }), fc.array(finite, { minLength: 1, maxLength: 120 }), fc.double({ min: 0, max: 1, noNaN: true }), (capacity, values, q) => {
        const window = new RollingWindow(capacity);
        for (const v of values) window.push(v);
        const held = window.values();
        expect(window.median()).toBeCloseTo(median(held), 6);
        expect(window.quantile(q)).toBeCloseTo(quantile(held, q), 6);
        expect(window.locationScale().sigma).toBeCloseTo(robustLocationScale(held).sigma, 6);
      }),
    );
  });

  it('refuses a value that is not finite, naming it', () => {
    expect(() => new RollingWindow(3).push(Number.NaN)).toThrow(/finite numbers, got NaN/);
  });
});

describe('robust location and scale', () => {
  it('estimates the standard deviation of normal data from the MAD', () => {
    const random = new Random(7);
    const values = Array.from({ length: 20_000 }, () => 10 + 3 * random.normal());
    const { median: center, sigma } = robustLocationScale(values);
    expect(Math.abs(center - 10)).toBeLessThan(0.15);
    expect(Math.abs(sigma - 3)).toBeLessThan(0.15);
  });

  it('ignores a few wild outliers', () => {
    const values = [10, 11, 9, 10, 12, 10, 9, 11, 1e9, -1e9];
    expect(robustLocationScale(values).median).toBeCloseTo(10, 0);
    expect(robustLocationScale(values).sigma).toBeLessThan(3);
  });

  it('falls back to the mean absolute deviation when more than half the values are equal', () => {
    const { sigma } = robustLocationScale([0, 0, 0, 0, 0, 0, 5, 10]);
    expect(sigma).toBeGreaterThan(0);
  });
});

describe('Mann-Whitney U', () => {
  it('counts the pairs in which the first sample is larger, ties as one half', () => {
    expect(mannWhitneyU([1, 2, 3], [4, 5, 6]).u).toBe(0);
    expect(mannWhitneyU([4, 5, 6], [1, 2, 3]).u).toBe(9);
    expect(mannWhitneyU([1, 2], [2, 3]).u).toBe(0.5);
  });

  it('gives the one-sided p-value of the normal approximation with continuity correction', () => {
    // Worked by hand: 92 of the 100 pairs have a > b; mean 50, variance 10·10·21/12 = 175,
    // z = (92 − 50 − 0.5)/√175 = 3.137, p = 1 − Φ(3.137) = 0.00085.
    const a = [19, 22, 16, 29, 24, 27, 30, 25, 28, 21];
    const b = [20, 11, 17, 12, 15, 14, 18, 13, 23, 10];
    const test = mannWhitneyU(a, b);
    expect(test.u).toBe(92);
    expect(test.pGreater).toBeCloseTo(0.00085, 4);
    expect(test.pLess).toBeGreaterThan(0.99);
  });

  it('finds no difference between identical samples', () => {
    const test = mannWhitneyU([5, 5, 5, 5], [5, 5, 5, 5]);
    expect(test.pGreater).toBe(1);
    expect(test.pLess).toBe(1);
  });

  it("gives Cliff's delta in [-1, 1], +1 when every value of the first sample is larger", () => {
    expect(cliffsDelta([10, 11, 12], [1, 2, 3])).toBe(1);
    expect(cliffsDelta([1, 2, 3], [10, 11, 12])).toBe(-1);
    fc.assert(
      fc.property(fc.array(finite, { minLength: 1, maxLength: 30 }), fc.array(finite, { minLength: 1, maxLength: 30 }), (a, b) => {
        const delta = cliffsDelta(a, b);
        expect(delta).toBeGreaterThanOrEqual(-1);
        expect(delta).toBeLessThanOrEqual(1);
      }),
    );
  });
});

describe('tail calibration (adaptive threshold)', () => {
  function calibrated(values: number[]): TailCalibration {
    const calibration = new TailCalibration({ capacity: 1000, tailFraction: 0.05, minHistory: 50 });
    for (const v of values) calibration.add(v);
    return calibration;
  }

  it('finds nothing surprising before its minimum history', () => {
    expect(calibrated([1, 2, 3]).tailProbability(1e9)).toBe(1);
  });

  it('is never more surprised by a smaller statistic than by a larger one', () => {
    const random = new Random(3);
    const calibration = calibrated(Array.from({ length: 1000 }, () => Math.abs(random.normal()) * 2));
    fc.assert(
      fc.property(fc.double({ min: 0, max: 100, noNaN: true }), fc.double({ min: 0, max: 100, noNaN: true }), (a, b) => {
        const [low, high] = a <= b ? [a, b] : [b, a];
        expect(calibration.tailProbability(high)).toBeLessThanOrEqual(calibration.tailProbability(low) + 1e-12);
      }),
    );
  });

  it('gives a value past anything seen a probability below one over the history, still ordered', () => {
    const random = new Random(4);
    const calibration = calibrated(Array.from({ length: 1000 }, () => -Math.log(1 - random.next())));
    const beyond = calibration.tailProbability(15);
    expect(beyond).toBeLessThan(1 / 1001);
    expect(calibration.tailProbability(30)).toBeLessThan(beyond);
  });

  it('inverts its tail probability', () => {
    const random = new Random(5);
    const calibration = calibrated(Array.from({ length: 1000 }, () => -Math.log(1 - random.next())));
    const statistic = calibration.statisticAt(1e-4);
    expect(calibration.tailProbability(statistic)).toBeCloseTo(1e-4, 5);
  });

  it('recovers an exponential tail from exponential peaks', () => {
    const random = new Random(6);
    const peaks = Array.from({ length: 5000 }, () => -2 * Math.log(1 - random.next())).sort((a, b) => a - b);
    const fit = fitGeneralizedPareto(peaks, 0);
    expect(fit.k).toBeGreaterThan(-0.1);
    expect(fit.scale).toBeCloseTo(2, 0);
  });
});

describe('poissonUpperTail', () => {
  it('gives P(X ≥ k) for a Poisson count, in the bulk and far in the tail', () => {
    expect(poissonUpperTail(0, 3)).toBe(1);
    expect(poissonUpperTail(2, 5)).toBeCloseTo(1 - Math.exp(-5) * 6, 12);
    expect(poissonUpperTail(10, 10)).toBeCloseTo(0.5420702855, 9);
    expect(poissonUpperTail(5, 0.14)).toBeCloseTo(3.989e-7, 9);
    // Far in the tail the sum stays accurate instead of collapsing to 1 − 1 = 0.
    expect(poissonUpperTail(50, 0.5)).toBeGreaterThan(1e-81);
    expect(poissonUpperTail(50, 0.5)).toBeLessThan(1e-79);
  });
});

