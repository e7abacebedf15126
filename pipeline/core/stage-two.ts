import type { PartialRollup } from '../../schemas/index.js';
import { RollupAggregate } from './aggregates.js';
import { ByteReader, ByteWriter, type HeldBytes } from './compact-bytes.js';
import { KeyPositions, RollupKeyTable } from './key-table.js';
import { fromPartialRollup } from './partial-rollup.js';
import { DIMENSIONS, rollupKeyId, type RollupKey, type RollupKind } from './rollup-key.js';
import { TaskWatermarks } from './task-watermarks.js';
import { windowStartOf } from './tumbling-window.js';
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

/**
 * A minute merged from its tasks' partials in task order (so float sums come out the same on every
 * replay), starting from the first: merging it into an empty aggregate would only copy it.
 */
function mergedMinute(held: HeldBytes): { aggregate: RollupAggregate; version: number } {
  const partials = readPartials(held);
  if (partials.length === 0) return { aggregate: new RollupAggregate(), version: 0 };
  const aggregate = RollupAggregate.unpack(partials[0]!.aggregate);
  let version = partials[0]!.version;
  for (let i = 1; i < partials.length; i++) {
    aggregate.merge(RollupAggregate.unpack(partials[i]!.aggregate));
    version += partials[i]!.version;
  }
  return { aggregate, version };
}

/** Flags of an hour of one key. */
const HOUR_DIRTY = 1;
const HOUR_EMITTED = 2;

/**
 * One hour of every key that has minutes in it: per key, the minutes past their allowed lateness,
 * folded for good, plus those still live in the minute store (read from there when the hour is
 * emitted: they cannot change after they leave it, which is when they are settled here). Column
 * by column, a key a position, as the window store keeps minutes.
 */
interface HourBucket {
  keys: number[];
  /** Settled minutes as a packed aggregate (undefined before the first). */
  settled: (HeldBytes | undefined)[];
  settledVersions: number[];
  flags: number[];
  positions: KeyPositions;
  /** Some key's hour changed since the hour was last emitted. */
  dirty: boolean;
}

/** The key of a partial: its kind and values in DIMENSIONS order (records written by toPartialRollup list them so). */
function keyOf(record: PartialRollup, keys: RollupKeyTable): number {
  const kind = record.rollup_kind as RollupKind;
  const names = DIMENSIONS[kind];
  if (names === undefined) throw new Error(`partial rollup of kind '${record.rollup_kind}' on the internal topic: this costline knows ${Object.keys(DIMENSIONS).join(', ')}; upgrade it to the version of the stage-1 instances`);
  const value = (i: number) => (record.dimension_names[i] === names[i] ? record.dimension_values[i] : record.dimension_values[record.dimension_names.indexOf(names[i]!)]) ?? '';
  return keys.indexOf(kind, value(0), value(1), names.length > 2 ? value(2) : '');
}

/**
 * Stage 2, per internal partition: merges the partials of every stage-1 task into minute rollups
 * once all tasks' watermarks have passed the window, and builds hourly rollups from the same
 * stream (merged, not averaged). A key's state lives on exactly one instance, the owner of its
 * internal partition. Pure.
 */
export class StageTwoMerger {
  /** Per key and minute: each task's latest partial (see TaskPartial). */
  private readonly minutes: WindowStore<HeldBytes>;
  private readonly watermarks: TaskWatermarks;
  private readonly hours = new Map<number, HourBucket>();
  private readonly hourFirstOffsets = new Map<number, Map<string, number>>();
  /** Every key once, for its minutes and hours alike. */
  private readonly keys = new RollupKeyTable();

  constructor(private readonly settings: StageTwoSettings) {
    this.minutes = new WindowStore({ sizeMs: settings.windowSizeMs, allowedLatenessMs: settings.allowedLatenessMs }, () => NO_PARTIALS, {
      keys: this.keys,
      onEvict: ({ keyIndex, windowStart, aggregate }) => this.settle(keyIndex, windowStart, aggregate),
    });
    this.watermarks = new TaskWatermarks(settings.expectedTasks);
  }

  get size(): number {
    let hours = 0;
    for (const bucket of this.hours.values()) hours += bucket.keys.length;
    return this.minutes.size + hours;
  }

  get watermark(): number {
    return this.watermarks.value;
  }

  /** Marks a record that carried nothing usable (a dead letter) as processed, so commits can pass it. */
  skip(position: SourcePosition): void {
    this.minutes.markProcessed(position);
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
    const keyIndex = keyOf(record, this.keys);
    // Packed now: holding the decoded record would hold ~45 fields and, through its sketch
    // Buffers, the whole fetch buffer it was decoded from.
    const partial: TaskPartial = { task: record.task, version: record.version, aggregate: fromPartialRollup(record).toBytes() };
    const outcome = this.minutes.update(keyIndex, record.window_start, position, (partials) => withPartial(partials, partial));
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
      const hour = this.hourOf(em.keyIndex, em.windowStart);
      hour.bucket.flags[hour.at]! |= HOUR_DIRTY;
      const key = this.keys.key(em.keyIndex);
      return { key, keyId: rollupKeyId(key), windowStart: em.windowStart, windowEnd: em.windowEnd, aggregate, version, onTime: em.onTime };
    });
    const hours = this.advanceHours(watermark);
    // Between records: keys no minute or hour holds any more may go (see KeyTable.sweep).
    this.keys.sweep();
    return { minutes, hours };
  }

  /** The hour of a key that a minute belongs to, created by its first minute; marks the hour to emit. */
  private hourOf(keyIndex: number, minuteStart: number): { bucket: HourBucket; at: number } {
    const hourStart = windowStartOf(minuteStart, HOUR_MS);
    let bucket = this.hours.get(hourStart);
    if (!bucket) {
      bucket = { keys: [], settled: [], settledVersions: [], flags: [], positions: new KeyPositions(), dirty: false };
      this.hours.set(hourStart, bucket);
    }
    bucket.dirty = true;
    let at = bucket.positions.get(keyIndex);
    if (at < 0) {
      at = bucket.keys.push(keyIndex) - 1;
      bucket.settled.push(undefined);
      bucket.settledVersions.push(0);
      bucket.flags.push(0);
      bucket.positions.set(keyIndex, at);
      this.keys.retain(keyIndex);
    }
    return { bucket, at };
  }

  /** A minute leaving the minute store is past its lateness and cannot change any more: fold it into its hour for good. */
  private settle(keyIndex: number, minuteStart: number, partials: HeldBytes): void {
    const { bucket, at } = this.hourOf(keyIndex, minuteStart);
    const { aggregate, version } = mergedMinute(partials);
    const held = bucket.settled[at];
    let settled = aggregate;
    if (held !== undefined) {
      settled = RollupAggregate.unpack(held);
      settled.merge(aggregate);
    }
    // Held until the hour is past its lateness: the smallest layout.
    bucket.settled[at] = settled.pack(true);
    bucket.settledVersions[at]! += version;
  }

  private advanceHours(watermark: number): MergedRollup[] {
    const { windowSizeMs, allowedLatenessMs } = this.settings;
    const out: MergedRollup[] = [];
    for (const [hourStart, bucket] of this.hours) {
      const hourEnd = hourStart + HOUR_MS;
      if (hourEnd > watermark) continue;
      if (bucket.dirty) {
        for (let at = 0; at < bucket.keys.length; at++) {
          const flags = bucket.flags[at]!;
          if (!(flags & HOUR_DIRTY)) continue;
          const keyIndex = bucket.keys[at]!;
          const held = bucket.settled[at];
          const aggregate = held === undefined ? new RollupAggregate() : RollupAggregate.unpack(held);
          let version = bucket.settledVersions[at]!;
          // The hour's minutes still live, in time order: the first window start at or after the hour's.
          for (let start = windowStartOf(hourStart - 1, windowSizeMs) + windowSizeMs; start < hourEnd; start += windowSizeMs) {
            const partials = this.minutes.aggregateAt(keyIndex, start);
            if (partials === undefined) continue;
            const minute = mergedMinute(partials);
            aggregate.merge(minute.aggregate);
            version += minute.version;
          }
          const key = this.keys.key(keyIndex);
          out.push({ key, keyId: rollupKeyId(key), windowStart: hourStart, windowEnd: hourEnd, aggregate, version, onTime: !(flags & HOUR_EMITTED) });
          bucket.flags[at] = HOUR_EMITTED;
        }
        bucket.dirty = false;
      }
      // Once the hour's last minute has left the minute store (settled above), nothing can amend the hour.
      if (windowStartOf(hourEnd - 1, windowSizeMs) + windowSizeMs + allowedLatenessMs <= watermark) {
        for (const keyIndex of bucket.keys) this.keys.release(keyIndex);
        this.hours.delete(hourStart);
      }
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
