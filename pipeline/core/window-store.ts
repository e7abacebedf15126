import type { HeldBytes } from './compact-bytes.js';
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

/**
 * How a store may keep a closed window's aggregate while it only waits out its allowed lateness:
 * serialized (a late event unpacks it). Stage 1 holds one such window per live key most of the time.
 */
export interface WindowPacking<A> {
  pack(aggregate: A): HeldBytes;
  unpack(packed: HeldBytes): A;
}

export interface WindowStoreOptions<K, A> {
  /** Only for object aggregates: a window holding a string is how the store knows it is packed. */
  packing?: A extends string ? never : WindowPacking<A>;
  /** Called for each window as it leaves memory, past its allowed lateness, with its final aggregate. */
  onEvict?: (window: { key: K; keyId: string; windowStart: number; aggregate: A }) => void;
}

interface WindowState<K, A> {
  key: K;
  keyId: string;
  start: number;
  /** The aggregate, or its packed bytes (see WindowPacking). */
  value: A | HeldBytes;
  eventCount: number;
}

interface Bucket<K, A> {
  start: number;
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
  private lastBucket: Bucket<K, A> | undefined;

  constructor(
    private readonly settings: WindowSettings,
    private readonly createAggregate: () => A,
    private readonly options: WindowStoreOptions<K, A> = {},
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
    const aggregate = this.aggregateFor(key, keyId, eventTimeMs, position);
    if (aggregate === undefined) return 'late';
    fold(aggregate);
    return 'accepted';
  }

  /**
   * The hot-path form of add, without a closure per event: counts one event into its window and
   * returns the aggregate the caller folds it into, or undefined when the event is late.
   */
  aggregateFor(key: K, keyId: string, eventTimeMs: number, position: SourcePosition): A | undefined {
    const state = this.windowFor(key, keyId, eventTimeMs, position);
    return state === undefined ? undefined : this.unpacked(state);
  }

  /** For immutable aggregates (stage 2 keeps bytes): the window's aggregate becomes what update returns. */
  update(key: K, keyId: string, eventTimeMs: number, position: SourcePosition, update: (aggregate: A) => A): AddOutcome {
    const state = this.windowFor(key, keyId, eventTimeMs, position);
    if (state === undefined) return 'late';
    state.value = update(this.unpacked(state));
    return 'accepted';
  }

  /** The live window of a key at a start, if any (read only: packed windows stay packed). */
  aggregateAt(keyId: string, windowStart: number): A | undefined {
    const state = this.buckets.get(windowStart)?.windows.get(keyId);
    if (state === undefined) return undefined;
    return this.isPacked(state.value) ? this.options.packing!.unpack(state.value) : state.value;
  }

  private isPacked(value: A | HeldBytes): value is HeldBytes {
    return this.options.packing !== undefined && typeof value === 'string';
  }

  private unpacked(state: WindowState<K, A>): A {
    if (this.isPacked(state.value)) state.value = this.options.packing!.unpack(state.value);
    return state.value as A;
  }

  private windowFor(key: K, keyId: string, eventTimeMs: number, position: SourcePosition): WindowState<K, A> | undefined {
    this.markProcessed(position);
    const start = windowStartOf(eventTimeMs, this.settings.sizeMs);
    if (start + this.settings.sizeMs + this.settings.allowedLatenessMs <= this.watermark) return undefined;
    const bucket = this.bucketOf(start, position);
    let state = bucket.windows.get(keyId);
    if (!state) {
      state = { key, keyId, start, value: this.createAggregate(), eventCount: 0 };
      bucket.windows.set(keyId, state);
      this.live += 1;
    }
    state.eventCount += 1;
    // A window of a bucket that already fired (a key first seen late, within lateness) is emitted as an update.
    if (bucket.fired) this.dirtyAfterFiring.add(state);
    return state;
  }

  /** The bucket of a window start, noting the first offset of each partition that feeds it. */
  private bucketOf(start: number, position: SourcePosition): Bucket<K, A> {
    // Events arrive roughly in time order: most land in the bucket the previous one did.
    let bucket = this.lastBucket !== undefined && this.lastBucket.start === start ? this.lastBucket : this.buckets.get(start);
    if (!bucket) {
      bucket = { start, windows: new Map(), firstOffsets: new Map(), fired: false };
      this.buckets.set(start, bucket);
    }
    this.lastBucket = bucket;
    if (!bucket.firstOffsets.has(position.partition)) bucket.firstOffsets.set(position.partition, position.offset);
    return bucket;
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
          this.dirtyAfterFiring.delete(state);
          emissions.push(this.emission(state, true));
        }
      }
    }
    for (const state of this.dirtyAfterFiring) emissions.push(this.emission(state, false));
    this.dirtyAfterFiring.clear();
    for (const start of starts) {
      if (start + sizeMs + allowedLatenessMs > this.watermark) break;
      const bucket = this.buckets.get(start)!;
      if (this.options.onEvict) for (const state of bucket.windows.values()) this.options.onEvict({ key: state.key, keyId: state.keyId, windowStart: start, aggregate: this.unpacked(state) });
      this.live -= bucket.windows.size;
      this.buckets.delete(start);
      if (this.lastBucket === bucket) this.lastBucket = undefined;
    }
    return emissions;
  }

  /** A fired window's emission; a store with packing packs the window right after (the emission keeps the object). */
  private emission(state: WindowState<K, A>, onTime: boolean): WindowEmission<K, A> {
    const aggregate = this.unpacked(state);
    const { packing } = this.options;
    if (packing) state.value = packing.pack(aggregate);
    return { key: state.key, keyId: state.keyId, windowStart: state.start, windowEnd: state.start + this.settings.sizeMs, aggregate, eventCount: state.eventCount, onTime };
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

}
