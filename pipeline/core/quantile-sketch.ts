import { DDSketch } from '@datadog/sketches-js';

/**
 * Percentiles come from DDSketch: mergeable, with a relative-error guarantee on every quantile.
 * 0.5% relative accuracy keeps the 1% bound the rollups promise with margin, at a few hundred
 * bytes per sketch for latency-like data.
 */
export const SKETCH_RELATIVE_ACCURACY = 0.005;

export class QuantileSketch {
  private constructor(private readonly sketch: DDSketch) {}

  static empty(): QuantileSketch {
    return new QuantileSketch(new DDSketch({ relativeAccuracy: SKETCH_RELATIVE_ACCURACY }));
  }

  static fromBytes(bytes: Uint8Array): QuantileSketch {
    return new QuantileSketch(DDSketch.fromProto(bytes));
  }

  add(value: number): void {
    this.sketch.accept(value < 0 ? 0 : value);
  }

  merge(other: QuantileSketch): void {
    this.sketch.merge(other.sketch);
  }

  get count(): number {
    return this.sketch.count;
  }

  /** The q-quantile (0..1), or 0 for an empty sketch. */
  quantile(q: number): number {
    return this.sketch.count === 0 ? 0 : this.sketch.getValueAtQuantile(q);
  }

  toBytes(): Uint8Array {
    return this.sketch.toProto();
  }
}
