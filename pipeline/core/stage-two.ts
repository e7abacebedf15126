import type { PartialRollup } from '../../schemas/index.js';
import { emptyRollup, mergeRollup, type RollupAggregate } from './aggregates.js';
import { fromPartialRollup, partialKey } from './partial-rollup.js';
import { rollupKeyId, type RollupKey } from './rollup-key.js';
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

type TaskPartials = Map<number, PartialRollup>;

interface HourState {
  key: RollupKey;
  /** Minutes past their allowed lateness, folded for good. */
  settled: RollupAggregate;
  settledVersion: number;
  /** Minutes that may still be amended: their latest merged version. */
  open: Map<number, { aggregate: RollupAggregate; version: number }>;
  dirty: boolean;
  emitted: boolean;
}

function mergedOf(partials: TaskPartials): { aggregate: RollupAggregate; version: number } {
  const aggregate = emptyRollup();
  let version = 0;
  for (const task of [...partials.keys()].sort((a, b) => a - b)) {
    const partial = partials.get(task)!;
    mergeRollup(aggregate, fromPartialRollup(partial));
    version += partial.version;
  }
  return { aggregate, version };
}

/**
 * Stage 2, per internal partition: merges the partials of every stage-1 task into minute rollups
 * once all tasks' watermarks have passed the window, and builds hourly rollups from the same
 * stream (merged, not averaged). A key's state lives on exactly one instance, the owner of its
 * internal partition. Pure.
 */
export class StageTwoMerger {
  private readonly minutes: WindowStore<RollupKey, TaskPartials>;
  private readonly watermarks: TaskWatermarks;
  private readonly hours = new Map<string, HourState>();
  private readonly hourFirstOffsets = new Map<number, Map<string, number>>();

  constructor(private readonly settings: StageTwoSettings) {
    this.minutes = new WindowStore({ sizeMs: settings.windowSizeMs, allowedLatenessMs: settings.allowedLatenessMs }, () => new Map());
    this.watermarks = new TaskWatermarks(settings.expectedTasks);
  }

  get size(): number {
    return this.minutes.size + this.hours.size;
  }

  get watermark(): number {
    return this.watermarks.value;
  }

  setExpectedTasks(count: number): void {
    this.watermarks.setExpectedTasks(count);
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
    const key = partialKey(record);
    const keyId = rollupKeyId(key);
    const outcome = this.minutes.add(key, keyId, record.window_start, position, (partials) => {
      const previous = partials.get(record.task);
      if (!previous || previous.version < record.version) partials.set(record.task, record);
    });
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
      const { aggregate, version } = mergedOf(em.aggregate);
      return { key: em.key, keyId: em.keyId, windowStart: em.windowStart, windowEnd: em.windowEnd, aggregate, version, onTime: em.onTime };
    });
    for (const minute of minutes) this.recordMinute(minute);
    return { minutes, hours: this.advanceHours(watermark) };
  }

  private recordMinute(minute: MergedRollup): void {
    const hourStart = windowStartOf(minute.windowStart, HOUR_MS);
    const id = `${minute.keyId}@${hourStart}`;
    let hour = this.hours.get(id);
    if (!hour) {
      hour = { key: minute.key, settled: emptyRollup(), settledVersion: 0, open: new Map(), dirty: false, emitted: false };
      this.hours.set(id, hour);
    }
    hour.open.set(minute.windowStart, { aggregate: minute.aggregate, version: minute.version });
    hour.dirty = true;
  }

  private advanceHours(watermark: number): MergedRollup[] {
    const { windowSizeMs, allowedLatenessMs } = this.settings;
    const out: MergedRollup[] = [];
    for (const [id, hour] of this.hours) {
      // A minute past its lateness cannot change any more: fold it into the hour for good.
      for (const [minuteStart, minute] of hour.open) {
        if (minuteStart + windowSizeMs + allowedLatenessMs <= watermark) {
          mergeRollup(hour.settled, minute.aggregate);
          hour.settledVersion += minute.version;
          hour.open.delete(minuteStart);
        }
      }
      const hourStart = Number(id.slice(id.lastIndexOf('@') + 1));
      const hourEnd = hourStart + HOUR_MS;
      if (hourEnd <= watermark && hour.dirty) {
        const aggregate = emptyRollup();
        mergeRollup(aggregate, hour.settled);
        let version = hour.settledVersion;
        for (const minute of hour.open.values()) {
          mergeRollup(aggregate, minute.aggregate);
          version += minute.version;
        }
        out.push({ key: hour.key, keyId: id.slice(0, id.lastIndexOf('@')), windowStart: hourStart, windowEnd: hourEnd, aggregate, version, onTime: !hour.emitted });
        hour.emitted = true;
        hour.dirty = false;
      }
      if (hourEnd + allowedLatenessMs <= watermark && hour.open.size === 0) this.hours.delete(id);
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
