import { windowStartOf } from './tumbling-window.js';

/** Where an event came from: its partition (`topic:partition`) and offset. */
export interface SourcePosition {
  partition: string;
  offset: number;
}

export interface WindowSettings {
  sizeMs: number;
  allowedLatenessMs: number;
}

/** A window's result, emitted when the watermark passes its end and again for each late update. */
export interface WindowEmission<K, A> {
  key: K;
  keyId: string;
  windowStart: number;
  windowEnd: number;
  aggregate: A;
  /** Events folded in so far: grows with every update, so it orders re-emissions (the rollup version). */
  eventCount: number;
  /** First emission of this window (detectors see each window once, on time). */
  onTime: boolean;
}

interface WindowState<K, A> {
  key: K;
  keyId: string;
  start: number;
  aggregate: A;
  eventCount: number;
  fired: boolean;
}

interface Bucket<K, A> {
  windows: Map<string, WindowState<K, A>>;
  /** First offset per partition that fed any window of this start: offsets rise within a partition, so the first is the lowest. */
  firstOffsets: Map<string, number>;
  fired: boolean;
}

export type AddOutcome = 'accepted' | 'late';

/**
 * Keyed event-time tumbling windows with allowed lateness. Pure: time is the event time and the
 * watermark the caller passes in. It also knows, per partition, the lowest offset that still feeds
 * a live window, which is how far the runtime may commit.
 */
export class WindowStore<K, A> {
  private readonly buckets = new Map<number, Bucket<K, A>>();
  private readonly dirtyAfterFiring = new Set<WindowState<K, A>>();
  private readonly nextOffsets = new Map<string, number>();
  private watermark = Number.NEGATIVE_INFINITY;
  private live = 0;

  constructor(
    private readonly settings: WindowSettings,
    private readonly createAggregate: () => A,
  ) {}

  /** Windows held in memory (one per key and window start). */
  get size(): number {
    return this.live;
  }

  /**
   * Folds one event into its window. An event whose window closed more than the allowed lateness
   * ago is refused as late (the caller dead-letters it); it still counts as processed for commits.
   */
  add(key: K, keyId: string, eventTimeMs: number, position: SourcePosition, fold: (aggregate: A) => void): AddOutcome {
    this.markProcessed(position);
    const start = windowStartOf(eventTimeMs, this.settings.sizeMs);
    if (start + this.settings.sizeMs + this.settings.allowedLatenessMs <= this.watermark) return 'late';
    let bucket = this.buckets.get(start);
    if (!bucket) {
      bucket = { windows: new Map(), firstOffsets: new Map(), fired: false };
      this.buckets.set(start, bucket);
    }
    if (!bucket.firstOffsets.has(position.partition)) bucket.firstOffsets.set(position.partition, position.offset);
    let state = bucket.windows.get(keyId);
    if (!state) {
      state = { key, keyId, start, aggregate: this.createAggregate(), eventCount: 0, fired: false };
      bucket.windows.set(keyId, state);
      this.live += 1;
    }
    fold(state.aggregate);
    state.eventCount += 1;
    // A window of a bucket that already fired (a key first seen late, within lateness) is emitted as an update.
    if (bucket.fired) {
      state.fired = true;
      this.dirtyAfterFiring.add(state);
    }
    return 'accepted';
  }

  /** Records a position as processed without an event (a dead-lettered record, say). */
  markProcessed(position: SourcePosition): void {
    const next = position.offset + 1;
    if ((this.nextOffsets.get(position.partition) ?? -1) < next) this.nextOffsets.set(position.partition, next);
  }

  /**
   * Moves the watermark forward and returns what is due: every window whose end it passed
   * (on time), then every fired window updated since by a late event. Windows past their
   * allowed lateness are dropped from memory after their last emission.
   */
  advance(watermark: number): WindowEmission<K, A>[] {
    if (watermark > this.watermark) this.watermark = watermark;
    const emissions: WindowEmission<K, A>[] = [];
    const { sizeMs, allowedLatenessMs } = this.settings;
    const starts = [...this.buckets.keys()].sort((a, b) => a - b);
    for (const start of starts) {
      const bucket = this.buckets.get(start)!;
      if (start + sizeMs > this.watermark) break;
      if (!bucket.fired) {
        bucket.fired = true;
        for (const state of bucket.windows.values()) {
          state.fired = true;
          this.dirtyAfterFiring.delete(state);
          emissions.push(this.emission(state, true));
        }
      }
    }
    for (const state of this.dirtyAfterFiring) emissions.push(this.emission(state, false));
    this.dirtyAfterFiring.clear();
    for (const start of starts) {
      if (start + sizeMs + allowedLatenessMs > this.watermark) break;
      this.live -= this.buckets.get(start)!.windows.size;
      this.buckets.delete(start);
    }
    return emissions;
  }

  private emission(state: WindowState<K, A>, onTime: boolean): WindowEmission<K, A> {
    return { key: state.key, keyId: state.keyId, windowStart: state.start, windowEnd: state.start + this.settings.sizeMs, aggregate: state.aggregate, eventCount: state.eventCount, onTime };
  }

  /**
   * The offset each partition may commit: the first offset still feeding a live window, or the
   * next unprocessed offset when none does. Committing past it would lose that window's events
   * on a crash; committing this far replays exactly what rebuilds the live windows.
   */
  committableOffsets(): Map<string, number> {
    const result = new Map(this.nextOffsets);
    for (const bucket of this.buckets.values()) {
      for (const [partition, offset] of bucket.firstOffsets) {
        if (offset < (result.get(partition) ?? Number.POSITIVE_INFINITY)) result.set(partition, offset);
      }
    }
    return result;
  }

  /** Forgets a partition's progress after it was revoked (its windows are rebuilt by its new owner). */
  releasePartition(partition: string): void {
    this.nextOffsets.delete(partition);
  }
}
