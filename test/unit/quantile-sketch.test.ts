import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { quantileSorted } from 'simple-statistics';
import { QuantileSketch, SKETCH_RELATIVE_ACCURACY } from '../../pipeline/core/quantile-sketch.js';
import { ByteReader, ByteWriter } from '../../pipeline/core/compact-bytes.js';

/** The rank-based quantile the sketch guarantees against: the value at rank floor(q * (n - 1)). */
function exactQuantile(sorted: number[], q: number): number {
  return sorted[Math.floor(q * (sorted.length - 1))]!;
}

const sketchOf = (values: readonly number[]) => {
  const sketch = QuantileSketch.empty();
  for (const v of values) sketch.add(v);
  return sketch;
};

/** Within the relative accuracy, plus a rounding allowance far below it (bin edges are computed in floating point). */
const withinBound = (estimate: number, exact: number) => Math.abs(estimate - exact) <= SKETCH_RELATIVE_ACCURACY * exact * (1 + 1e-9);

const QUANTILES = [0, 0.01, 0.25, 0.5, 0.9, 0.95, 0.99, 0.999, 1];

/** Latency-like values: uniform, log-uniform over twelve decades, Pareto (heavy tail), with exact zeros mixed in. */
const distributions = fc.oneof(
  fc.array(fc.double({ min: 1, max: 1e6, noNaN: true }), { minLength: 1, maxLength: 2000 }),
  fc.array(fc.double({ min: -4, max: 8, noNaN: true }).map((e) => 10 ** e), { minLength: 1, maxLength: 2000 }),
  fc.array(fc.double({ min: 1e-6, max: 1, noNaN: true }).map((u) => 50 / u ** (1 / 1.1)), { minLength: 1, maxLength: 2000 }),
  fc.array(fc.oneof(fc.constant(0), fc.double({ min: 0.001, max: 1e4, noNaN: true })), { minLength: 1, maxLength: 500 }),
);

describe('QuantileSketch', () => {
  it('keeps p50/p95/p99 within its relative-error bound of the exact value (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.double({ min: 1, max: 1e6, noNaN: true }), { minLength: 1, maxLength: 2000 }), fc.constantFrom(0.5, 0.95, 0.99), (values, q) => {
        const exact = exactQuantile([...values].sort((a, b) => a - b), q);
        return withinBound(sketchOf(values).quantile(q), exact);
      }),
    );
  });

  it('keeps every quantile within the bound for uniform, log-uniform, heavy-tailed and zero-laden data (property)', () => {
    fc.assert(
      fc.property(distributions, (values) => {
        const sketch = sketchOf(values);
        const sorted = [...values].sort((a, b) => a - b);
        return QUANTILES.every((q) => withinBound(sketch.quantile(q), exactQuantile(sorted, q)));
      }),
      { numRuns: 200 },
    );
  });

  it('promises the rollups 1% with margin', () => {
    expect(SKETCH_RELATIVE_ACCURACY).toBeLessThan(0.01);
  });

  it('merged from any split equals one pass over all the values (property)', () => {
    fc.assert(
      fc.property(distributions, fc.array(fc.nat(), { maxLength: 2000 }), (values, assignment) => {
        const parts = [QuantileSketch.empty(), QuantileSketch.empty(), QuantileSketch.empty()];
        values.forEach((v, i) => parts[(assignment[i] ?? 0) % 3]!.add(v));
        const merged = QuantileSketch.empty();
        for (const part of parts) merged.merge(part);
        const onePass = sketchOf(values);
        return merged.count === onePass.count && Buffer.from(merged.toBytes()).equals(Buffer.from(onePass.toBytes())) && QUANTILES.every((q) => merged.quantile(q) === onePass.quantile(q));
      }),
      { numRuns: 200 },
    );
  });

  it('reads back from its bytes exactly what it wrote (property)', () => {
    fc.assert(
      fc.property(distributions, (values) => {
        const sketch = sketchOf(values);
        const copy = QuantileSketch.fromBytes(sketch.toBytes());
        return copy.count === sketch.count && QUANTILES.every((q) => copy.quantile(q) === sketch.quantile(q)) && Buffer.from(copy.toBytes()).equals(Buffer.from(sketch.toBytes()));
      }),
      { numRuns: 200 },
    );
  });

  it('reads back from the layout it is held in exactly what it held, dense or sparse (property)', () => {
    fc.assert(
      fc.property(distributions, (values) => {
        const sketch = sketchOf(values);
        const writer = new ByteWriter();
        sketch.writeTo(writer, true);
        const reader = new ByteReader(writer.finish(), 'held sketch');
        const copy = QuantileSketch.readFrom(reader);
        reader.end();
        return copy.count === sketch.count && QUANTILES.every((q) => copy.quantile(q) === sketch.quantile(q)) && Buffer.from(copy.toBytes()).equals(Buffer.from(sketch.toBytes()));
      }),
      { numRuns: 200 },
    );
  });

  it('holds an hour of a busy series in half the bytes the internal topic carries it in', () => {
    const random = (seed: number) => () => ((seed = (seed * 16807) % 2147483647) / 2147483647);
    const uniform = random(42);
    // Log-normal latencies around 800 ms, as the memory benchmark's series send them.
    const hour = sketchOf(Array.from({ length: 300 }, () => 800 * Math.exp(0.6 * Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform()))));
    const writer = new ByteWriter();
    hour.writeTo(writer, true);
    expect(writer.finish().length * 2).toBeLessThanOrEqual(hour.toBytes().length);
  });

  it('keeps adding after a round trip through bytes as if it had never left', () => {
    const before = [120, 80, 95, 300, 0];
    const after = [101, 2500, 0.5];
    const copy = QuantileSketch.fromBytes(sketchOf(before).toBytes());
    for (const v of after) copy.add(v);
    expect(Buffer.from(copy.toBytes()).equals(Buffer.from(sketchOf([...before, ...after]).toBytes()))).toBe(true);
  });

  it('gives the same p95 merged from sixty minute sketches as from all the raw values (hourly from minutes)', () => {
    const minutes = Array.from({ length: 60 }, (_, m) => Array.from({ length: 500 }, (_, i) => 100 + ((m * 7919 + i * 104729) % 5000)));
    const hourly = QuantileSketch.empty();
    for (const minute of minutes) hourly.merge(QuantileSketch.fromBytes(sketchOf(minute).toBytes()));
    const all = minutes.flat().sort((a, b) => a - b);
    const exact = exactQuantile(all, 0.95);
    expect(Math.abs(hourly.quantile(0.95) - exact) / exact).toBeLessThanOrEqual(0.01);
    expect(hourly.count).toBe(all.length);
    expect(Math.abs(quantileSorted(all, 0.95) - exact) / exact).toBeLessThan(0.01);
  });

  it('answers 0 for an empty window instead of NaN', () => {
    expect(QuantileSketch.empty().quantile(0.95)).toBe(0);
  });

  it('counts negative and sub-picosecond values as zeros', () => {
    const sketch = sketchOf([-5, 0, 1e-12, 10]);
    expect(sketch.count).toBe(4);
    expect(sketch.quantile(0.5)).toBe(0);
    expect(withinBound(sketch.quantile(1), 10)).toBe(true);
  });

  it('keeps a window with a handful of values to a few bytes on the wire', () => {
    expect(sketchOf([812, 640, 1033, 790, 2210]).toBytes().length).toBeLessThanOrEqual(16);
  });

  it('refuses bytes it did not write, naming what they look like', () => {
    expect(() => QuantileSketch.fromBytes(Uint8Array.from([0x0a, 0x09, 0x11]))).toThrow(/DDSketch protobuf/);
    const bytes = sketchOf([1, 2, 3]).toBytes();
    expect(() => QuantileSketch.fromBytes(bytes.subarray(0, bytes.length - 1))).toThrow(/malformed|cut short/);
  });

  it('refuses NaN instead of corrupting its bins', () => {
    expect(() => QuantileSketch.empty().add(Number.NaN)).toThrow(/NaN/);
  });
});
