import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { quantileSorted } from 'simple-statistics';
import { QuantileSketch, SKETCH_RELATIVE_ACCURACY } from '../../pipeline/core/quantile-sketch.js';

/** The rank-based quantile DDSketch guarantees against: the value at rank floor(q * (n - 1)). */
function exactQuantile(sorted: number[], q: number): number {
  return sorted[Math.floor(q * (sorted.length - 1))]!;
}

describe('QuantileSketch', () => {
  it('keeps p50/p95/p99 within its relative-error bound of the exact value (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.double({ min: 1, max: 1e6, noNaN: true }), { minLength: 1, maxLength: 2000 }), fc.constantFrom(0.5, 0.95, 0.99), (values, q) => {
        const sketch = QuantileSketch.empty();
        for (const v of values) sketch.add(v);
        const exact = exactQuantile([...values].sort((a, b) => a - b), q);
        return Math.abs(sketch.quantile(q) - exact) <= SKETCH_RELATIVE_ACCURACY * exact + 1e-9;
      }),
    );
  });

  it('gives the same p95 merged from sixty minute sketches as from all the raw values (hourly from minutes)', () => {
    const minutes = Array.from({ length: 60 }, (_, m) => Array.from({ length: 500 }, (_, i) => 100 + ((m * 7919 + i * 104729) % 5000)));
    const hourly = QuantileSketch.empty();
    for (const minute of minutes) {
      const s = QuantileSketch.empty();
      for (const v of minute) s.add(v);
      hourly.merge(QuantileSketch.fromBytes(s.toBytes()));
    }
    const all = minutes.flat().sort((a, b) => a - b);
    const exact = exactQuantile(all, 0.95);
    expect(Math.abs(hourly.quantile(0.95) - exact) / exact).toBeLessThanOrEqual(0.01);
    expect(hourly.count).toBe(all.length);
    expect(Math.abs(quantileSorted(all, 0.95) - exact) / exact).toBeLessThan(0.01);
  });

  it('answers 0 for an empty window instead of NaN', () => {
    expect(QuantileSketch.empty().quantile(0.95)).toBe(0);
  });
});
