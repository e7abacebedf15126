import { z } from 'zod';
import type { Alert } from '../schemas/index.js';
import { AlertEpisode, type Verdict } from './alert-episode.js';
import { formatDuration, formatUtc } from './evidence.js';
import type { DetectorInput } from './inputs.js';

export const CARDINALITY_OVERFLOW_RULE = 'cardinality_overflow';

/** The dimension value the stream core folds values beyond `cardinality.maxValuesPerDimension` into (pipeline/core/cardinality.ts). */
export const OVERFLOW_DIMENSION_VALUE = '__overflow__';

/** True when a key's dimensions carry the overflow value: its series mixes every value folded into it. */
export function carriesOverflow(dimensions: Record<string, string>): boolean {
  return Object.values(dimensions).includes(OVERFLOW_DIMENSION_VALUE);
}

export const cardinalityOverflowSchema = z.strictObject({
  enabled: z.boolean().default(true),
  /** The overflow has stopped once no window carried it for this long (event time): then the alert resolves. */
  quietForMs: z.number().int().min(60_000).default(15 * 60_000),
});

export type CardinalityOverflowSettings = z.infer<typeof cardinalityOverflowSchema>;

interface DimensionState {
  episode: AlertEpisode;
  /** When the current overflow was first and last seen (window start and end, event time). */
  firstWindowStart: number;
  lastWindowStart: number;
  lastWindowEnd: number;
  /** Keys seen carrying the overflow value in the current episode (capped: only for the evidence). */
  keys: Set<string>;
  example: string;
}

const MAX_KEYS_COUNTED = 1000;

/**
 * A dimension whose distinct values passed `cardinality.maxValuesPerDimension`: its new values are
 * folded into `__overflow__`, so every series behind them is detected as one and its alerts name no
 * one. One episode per dimension (key `cardinality|<dimension>`), however many keys and windows
 * carry the overflow; it resolves once no window has carried it for `quietForMs`. State is one
 * entry per dimension name.
 */
export class CardinalityOverflowDetector {
  private readonly dimensions = new Map<string, DimensionState>();

  constructor(private readonly settings: CardinalityOverflowSettings) {}

  get size(): number {
    return this.dimensions.size;
  }

  observe(input: DetectorInput): Alert[] {
    const alerts: Alert[] = [];
    for (const dimension of Object.keys(input.dimensions).sort()) {
      if (input.dimensions[dimension] !== OVERFLOW_DIMENSION_VALUE) continue;
      let state = this.dimensions.get(dimension);
      if (!state) {
        // Fires on the first window: the fold is a fact reported by the stream core, not a noisy estimate.
        state = { episode: new AlertEpisode({ fireAfter: 1, resolveAfter: 1 }), firstWindowStart: input.windowStart, lastWindowStart: Number.NEGATIVE_INFINITY, lastWindowEnd: Number.NEGATIVE_INFINITY, keys: new Set(), example: input.key };
        this.dimensions.set(dimension, state);
      }
      if (state.keys.size < MAX_KEYS_COUNTED) state.keys.add(input.key);
      // Many keys (and input kinds) share a window: the episode steps once per window.
      if (input.windowStart <= state.lastWindowStart) continue;
      state.lastWindowStart = input.windowStart;
      state.lastWindowEnd = Math.max(state.lastWindowEnd, input.windowEnd);
      const alert = state.episode.step(this.window(dimension, state), this.verdict(dimension, state, true));
      if (alert) alerts.push(alert);
    }
    return alerts;
  }

  /** Resolves the dimensions no window has carried the overflow in for `quietForMs`. */
  advance(watermark: number): Alert[] {
    const alerts: Alert[] = [];
    for (const [dimension, state] of [...this.dimensions].sort(([a], [b]) => (a < b ? -1 : 1))) {
      if (state.lastWindowEnd > watermark - this.settings.quietForMs) continue;
      const alert = state.episode.resolveNow(this.window(dimension, state), this.verdict(dimension, state, false));
      if (alert) alerts.push(alert);
      this.dimensions.delete(dimension);
    }
    return alerts;
  }

  private window(dimension: string, state: DimensionState) {
    return { rule: CARDINALITY_OVERFLOW_RULE, key: `cardinality|${dimension}`, dimensions: { dimension }, windowStart: state.lastWindowStart, windowEnd: state.lastWindowEnd };
  }

  private verdict(dimension: string, state: DimensionState, breaching: boolean): Verdict {
    const keys = state.keys.size >= MAX_KEYS_COUNTED ? `${MAX_KEYS_COUNTED}+` : String(state.keys.size);
    const evidence = breaching
      ? `values of dimension ${dimension} beyond cardinality.maxValuesPerDimension are folded into ${OVERFLOW_DIMENSION_VALUE} since ${formatUtc(state.firstWindowStart)} (${keys} key${keys === '1' ? '' : 's'}, e.g. ${state.example}): their series are detected as one and alerts cannot name them; raise the limit or stop the producer sending unbounded ${dimension} values`
      : `no window has carried ${dimension}=${OVERFLOW_DIMENSION_VALUE} for ${formatDuration(this.settings.quietForMs)}: the overflow has stopped`;
    return { breaching, severity: 'warning', metric: 'overflowing_keys', observed: state.keys.size, baseline: 0, score: breaching ? 1 : 0, evidence };
  }
}
