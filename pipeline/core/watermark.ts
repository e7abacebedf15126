interface PartitionState {
  maxEventTime: number;
  lastSeenAt: number;
  /** The partition had nothing more to read at its last fetch (no consumer lag). */
  caughtUp: boolean;
}

/**
 * Bounded-out-of-orderness watermarks per source partition. A partition's watermark is the
 * highest event time it has shown minus the allowed out-of-orderness; the source's watermark is
 * the lowest among its assigned partitions, so a partition not read yet (a backlog after a
 * restart) holds windows open rather than seeing its events arrive late. A partition that is
 * caught up and silent for longer than the idle timeout (wall clock, passed in by the runtime)
 * stops holding the watermark back until it speaks again.
 */
export class WatermarkTracker {
  private readonly partitions = new Map<string, PartitionState>();
  private current = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly maxOutOfOrdernessMs: number,
    private readonly idleTimeoutMs: number,
  ) {}

  /** A partition this instance now owns: it holds the watermark until it shows data or goes idle. */
  assign(partition: string, nowMs: number): void {
    if (!this.partitions.has(partition)) this.partitions.set(partition, { maxEventTime: Number.NEGATIVE_INFINITY, lastSeenAt: nowMs, caughtUp: true });
  }

  observe(partition: string, eventTimeMs: number, nowMs: number): void {
    const state = this.partitions.get(partition);
    if (!state) this.partitions.set(partition, { maxEventTime: eventTimeMs, lastSeenAt: nowMs, caughtUp: false });
    else {
      if (eventTimeMs > state.maxEventTime) state.maxEventTime = eventTimeMs;
      state.lastSeenAt = nowMs;
    }
  }

  /** Whether the partition's last fetch reached its end; only a caught-up partition can be idle. */
  setCaughtUp(partition: string, caughtUp: boolean): void {
    const state = this.partitions.get(partition);
    if (state) state.caughtUp = caughtUp;
  }

  /** The watermark now; it never moves backwards. */
  advance(nowMs: number): number {
    let lowest = Number.POSITIVE_INFINITY;
    let highest = Number.NEGATIVE_INFINITY;
    for (const state of this.partitions.values()) {
      if (state.maxEventTime > highest) highest = state.maxEventTime;
      if (state.caughtUp && nowMs - state.lastSeenAt > this.idleTimeoutMs) continue;
      if (state.maxEventTime < lowest) lowest = state.maxEventTime;
    }
    // Every partition idle: the newest event time seen stands for all of them.
    const basis = lowest === Number.POSITIVE_INFINITY ? highest : lowest;
    if (basis !== Number.NEGATIVE_INFINITY) this.current = Math.max(this.current, basis - this.maxOutOfOrdernessMs);
    return this.current;
  }

  /** Every partition is caught up and silent for the idle timeout (or none is assigned). */
  allIdle(nowMs: number): boolean {
    for (const state of this.partitions.values()) {
      if (!state.caughtUp || nowMs - state.lastSeenAt <= this.idleTimeoutMs) return false;
    }
    return true;
  }

  get value(): number {
    return this.current;
  }
}
