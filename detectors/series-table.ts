import { z } from 'zod';
import type { Alert } from '../schemas/index.js';
import type { AlertEpisode, Verdict } from './alert-episode.js';
import { formatUtc } from './evidence.js';

/** What every per-key state carries: the last window it saw. */
export interface SeriesClock {
  lastWindowStart: number;
  lastWindowEnd: number;
}

/**
 * Per-key detector state. Windows arrive in order per key; a window seen before (a replay, or a
 * rollup re-emitted after late events) is refused, so detectors see each window once and a replay
 * cannot double-count. Keys silent for a while can be expired, which keeps state bounded by the
 * keys that are alive.
 */
export class SeriesTable<S extends SeriesClock> {
  private readonly states = new Map<string, S>();
  /**
   * No state's last window ended before this: a lower bound, exact after each expire walk (a
   * state's last window only moves forward, and admit lowers it for a state that starts behind).
   * expire below it returns at once: in a live stream every key reports each window, so the
   * stalest key is about a window old and the walk would find nothing.
   */
  private lowestEnd = Number.POSITIVE_INFINITY;

  constructor(private readonly create: (key: string) => S) {}

  get size(): number {
    return this.states.size;
  }

  get(key: string): S | undefined {
    return this.states.get(key);
  }

  /** The key's state when this window is new for it; undefined for a window already seen. */
  admit(key: string, windowStart: number, windowEnd: number): S | undefined {
    let state = this.states.get(key);
    if (!state) {
      state = this.create(key);
      this.states.set(key, state);
    }
    if (windowStart <= state.lastWindowStart) return undefined;
    state.lastWindowStart = windowStart;
    state.lastWindowEnd = windowEnd;
    if (windowEnd < this.lowestEnd) this.lowestEnd = windowEnd;
    return state;
  }

  /** Removes the keys whose last window ended before `cutoff` and returns them, in key order. */
  expire(cutoff: number): Array<[string, S]> {
    // Called whenever the watermark moves: a walk over the states only when one may be stale.
    const expired: Array<[string, S]> = [];
    if (cutoff <= this.lowestEnd) return expired;
    let lowest = Number.POSITIVE_INFINITY;
    this.states.forEach((state, key) => {
      if (state.lastWindowEnd < cutoff) expired.push([key, state]);
      else if (state.lastWindowEnd < lowest) lowest = state.lastWindowEnd;
    });
    this.lowestEnd = lowest;
    if (expired.length === 0) return expired;
    expired.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    for (const [key] of expired) this.states.delete(key);
    return expired;
  }

  keys(): string[] {
    return [...this.states.keys()];
  }
}

/**
 * A clock that has seen no window. Detectors write these two fields out in their state literals
 * instead of spreading this first: in V8 a spread followed by more fields is a slow path, some
 * 4 µs for each new series.
 */
export function newSeriesClock(): SeriesClock {
  return { lastWindowStart: Number.NEGATIVE_INFINITY, lastWindowEnd: Number.NEGATIVE_INFINITY };
}

/** The verdict that closes an episode whose series stopped reporting. */
export function silenceVerdict(metric: string, lastWindowEnd: number): Verdict {
  return {
    breaching: false,
    severity: 'info',
    metric,
    observed: 0,
    baseline: 0,
    score: 0,
    evidence: `no data since ${formatUtc(lastWindowEnd)}: the series stopped reporting, so the episode is closed`,
  };
}

/** A per-key state with an alert episode: what closeSilentSeries needs. */
export interface EpisodeSeries extends SeriesClock {
  dimensions: Record<string, string>;
  episode: AlertEpisode;
}

/**
 * Forgets the series whose last window ended before `cutoff` and resolves the episodes they still
 * had open ("no data since ..."), in key order.
 */
export function closeSilentSeries<S extends EpisodeSeries>(table: SeriesTable<S>, cutoff: number, rule: string, metricOf: (key: string) => string): Alert[] {
  const alerts: Alert[] = [];
  for (const [key, state] of table.expire(cutoff)) {
    const alert = state.episode.resolveNow(
      { rule, key, dimensions: state.dimensions, windowStart: state.lastWindowStart, windowEnd: state.lastWindowEnd },
      silenceVerdict(metricOf(key), state.lastWindowEnd),
    );
    if (alert) alerts.push(alert);
  }
  return alerts;
}

/** The lifecycle settings every detector has, with its own defaults. */
export function episodeSettingsShape(defaults: { fireAfter: number; resolveAfter: number; staleAfterMs: number }) {
  return {
    /** Consecutive breaching windows before an episode fires: one noisy window does not page. */
    fireAfter: z.number().int().min(1).default(defaults.fireAfter),
    /** Consecutive clean windows before it resolves: one good window does not end it. */
    resolveAfter: z.number().int().min(1).default(defaults.resolveAfter),
    /** A key silent this long (event time) is forgotten and its open episode resolved. */
    staleAfterMs: z.number().int().min(60_000).default(defaults.staleAfterMs),
  };
}
