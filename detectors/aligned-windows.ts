/** The members' values for one window of one group, released together. */
export interface AlignedWindow<T> {
  group: string;
  windowStart: number;
  windowEnd: number;
  /** Member and value, in member order. */
  members: Array<[string, T]>;
}

interface PendingWindow<T> {
  windowEnd: number;
  members: Map<string, T>;
}

function byText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Lines up windows of different keys that are compared with each other (the regions serving one
 * model version, the versions of one model in one region). Keys arrive separately, each in window
 * order; a window of a group is released once a later window of the same group arrives, or once
 * the watermark passes its end, so a comparison sees every member that reported for that window
 * whatever order the keys came in. At most `maxPendingWindows` windows wait per group.
 */
export class WindowAligner<T> {
  private readonly groups = new Map<string, { pending: Map<number, PendingWindow<T>>; released: number }>();
  /**
   * No pending window ends before this (a lower bound, exact after each flush walk), and whether a
   * group was left with nothing pending and kept. flush below the bound, with no such group, would
   * find nothing to release or forget: it returns at once instead of walking every group each time
   * the watermark moves (most moves stay inside a window).
   */
  private earliestEnd = Number.POSITIVE_INFINITY;
  private idleGroupKept = false;

  constructor(private readonly maxPendingWindows = 4) {}

  /** Adds one member's window; returns the group's windows this completes, oldest first. */
  add(group: string, member: string, windowStart: number, windowEnd: number, value: T): Array<AlignedWindow<T>> {
    let state = this.groups.get(group);
    if (!state) {
      state = { pending: new Map(), released: Number.NEGATIVE_INFINITY };
      this.groups.set(group, state);
    }
    // Later than its window's release (a key lagging behind the others): compared on its own.
    if (windowStart <= state.released) return [{ group, windowStart, windowEnd, members: [[member, value]] }];
    let pending = state.pending.get(windowStart);
    if (!pending) {
      pending = { windowEnd, members: new Map() };
      state.pending.set(windowStart, pending);
      if (windowEnd < this.earliestEnd) this.earliestEnd = windowEnd;
    }
    pending.members.set(member, value);
    // Usually nothing is due (no older window waits, no more than the bound): say so without arrays.
    if (state.pending.size <= this.maxPendingWindows && !this.waitsBefore(state.pending, windowStart)) return [];
    const starts = [...state.pending.keys()].sort((a, b) => a - b);
    const due = starts.filter((start, i) => start < windowStart || i < starts.length - this.maxPendingWindows);
    return this.release(group, due);
  }

  /** Releases every window, of every group, that ended at or before the watermark: (window start, group) order. */
  flush(watermark: number): Array<AlignedWindow<T>> {
    // Called whenever the watermark moves: one walk over the groups, and sorting only for what is due.
    const released: Array<AlignedWindow<T>> = [];
    if (watermark < this.earliestEnd && !this.idleGroupKept) return released;
    let earliest = Number.POSITIVE_INFINITY;
    let idle = false;
    for (const [group, state] of this.groups) {
      let due: number[] | undefined;
      for (const [start, pending] of state.pending) {
        if (pending.windowEnd <= watermark) (due ??= []).push(start);
        else if (pending.windowEnd < earliest) earliest = pending.windowEnd;
      }
      if (due) released.push(...this.release(group, due));
      if (state.pending.size === 0) {
        if (state.released < watermark - 1) this.groups.delete(group);
        else idle = true;
      }
    }
    this.earliestEnd = earliest;
    this.idleGroupKept = idle;
    return released.sort((a, b) => a.windowStart - b.windowStart || byText(a.group, b.group));
  }

  /** Windows waiting, over all groups. */
  get pendingWindows(): number {
    let count = 0;
    for (const state of this.groups.values()) count += state.pending.size;
    return count;
  }

  private waitsBefore(pending: Map<number, PendingWindow<T>>, windowStart: number): boolean {
    for (const start of pending.keys()) if (start < windowStart) return true;
    return false;
  }

  private release(group: string, starts: number[]): Array<AlignedWindow<T>> {
    const state = this.groups.get(group)!;
    return starts
      .sort((a, b) => a - b)
      .map((windowStart) => {
        const pending = state.pending.get(windowStart)!;
        state.pending.delete(windowStart);
        state.released = Math.max(state.released, windowStart);
        return { group, windowStart, windowEnd: pending.windowEnd, members: [...pending.members].sort(([a], [b]) => byText(a, b)) };
      });
  }
}
