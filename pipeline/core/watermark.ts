/**
 * Bounded-out-of-orderness watermarks per source partition. A partition's watermark is the
 * highest event time it has shown minus the allowed out-of-orderness; the source's watermark is
 * the lowest among its partitions, so one slow partition holds windows open rather than letting
 * its events arrive late. A partition silent for longer than the idle timeout (wall clock,
 * passed in by the runtime) stops holding the watermark back until it speaks again.
 */
export class WatermarkTracker {
  private readonly partitions = new Map<string, { maxEventTime: number; lastSeenAt: number }>();
  private current = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly maxOutOfOrdernessMs: number,
    private readonly idleTimeoutMs: number,
  ) {}

  observe(partition: string, eventTimeMs: number, nowMs: number): void {
    const state = this.partitions.get(partition);
    if (!state) this.partitions.set(partition, { maxEventTime: eventTimeMs, lastSeenAt: nowMs });
    else {
      if (eventTimeMs > state.maxEventTime) state.maxEventTime = eventTimeMs;
      state.lastSeenAt = nowMs;
    }
  }

  /** Forgets a partition this instance no longer owns (after a rebalance). */
  release(partition: string): void {
    this.partitions.delete(partition);
  }

  /** The watermark now; it never moves backwards. */
  advance(nowMs: number): number {
    let lowest = Number.POSITIVE_INFINITY;
    let highest = Number.NEGATIVE_INFINITY;
    for (const state of this.partitions.values()) {
      if (state.maxEventTime > highest) highest = state.maxEventTime;
      if (nowMs - state.lastSeenAt > this.idleTimeoutMs) continue;
      if (state.maxEventTime < lowest) lowest = state.maxEventTime;
    }
    // Every partition idle: the newest event time seen stands for all of them.
    const basis = lowest === Number.POSITIVE_INFINITY ? highest : lowest;
    if (basis !== Number.NEGATIVE_INFINITY) this.current = Math.max(this.current, basis - this.maxOutOfOrdernessMs);
    return this.current;
  }

  get value(): number {
    return this.current;
  }
}
