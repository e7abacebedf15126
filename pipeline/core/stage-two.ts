import type { PartialRollup } from '../../schemas/index.js';
import { RollupAggregate } from './aggregates.js';
import { ByteReader, ByteWriter, type HeldBytes } from './compact-bytes.js';
import { fromPartialRollup, partialKey } from './partial-rollup.js';
import { rollupKeyId, type RollupKey } from './rollup-key.js';
import { TaskWatermarks } from './task-watermarks.js';
import { windowStartOf } from './tumbling-window.js';
import { ValuePool } from './value-pool.js';
import { WindowStore, type SourcePosition } from './window-store.js';

export const HOUR_MS = 3_600_000;

/** A merged rollup of one key and window, what ClickHouse stores and detectors read. */
export interface MergedRollup {
  key: RollupKey;
  keyId: string;
  windowStart: number;
  windowEnd: number;
  aggregate: RollupAggregate;
  /** Sum of the merged parts' versions: grows with every update, so a re-emission replaces the older row. */
  version: number;
  /** The window's first emission (detectors see each window once, on time). */
  onTime: boolean;
}

export interface StageTwoSettings {
  windowSizeMs: number;
  allowedLatenessMs: number;
  expectedTasks: number;
}

/**
 * The latest version of each stage-1 task's partial of one key and minute. Stage 2 holds these
 * for every live key, so it keeps them the way a Kafka Streams state store does: serialized, one
 * buffer per window (task, version and the aggregate's compact bytes per part, ascending by
 * task), decoded only to merge at emission.
 */
interface TaskPartial {
  task: number;
  version: number;
  aggregate: Uint8Array;
}

const NO_PARTIALS: HeldBytes = '';

function readPartials(held: HeldBytes): TaskPartial[] {
  const reader = new ByteReader(held, 'stage-2 task partials');
  const partials: TaskPartial[] = [];
  while (!reader.done) partials.push({ task: reader.varint(), version: reader.varint(), aggregate: reader.bytes() });
  return partials;
}

/** The partials with `partial` in its task's place, unless one of the same or a higher version is there. */
function withPartial(held: HeldBytes, partial: TaskPartial): HeldBytes {
  const partials = readPartials(held);
  let at = partials.findIndex((p) => p.task >= partial.task);
  if (at < 0) at = partials.length;
  if (partials[at]?.task === partial.task) {
    if (partials[at]!.version >= partial.version) return held;
    partials[at] = partial;
  } else partials.splice(at, 0, partial);
  const writer = new ByteWriter(partials.reduce((n, p) => n + p.aggregate.length + 12, 0));
  for (const p of partials) {
    writer.varint(p.task);
    writer.varint(p.version);
    writer.bytes(p.aggregate);
  }
  return writer.finishHeld();
}

/** A minute merged from its tasks' partials in task order (so float sums come out the same on every replay). */
function mergedMinute(held: HeldBytes): { aggregate: RollupAggregate; version: number } {
  const aggregate = new RollupAggregate();
  let version = 0;
  for (const partial of readPartials(held)) {
    aggregate.merge(RollupAggregate.unpack(partial.aggregate));
    version += partial.version;
  }
  return { aggregate, version };
}

interface InternedKey {
  key: RollupKey;
  id: string;
}

/** Keys interned so that every window and hour of a key shares one key object; bounded like stage 1's cache. */
const MAX_INTERNED_KEYS = 200_000;

/**
 * An hour of one key: the minutes past their allowed lateness, folded for good, plus those still
 * live in the minute store (read from there when the hour is emitted: they cannot change after
 * they leave it, which is when they are settled here).
 */
interface HourState {
  key: RollupKey;
  keyId: string;
  /** Settled minutes as a packed aggregate (undefined before the first). */
  settled: HeldBytes | undefined;
  settledVersion: number;
  dirty: boolean;
  emitted: boolean;
}

interface HourBucket {
  states: Map<string, HourState>;
  /** Some state changed since the hour was last emitted. */
  dirty: boolean;
}

/**
 * Stage 2, per internal partition: merges the partials of every stage-1 task into minute rollups
 * once all tasks' watermarks have passed the window, and builds hourly rollups from the same
 * stream (merged, not averaged). A key's state lives on exactly one instance, the owner of its
 * internal partition. Pure.
 */
export class StageTwoMerger {
  /** Per key and minute: each task's latest partial (see TaskPartial). */
  private readonly minutes: WindowStore<RollupKey, HeldBytes>;
  private readonly watermarks: TaskWatermarks;
  private readonly hours = new Map<number, HourBucket>();
  private readonly hourFirstOffsets = new Map<number, Map<string, number>>();
  private readonly keys = new Map<string, InternedKey>();
  private readonly values = new ValuePool();

  constructor(private readonly settings: StageTwoSettings) {
    this.minutes = new WindowStore({ sizeMs: settings.windowSizeMs, allowedLatenessMs: settings.allowedLatenessMs }, () => NO_PARTIALS, {
      onEvict: ({ key, keyId, windowStart, aggregate }) => this.settle(key, keyId, windowStart, aggregate),
    });
    this.watermarks = new TaskWatermarks(settings.expectedTasks);
  }

  get size(): number {
    let hours = 0;
    for (const bucket of this.hours.values()) hours += bucket.states.size;
    return this.minutes.size + hours;
  }

  get watermark(): number {
    return this.watermarks.value;
  }

  /** Marks a record that carried nothing usable (a dead letter) as processed, so commits can pass it. */
  skip(position: SourcePosition): void {
    this.minutes.markProcessed(position);
  }

  private intern(key: RollupKey): InternedKey {
    const id = rollupKeyId(key);
    let interned = this.keys.get(id);
    if (!interned) {
      if (this.keys.size >= MAX_INTERNED_KEYS) {
        this.keys.clear();
        this.values.clear();
      }
      const dimensions: Record<string, string> = {};
      for (const [name, value] of Object.entries(key.dimensions)) dimensions[name] = this.values.intern(value);
      interned = { key: { kind: key.kind, dimensions }, id };
      this.keys.set(id, interned);
    }
    return interned;
  }

  /** One record of the internal topic. Returns 'late' for a partial of a window already past its lateness. */
  add(record: PartialRollup, position: SourcePosition): 'accepted' | 'late' | 'watermark' {
    // Only markers move a task's watermark: a marker follows every partial its task emitted before
    // it, while a partial's own watermark field may run ahead of partials still on their way.
    if (record.kind === 'watermark') {
      this.watermarks.report(record.task, record.watermark, record.idle);
      this.minutes.markProcessed(position);
      return 'watermark';
    }
    const { key, id } = this.intern(partialKey(record));
    // Packed now: holding the decoded record would hold ~45 fields and, through its sketch
    // Buffers, the whole fetch buffer it was decoded from.
    const partial: TaskPartial = { task: record.task, version: record.version, aggregate: fromPartialRollup(record).toBytes() };
    const outcome = this.minutes.update(key, id, record.window_start, position, (partials) => withPartial(partials, partial));
    if (outcome === 'accepted') {
      const hour = windowStartOf(record.window_start, HOUR_MS);
      let offsets = this.hourFirstOffsets.get(hour);
      if (!offsets) {
        offsets = new Map();
        this.hourFirstOffsets.set(hour, offsets);
      }
      if (!offsets.has(position.partition)) offsets.set(position.partition, position.offset);
    }
    return outcome;
  }

  /** Minute rollups due now (on time, then updates), and the hourly rollups they complete or amend. */
  advance(): { minutes: MergedRollup[]; hours: MergedRollup[] } {
    const watermark = this.watermarks.advance();
    const minutes: MergedRollup[] = this.minutes.advance(watermark).map((em) => {
      const { aggregate, version } = mergedMinute(em.aggregate);
      this.hourOf(em.key, em.keyId, em.windowStart).dirty = true;
      return { key: em.key, keyId: em.keyId, windowStart: em.windowStart, windowEnd: em.windowEnd, aggregate, version, onTime: em.onTime };
    });
    return { minutes, hours: this.advanceHours(watermark) };
  }

  /** The hour state a minute of this key belongs to, created by its first minute; marks the hour to emit. */
  private hourOf(key: RollupKey, keyId: string, minuteStart: number): HourState {
    const hourStart = windowStartOf(minuteStart, HOUR_MS);
    let bucket = this.hours.get(hourStart);
    if (!bucket) {
      bucket = { states: new Map(), dirty: false };
      this.hours.set(hourStart, bucket);
    }
    bucket.dirty = true;
    let hour = bucket.states.get(keyId);
    if (!hour) {
      // The key and id are the interned ones the minute's window was created with.
      hour = { key, keyId, settled: undefined, settledVersion: 0, dirty: false, emitted: false };
      bucket.states.set(keyId, hour);
    }
    return hour;
  }

  /** A minute leaving the minute store is past its lateness and cannot change any more: fold it into its hour for good. */
  private settle(key: RollupKey, keyId: string, minuteStart: number, partials: HeldBytes): void {
    const hour = this.hourOf(key, keyId, minuteStart);
    const { aggregate, version } = mergedMinute(partials);
    const settled = hour.settled === undefined ? new RollupAggregate() : RollupAggregate.unpack(hour.settled);
    settled.merge(aggregate);
    hour.settled = settled.pack();
    hour.settledVersion += version;
  }

  private advanceHours(watermark: number): MergedRollup[] {
    const { windowSizeMs, allowedLatenessMs } = this.settings;
    const out: MergedRollup[] = [];
    for (const [hourStart, bucket] of this.hours) {
      const hourEnd = hourStart + HOUR_MS;
      if (hourEnd > watermark) continue;
      if (bucket.dirty) {
        for (const hour of bucket.states.values()) {
          if (!hour.dirty) continue;
          const aggregate = hour.settled === undefined ? new RollupAggregate() : RollupAggregate.unpack(hour.settled);
          let version = hour.settledVersion;
          // The hour's minutes still live, in time order: the first window start at or after the hour's.
          for (let start = windowStartOf(hourStart - 1, windowSizeMs) + windowSizeMs; start < hourEnd; start += windowSizeMs) {
            const partials = this.minutes.aggregateAt(hour.keyId, start);
            if (partials === undefined) continue;
            const minute = mergedMinute(partials);
            aggregate.merge(minute.aggregate);
            version += minute.version;
          }
          out.push({ key: hour.key, keyId: hour.keyId, windowStart: hourStart, windowEnd: hourEnd, aggregate, version, onTime: !hour.emitted });
          hour.emitted = true;
          hour.dirty = false;
        }
        bucket.dirty = false;
      }
      // Once the hour's last minute has left the minute store (settled above), nothing can amend the hour.
      if (windowStartOf(hourEnd - 1, windowSizeMs) + windowSizeMs + allowedLatenessMs <= watermark) this.hours.delete(hourStart);
    }
    for (const hourStart of this.hourFirstOffsets.keys()) {
      if (hourStart + HOUR_MS + allowedLatenessMs <= watermark) this.hourFirstOffsets.delete(hourStart);
    }
    return out;
  }

  /**
   * Internal-topic offsets this instance may commit: never past a record that still feeds an open
   * minute or hour window, so a restart rebuilds both from the topic.
   */
  committableOffsets(): Map<string, number> {
    const result = this.minutes.committableOffsets();
    for (const offsets of this.hourFirstOffsets.values()) {
      for (const [partition, offset] of offsets) {
        if (offset < (result.get(partition) ?? Number.POSITIVE_INFINITY)) result.set(partition, offset);
      }
    }
    return result;
  }
}
