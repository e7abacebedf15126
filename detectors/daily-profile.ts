import { median } from 'simple-statistics';

export const DAY_MS = 86_400_000;

export interface DailyProfileSettings {
  /** Width of a time-of-day bucket (UTC), e.g. one hour; must divide a day. */
  bucketMs: number;
  /** Days of history kept per bucket. */
  days: number;
}

let daysSeen = new Uint8Array(32);

/** A zeroed scratch array of at least `length` flags (envelope is not re-entrant, so one will do). */
function daysSeenScratch(length: number): Uint8Array {
  if (daysSeen.length < length) daysSeen = new Uint8Array(length);
  else daysSeen.fill(0, 0, length);
  return daysSeen;
}

/** One day's values in one bucket. */
interface DayBucket {
  day: number;
  sum: number;
  count: number;
  min: number;
  max: number;
}

/** The range past days covered around a time of day. */
export interface SeasonalEnvelope {
  low: number;
  high: number;
}

/**
 * Daily seasonality: per time-of-day bucket, the mean, minimum and maximum of each of the last
 * `days` days. State is buckets × (days + 1) small records whatever the series' length, and time is
 * the data's event time.
 */
export class DailyProfile {
  /** By time of day; a bucket's array is made when a value first lands in it (a new series has none). */
  private readonly buckets: (DayBucket[] | undefined)[];

  constructor(readonly settings: DailyProfileSettings) {
    const { bucketMs, days } = settings;
    if (!Number.isInteger(bucketMs) || bucketMs <= 0 || DAY_MS % bucketMs !== 0) {
      throw new Error(`daily profile bucketMs must divide a day (86400000 ms), got ${bucketMs}; use e.g. 300000 (5 min) or 3600000 (1 h)`);
    }
    if (!Number.isInteger(days) || days < 1) throw new Error(`daily profile days must be a positive integer, got ${days}`);
    this.buckets = new Array<DayBucket[] | undefined>(DAY_MS / bucketMs).fill(undefined);
  }

  private bucketIndex(timestamp: number): number {
    const offset = ((timestamp % DAY_MS) + DAY_MS) % DAY_MS;
    return Math.floor(offset / this.settings.bucketMs);
  }

  add(timestamp: number, value: number): void {
    const day = Math.floor(timestamp / DAY_MS);
    const index = this.bucketIndex(timestamp);
    const bucket = (this.buckets[index] ??= []);
    const last = bucket[bucket.length - 1];
    if (last && last.day === day) {
      last.sum += value;
      last.count += 1;
      last.min = Math.min(last.min, value);
      last.max = Math.max(last.max, value);
      return;
    }
    if (last && last.day > day) return; // out of order: the profile only moves forward
    bucket.push({ day, sum: value, count: 1, min: value, max: value });
    // Keep `days` complete past days plus the day being filled.
    if (bucket.length > this.settings.days + 1) bucket.shift();
  }

  /** The bucket `offset` buckets away from the timestamp's (wrapping around midnight), if a value ever landed in it. */
  private bucketNear(timestamp: number, offset: number): DayBucket[] | undefined {
    const count = this.buckets.length;
    return this.buckets[(((this.bucketIndex(timestamp) + offset) % count) + count) % count];
  }

  /** A record of a past day the profile still speaks for, seen from `today`. */
  private isPastDay(entry: DayBucket, today: number): boolean {
    return entry.day < today && entry.day >= today - this.settings.days - 1;
  }

  /** Day records held: at most buckets × (days + 1). */
  storedRecords(): number {
    return this.buckets.reduce((sum, bucket) => sum + (bucket?.length ?? 0), 0);
  }

  /** Median over past days of this time of day's mean; undefined before `minDays` days of history. */
  expected(timestamp: number, minDays: number): number | undefined {
    // Walked in place, no filtered copy: this runs for every point of every series.
    const bucket = this.bucketNear(timestamp, 0);
    if (!bucket) return undefined;
    const today = Math.floor(timestamp / DAY_MS);
    const means: number[] = [];
    for (const entry of bucket) if (this.isPastDay(entry, today)) means.push(entry.sum / entry.count);
    if (means.length < Math.max(1, minDays)) return undefined;
    return median(means);
  }

  /**
   * The lowest and highest values past days took within `neighbours` buckets of this time of day:
   * what "the series does this at about this time" allows. Undefined before `minDays` days.
   */
  envelope(timestamp: number, neighbours: number, minDays: number): SeasonalEnvelope | undefined {
    let low = Number.POSITIVE_INFINITY;
    let high = Number.NEGATIVE_INFINITY;
    // Distinct days, counted in a scratch array shared by all profiles (past days are the
    // `days + 1` before today): no Set and no filtered copies for every point of every series.
    const today = Math.floor(timestamp / DAY_MS);
    const seen = daysSeenScratch(this.settings.days + 1);
    let days = 0;
    for (let offset = -neighbours; offset <= neighbours; offset += 1) {
      const bucket = this.bucketNear(timestamp, offset);
      if (!bucket) continue;
      for (const entry of bucket) {
        if (!this.isPastDay(entry, today)) continue;
        low = Math.min(low, entry.min);
        high = Math.max(high, entry.max);
        const ago = today - 1 - entry.day;
        if (seen[ago] === 0) {
          seen[ago] = 1;
          days += 1;
        }
      }
    }
    return days >= Math.max(1, minDays) ? { low, high } : undefined;
  }
}
