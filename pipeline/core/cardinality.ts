/** The value every dimension value beyond the limit folds into. */
export const OVERFLOW_VALUE = '__overflow__';

/**
 * Caps the distinct values per dimension: a producer that sends a million model versions must
 * not exhaust memory or ClickHouse. Values seen first are kept; later new ones fold into the
 * overflow bucket, and the guard reports each dimension the first time it overflows.
 */
export class CardinalityGuard {
  private readonly seen = new Map<string, Set<string>>();
  private readonly overflowed = new Map<string, number>();

  constructor(private readonly limitPerDimension: number) {}

  /** The value to key by: the value itself, or OVERFLOW_VALUE once the dimension is full. */
  admit(dimension: string, value: string): string {
    let values = this.seen.get(dimension);
    if (!values) {
      values = new Set();
      this.seen.set(dimension, values);
    }
    if (values.has(value)) return value;
    if (values.size < this.limitPerDimension) {
      values.add(value);
      return value;
    }
    this.overflowed.set(dimension, (this.overflowed.get(dimension) ?? 0) + 1);
    return OVERFLOW_VALUE;
  }

  /** Events folded into the overflow bucket so far, per dimension. */
  overflowCounts(): Map<string, number> {
    return new Map(this.overflowed);
  }

  distinct(dimension: string): number {
    return this.seen.get(dimension)?.size ?? 0;
  }
}
