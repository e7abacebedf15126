import type { HeldBytes } from './compact-bytes.js';
import { KeyPositions, type KeyReferences } from './key-table.js';
import { windowStartOf } from './tumbling-window.js';

/** Where an event came from: its partition (`topic:partition`) and offset. Stores keep its values, never the object: a caller may reuse one per batch. */
export interface SourcePosition {
  partition: string;
  offset: number;
}

export interface WindowSettings {
  sizeMs: number;
  allowedLatenessMs: number;
}

/** A window's result, emitted when the watermark passes its end and again for each late update. */
export interface WindowEmission<A> {
  /** The key's index in the store's key table. */
  keyIndex: number;
  windowStart: number;
  windowEnd: number;
  aggregate: A;
  /** Events folded in so far: grows with every update, so it orders re-emissions (the rollup version). */
  eventCount: number;
  /** First emission of this window (detectors see each window once, on time). */
  onTime: boolean;
}

/**
 * How a store may keep a window's aggregate serialized (a later event unpacks it): a closed
 * window while it only waits out its allowed lateness, and open windows beyond `unpackedLimit`,
 * least recently unpacked first, as a state store keeps a cache of hot entries over serialized
 * ones. Stage 1 holds one closed window per live key most of the time, and most of a large
 * fleet's series see an event every few seconds at most.
 */
export interface WindowPacking<A> {
  pack(aggregate: A): HeldBytes;
  unpack(packed: HeldBytes): A;
  /** Open windows kept unpacked after advance (the hot set: events to them fold without a round trip). */
  unpackedLimit: number;
}

export interface WindowStoreOptions<A> {
  /** The table the store's key indices come from: the store retains a key for each window it holds. */
  keys: KeyReferences;
  /** Only for object aggregates: a window holding a string is how the store knows it is packed. */
  packing?: A extends string ? never : WindowPacking<A>;
  /** Called for each window as it leaves memory, past its allowed lateness, with its final aggregate. */
  onEvict?: (window: { keyIndex: number; windowStart: number; aggregate: A }) => void;
}

/**
 * The windows of one start, column by column (a window is a position in the arrays): an object
 * and a map entry per window cost more than the window's packed aggregate.
 */
interface Bucket<A> {
  start: number;
  keys: number[];
  /** The aggregate, or its packed bytes (see WindowPacking). */
  values: (A | HeldBytes)[];
  eventCounts: number[];
  /** Key index → position. */
  positions: KeyPositions;
  /** First offset per partition that fed any window of this start: offsets rise within a partition, so the first is the lowest. */
  firstOffsets: Map<string, number>;
  fired: boolean;
  /** Positions updated by a late event since the bucket fired, in update order. */
  updatedAfterFiring: Set<number> | undefined;
}

/** An unpacked window of a bucket not fired yet: each has exactly one (only packColdWindows packs an open window, taking it off the queue). */
interface UnpackedWindow<A> {
  bucket: Bucket<A>;
  position: number;
}

export type AddOutcome = 'accepted' | 'late';

/**
 * Keyed event-time tumbling windows with allowed lateness. Pure: time is the event time and the
 * watermark the caller passes in. It also knows, per partition, the lowest offset that still feeds
 * a live window, which is how far the runtime may commit. Keys are indices into a key table
 * (see key-table.ts), which the caller turns back into keys for emissions.
 */
export class WindowStore<A> {
  private readonly buckets = new Map<number, Bucket<A>>();
  private readonly nextOffsets = new Map<string, number>();
  private watermark = Number.NEGATIVE_INFINITY;
  private live = 0;
  private lastBucket: Bucket<A> | undefined;
  /** Open windows held unpacked, oldest first, from unpackedHead on. */
  private unpackedQueue: (UnpackedWindow<A> | undefined)[] = [];
  private unpackedHead = 0;

  constructor(
    private readonly settings: WindowSettings,
    private readonly createAggregate: () => A,
    private readonly options: WindowStoreOptions<A>,
  ) {}

  /** Windows held in memory (one per key and window start). */
  get size(): number {
    return this.live;
  }

  /**
   * Folds one event into its window. An event whose window closed more than the allowed lateness
   * ago is refused as late (the caller dead-letters it); it still counts as processed for commits.
   */
  add(keyIndex: number, eventTimeMs: number, position: SourcePosition, fold: (aggregate: A) => void): AddOutcome {
    const aggregate = this.aggregateFor(keyIndex, eventTimeMs, position);
    if (aggregate === undefined) return 'late';
    fold(aggregate);
    return 'accepted';
  }

  /**
   * The hot-path form of add, without a closure per event: counts one event into its window and
   * returns the aggregate the caller folds it into, or undefined when the event is late. The
   * aggregate stays valid until the next advance (only advance packs open windows).
   */
  aggregateFor(keyIndex: number, eventTimeMs: number, position: SourcePosition): A | undefined {
    const bucket = this.windowFor(keyIndex, eventTimeMs, position);
    if (bucket === undefined) return undefined;
    return this.unpacked(bucket, bucket.positions.get(keyIndex));
  }

  /** For immutable aggregates (stage 2 keeps bytes): the window's aggregate becomes what update returns. */
  update(keyIndex: number, eventTimeMs: number, position: SourcePosition, update: (aggregate: A) => A): AddOutcome {
    const bucket = this.windowFor(keyIndex, eventTimeMs, position);
    if (bucket === undefined) return 'late';
    const at = bucket.positions.get(keyIndex);
    bucket.values[at] = update(this.unpacked(bucket, at));
    return 'accepted';
  }

  /** The live window of a key at a start, if any (read only: packed windows stay packed). */
  aggregateAt(keyIndex: number, windowStart: number): A | undefined {
    const bucket = this.buckets.get(windowStart);
    const at = bucket === undefined ? -1 : bucket.positions.get(keyIndex);
    if (at < 0) return undefined;
    const value = bucket!.values[at]!;
    return this.isPacked(value) ? this.options.packing!.unpack(value) : value;
  }

  private isPacked(value: A | HeldBytes): value is HeldBytes {
    return this.options.packing !== undefined && typeof value === 'string';
  }

  private unpacked(bucket: Bucket<A>, at: number): A {
    const value = bucket.values[at]!;
    if (!this.isPacked(value)) return value;
    const aggregate = this.options.packing!.unpack(value);
    bucket.values[at] = aggregate;
    if (!bucket.fired) this.unpackedQueue.push({ bucket, position: at });
    return aggregate;
  }

  /** The bucket holding the event's window (created with the window if new), or undefined when the event is late. */
  private windowFor(keyIndex: number, eventTimeMs: number, position: SourcePosition): Bucket<A> | undefined {
    this.markProcessed(position);
    const start = windowStartOf(eventTimeMs, this.settings.sizeMs);
    if (start + this.settings.sizeMs + this.settings.allowedLatenessMs <= this.watermark) return undefined;
    const bucket = this.bucketOf(start, position);
    let at = bucket.positions.get(keyIndex);
    if (at < 0) {
      at = bucket.keys.push(keyIndex) - 1;
      const aggregate = this.createAggregate();
      bucket.values.push(aggregate);
      bucket.eventCounts.push(0);
      bucket.positions.set(keyIndex, at);
      this.options.keys.retain(keyIndex);
      this.live += 1;
      if (this.options.packing && !bucket.fired) this.unpackedQueue.push({ bucket, position: at });
    }
    bucket.eventCounts[at]! += 1;
    // A window of a bucket that already fired (a key first seen late, within lateness) is emitted as an update.
    if (bucket.fired) (bucket.updatedAfterFiring ??= new Set()).add(at);
    return bucket;
  }

  /** The bucket of a window start, noting the first offset of each partition that feeds it. */
  private bucketOf(start: number, position: SourcePosition): Bucket<A> {
    // Events arrive roughly in time order: most land in the bucket the previous one did.
    let bucket = this.lastBucket !== undefined && this.lastBucket.start === start ? this.lastBucket : this.buckets.get(start);
    if (!bucket) {
      bucket = { start, keys: [], values: [], eventCounts: [], positions: new KeyPositions(), firstOffsets: new Map(), fired: false, updatedAfterFiring: undefined };
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
  advance(watermark: number): WindowEmission<A>[] {
    if (watermark > this.watermark) this.watermark = watermark;
    const emissions: WindowEmission<A>[] = [];
    const { sizeMs, allowedLatenessMs } = this.settings;
    const starts = [...this.buckets.keys()].sort((a, b) => a - b);
    let fired = false;
    for (const start of starts) {
      const bucket = this.buckets.get(start)!;
      if (start + sizeMs > this.watermark) break;
      if (!bucket.fired) {
        bucket.fired = fired = true;
        for (let at = 0; at < bucket.keys.length; at++) emissions.push(this.emission(bucket, at, true));
      }
    }
    for (const start of starts) {
      const bucket = this.buckets.get(start)!;
      if (bucket.updatedAfterFiring === undefined) continue;
      for (const at of bucket.updatedAfterFiring) emissions.push(this.emission(bucket, at, false));
      bucket.updatedAfterFiring = undefined;
    }
    for (const start of starts) {
      if (start + sizeMs + allowedLatenessMs > this.watermark) break;
      const bucket = this.buckets.get(start)!;
      for (let at = 0; at < bucket.keys.length; at++) {
        if (this.options.onEvict) this.options.onEvict({ keyIndex: bucket.keys[at]!, windowStart: start, aggregate: this.unpacked(bucket, at) });
        this.options.keys.release(bucket.keys[at]!);
      }
      this.live -= bucket.keys.length;
      this.buckets.delete(start);
      if (this.lastBucket === bucket) this.lastBucket = undefined;
    }
    // The windows of a fired bucket were packed as they were emitted: off the queue.
    if (fired) {
      this.unpackedQueue = this.unpackedQueue.slice(this.unpackedHead).filter((w) => !w!.bucket.fired);
      this.unpackedHead = 0;
    }
    this.packColdWindows();
    return emissions;
  }

  /** A fired window's emission; a store with packing packs the window right after (the emission keeps the object). */
  private emission(bucket: Bucket<A>, at: number, onTime: boolean): WindowEmission<A> {
    const aggregate = this.unpacked(bucket, at);
    const { packing } = this.options;
    if (packing) bucket.values[at] = packing.pack(aggregate);
    return { keyIndex: bucket.keys[at]!, windowStart: bucket.start, windowEnd: bucket.start + this.settings.sizeMs, aggregate, eventCount: bucket.eventCounts[at]!, onTime };
  }

  /** Packs the open windows unpacked longest ago, beyond the packing's unpackedLimit. */
  private packColdWindows(): void {
    const { packing } = this.options;
    if (!packing) return;
    const queue = this.unpackedQueue;
    while (queue.length - this.unpackedHead > packing.unpackedLimit) {
      const { bucket, position } = queue[this.unpackedHead]!;
      queue[this.unpackedHead++] = undefined;
      const value = bucket.values[position]!;
      if (this.isPacked(value)) throw new Error(`window store invariant broken: an open window at position ${position} of window start ${bucket.start} is queued as unpacked but is packed`);
      bucket.values[position] = packing.pack(value);
    }
    if (this.unpackedHead > 1024 && this.unpackedHead * 2 > queue.length) {
      this.unpackedQueue = queue.slice(this.unpackedHead);
      this.unpackedHead = 0;
    }
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
