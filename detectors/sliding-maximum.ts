/**
 * The maximum of the last `capacity` values pushed, in O(1) amortized per push: a monotone deque
 * (values that can never be the maximum again are dropped as soon as a larger one arrives). It
 * holds at most `capacity` values.
 */
const NOTHING = new Float64Array(0);

export class SlidingMaximum {
  /** Made by the first push: a series' scorer holds one from its first judged point on. */
  private values = NOTHING;
  private positions = NOTHING;
  /** The deque is values[head..tail) in a ring of `capacity` slots. */
  private head = 0;
  private size = 0;
  private pushed = 0;

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new Error(`SlidingMaximum capacity must be a positive integer, got ${capacity}`);
  }

  /** Values held (at most `capacity`). */
  get length(): number {
    return this.size;
  }

  push(value: number): void {
    const n = this.capacity;
    if (this.values.length === 0) {
      this.values = new Float64Array(n);
      this.positions = new Float64Array(n);
    }
    // Drop from the back every value the new one outlives and outranks.
    while (this.size > 0 && this.values[(this.head + this.size - 1) % n]! <= value) this.size -= 1;
    // Drop from the front what left the window.
    if (this.size > 0 && this.positions[this.head]! <= this.pushed - n) {
      this.head = (this.head + 1) % n;
      this.size -= 1;
    }
    const at = (this.head + this.size) % n;
    this.values[at] = value;
    this.positions[at] = this.pushed;
    this.size += 1;
    this.pushed += 1;
  }

  /** The largest of the last `capacity` values; −∞ before anything was pushed. */
  max(): number {
    return this.size === 0 ? Number.NEGATIVE_INFINITY : this.values[this.head]!;
  }
}
