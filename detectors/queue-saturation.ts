import { z } from 'zod';
import type { Alert } from '../schemas/index.js';
import { AlertEpisode, type Verdict } from './alert-episode.js';
import { describeDimensions, formatPercent, formatRatio } from './evidence.js';
import type { QueueWindow } from './inputs.js';
import { RollingWindow } from './robust-statistics.js';
import { closeSilentSeries, episodeSettingsShape, SeriesTable, type EpisodeSeries } from './series-table.js';

export const QUEUE_SATURATION_RULE = 'queue_saturation';

export const queueSaturationSchema = z.strictObject({
  enabled: z.boolean().default(true),
  /** Saturated when the queue-wait p95 reaches this (what users feel)... */
  maxQueueWaitP95Ms: z.number().positive().default(2000),
  /** ...or when the KV cache is this full (0-1)... */
  kvCacheFull: z.number().gt(0).max(1).default(0.95),
  /** ...while at least this many requests wait: the server is out of room and a queue is forming. */
  minQueueDepth: z.number().min(0).default(5),
  /** Critical when the wait reaches this many times the maximum, or requests are being preempted on a full cache. */
  criticalFactor: z.number().gt(1).default(2),
  /** Windows of history the usual queue depth (for the evidence) is the median of. */
  historyWindows: z.number().int().min(2).max(1440).default(30),
  ...episodeSettingsShape({ fireAfter: 2, resolveAfter: 3, staleAfterMs: 30 * 60_000 }),
});

export type QueueSaturationSettings = z.infer<typeof queueSaturationSchema>;

interface EndpointState extends EpisodeSeries {
  depths: RollingWindow;
}

/**
 * An inference endpoint out of capacity: requests wait longer than the queue-wait objective, or the
 * KV cache is full while a queue forms (the server cannot admit more into its batch). Preemptions
 * on a full cache make it critical: requests are being evicted and redone. Scale up, or shed load.
 */
export class QueueSaturationDetector {
  private readonly endpoints: SeriesTable<EndpointState>;

  constructor(private readonly settings: QueueSaturationSettings) {
    this.endpoints = new SeriesTable(() => ({ lastWindowStart: Number.NEGATIVE_INFINITY, lastWindowEnd: Number.NEGATIVE_INFINITY, dimensions: {}, depths: new RollingWindow(settings.historyWindows), episode: new AlertEpisode(settings) }));
  }

  get size(): number {
    return this.endpoints.size;
  }

  observe(window: QueueWindow): Alert[] {
    const state = this.endpoints.admit(window.key, window.windowStart, window.windowEnd);
    if (!state) return [];
    state.dimensions = window.dimensions;
    const usualDepth = state.depths.length > 0 ? state.depths.median() : undefined;
    state.depths.push(window.queueDepth);
    const s = this.settings;
    const wait = window.queueWaitP95Ms ?? 0;
    const waitFactor = wait / s.maxQueueWaitP95Ms;
    const queueing = window.queueDepth >= s.minQueueDepth;
    const cacheFull = window.kvCacheUsage >= s.kvCacheFull && queueing;
    const breaching = waitFactor >= 1 || cacheFull;
    const critical = waitFactor >= s.criticalFactor || (cacheFull && window.preemptions > 0);
    const who = describeDimensions(window.dimensions);
    const depth = `${window.queueDepth.toFixed(window.queueDepth >= 10 ? 0 : 1)} requests waiting${usualDepth !== undefined && usualDepth > 0 ? ` (${formatRatio(window.queueDepth / usualDepth)} the usual ${usualDepth.toFixed(usualDepth >= 10 ? 0 : 1)})` : ''}`;
    const cache = `KV cache ${formatPercent(window.kvCacheUsage)} full`;
    const preempted = window.preemptions > 0 ? `, ${window.preemptions} requests preempted` : '';
    let evidence: string;
    if (!breaching) evidence = `${who} has headroom: queue-wait p95 ${Math.round(wait)} ms, ${depth}, ${cache}`;
    else if (waitFactor >= 1) evidence = `queue-wait p95 of ${who} is ${Math.round(wait).toLocaleString('en-US')} ms, over the ${s.maxQueueWaitP95Ms} ms objective, with ${depth} and ${cache}${preempted}: scale up or shed load`;
    else evidence = `${who} is out of KV cache (${cache}) with ${depth}${preempted}: scale up or shed load`;
    const verdict: Verdict = {
      breaching,
      severity: critical ? 'critical' : 'warning',
      metric: waitFactor >= 1 || !cacheFull ? 'queue_wait_p95_ms' : 'kv_cache_usage',
      observed: waitFactor >= 1 || !cacheFull ? wait : window.kvCacheUsage,
      baseline: waitFactor >= 1 || !cacheFull ? s.maxQueueWaitP95Ms : s.kvCacheFull,
      score: Math.max(waitFactor, cacheFull ? window.kvCacheUsage / s.kvCacheFull : 0),
      evidence,
    };
    const alert = state.episode.step({ rule: QUEUE_SATURATION_RULE, key: window.key, dimensions: window.dimensions, windowStart: window.windowStart, windowEnd: window.windowEnd }, verdict);
    return alert ? [alert] : [];
  }

  advance(watermark: number): Alert[] {
    return closeSilentSeries(this.endpoints, watermark - this.settings.staleAfterMs, QUEUE_SATURATION_RULE, () => 'queue_wait_p95_ms');
  }
}
