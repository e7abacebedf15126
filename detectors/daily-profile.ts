import { median } from 'simple-statistics';

export const DAY_MS = 86_400_000;

export interface DailyProfileSettings {
  /** Width of a time-of-day bucket (UTC), e.g. one hour; must divide a day. */
  bucketMs: number;
  /** Days of history kept per bucket. */
  days: number;
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

  /** Past days' records of the bucket `offset` buckets away from the timestamp's (wrapping around midnight). */
  private pastDays(timestamp: number, offset: number): DayBucket[] {
    const today = Math.floor(timestamp / DAY_MS);
    const count = this.buckets.length;
    const bucket = this.buckets[(((this.bucketIndex(timestamp) + offset) % count) + count) % count] ?? [];
    return bucket.filter((entry) => entry.day < today && entry.day >= today - this.settings.days - 1);
  }

  /** Day records held: at most buckets × (days + 1). */
  storedRecords(): number {
    return this.buckets.reduce((sum, bucket) => sum + (bucket?.length ?? 0), 0);
  }

  /** Median over past days of this time of day's mean; undefined before `minDays` days of history. */
  expected(timestamp: number, minDays: number): number | undefined {
    const past = this.pastDays(timestamp, 0);
    if (past.length < Math.max(1, minDays)) return undefined;
    return median(past.map((entry) => entry.sum / entry.count));
  }

  /**
   * The lowest and highest values past days took within `neighbours` buckets of this time of day:
   * what "the series does this at about this time" allows. Undefined before `minDays` days.
   */
  envelope(timestamp: number, neighbours: number, minDays: number): SeasonalEnvelope | undefined {
    let low = Number.POSITIVE_INFINITY;
    let high = Number.NEGATIVE_INFINITY;
    const days = new Set<number>();
    for (let offset = -neighbours; offset <= neighbours; offset += 1) {
      for (const entry of this.pastDays(timestamp, offset)) {
        low = Math.min(low, entry.min);
        high = Math.max(high, entry.max);
        days.add(entry.day);
      }
    }
    return days.size >= Math.max(1, minDays) ? { low, high } : undefined;
  }
}
