import { z } from 'zod';
import type { Alert } from '../schemas/index.js';
import { AlertEpisode, type Verdict } from './alert-episode.js';
import { describeDimensions, formatDuration, formatMoney } from './evidence.js';
import type { GpuPoolWindow } from './inputs.js';
import { closeSilentSeries, episodeSettingsShape, newSeriesClock, SeriesTable, type EpisodeSeries } from './series-table.js';

export const GPU_WASTE_RULE = 'gpu_waste';

export const gpuWasteSchema = z.strictObject({
  enabled: z.boolean().default(true),
  /** A GPU whose mean utilization in a window is below this percentage is idle in that window (unassigned GPUs always are). */
  utilizationBelowPct: z.number().min(0).max(100).default(10),
  /** How long a GPU must stay idle before it counts as waste: a short lull between batches is not. */
  sustainedMs: z.number().int().min(60_000).default(30 * 60_000),
  /** Idle GPUs a pool needs before it is reported... */
  minGpus: z.number().int().min(1).default(1),
  /** ...and money per hour at stake. */
  minMoneyPerHour: z.number().min(0).default(5),
  /** Critical from this much money per hour on. */
  criticalMoneyPerHour: z.number().min(0).default(100),
  // The sustained period is the hysteresis already: fire on the first window that completes it.
  ...episodeSettingsShape({ fireAfter: 1, resolveAfter: 2, staleAfterMs: 30 * 60_000 }),
});

export type GpuWasteSettings = z.infer<typeof gpuWasteSchema>;

interface PoolState extends EpisodeSeries {
  /** When each currently idle GPU became idle: rebuilt every window, so bounded by the pool's size. */
  idleSince: Map<string, number>;
}

/**
 * GPUs allocated and idle or under-utilized for a sustained time, per pool, with the money at stake
 * per hour (the idle GPUs' hourly rates). The evidence names the node holding most of them, where
 * a scale-down starts.
 */
export class GpuWasteDetector {
  private readonly pools: SeriesTable<PoolState>;

  constructor(private readonly settings: GpuWasteSettings) {
    this.pools = new SeriesTable(() => ({ ...newSeriesClock(), dimensions: {}, idleSince: new Map(), episode: new AlertEpisode(settings) }));
  }

  get size(): number {
    return this.pools.size;
  }

  observe(window: GpuPoolWindow): Alert[] {
    const state = this.pools.admit(window.key, window.windowStart, window.windowEnd);
    if (!state) return [];
    state.dimensions = window.dimensions;
    const idleSince = new Map<string, number>();
    for (const gpu of window.gpus) {
      const idle = gpu.workload === 'unassigned' || gpu.utilizationPct < this.settings.utilizationBelowPct;
      if (idle) idleSince.set(gpu.gpu, state.idleSince.get(gpu.gpu) ?? window.windowStart);
    }
    state.idleSince = idleSince;
    const wasted = window.gpus.filter((gpu) => {
      const since = idleSince.get(gpu.gpu);
      return since !== undefined && window.windowEnd - since >= this.settings.sustainedMs;
    });
    const rateOf = (gpu: GpuPoolWindow['gpus'][number]): number => gpu.hourlyRate ?? window.hourlyRatePerGpu;
    const atStake = wasted.reduce((sum, gpu) => sum + rateOf(gpu), 0);
    const poolCost = window.gpus.reduce((sum, gpu) => sum + rateOf(gpu), 0);
    const breaching = wasted.length >= this.settings.minGpus && atStake >= this.settings.minMoneyPerHour;
    const verdict: Verdict = {
      breaching,
      severity: atStake >= this.settings.criticalMoneyPerHour ? 'critical' : 'warning',
      metric: 'idle_gpu_cost_per_hour',
      observed: atStake,
      baseline: poolCost,
      score: window.gpus.length > 0 ? wasted.length / window.gpus.length : 0,
      evidence: this.evidence(window, wasted, idleSince, atStake, breaching),
    };
    const alert = state.episode.step({ rule: GPU_WASTE_RULE, key: window.key, dimensions: window.dimensions, windowStart: window.windowStart, windowEnd: window.windowEnd }, verdict);
    return alert ? [alert] : [];
  }

  advance(watermark: number): Alert[] {
    return closeSilentSeries(this.pools, watermark - this.settings.staleAfterMs, GPU_WASTE_RULE, () => 'idle_gpu_cost_per_hour');
  }

  private evidence(window: GpuPoolWindow, wasted: GpuPoolWindow['gpus'], idleSince: Map<string, number>, atStake: number, breaching: boolean): string {
    const who = describeDimensions(window.dimensions);
    if (!breaching) return `${wasted.length} of ${window.gpus.length} GPUs of ${who} idle for ${formatDuration(this.settings.sustainedMs)} or more; nothing worth scaling down`;
    const perNode = new Map<string, number>();
    for (const gpu of wasted) perNode.set(gpu.node, (perNode.get(gpu.node) ?? 0) + 1);
    const [node, onNode] = [...perNode].sort(([a, x], [b, y]) => y - x || (a < b ? -1 : 1))[0]!;
    const shortest = Math.min(...wasted.map((gpu) => window.windowEnd - idleSince.get(gpu.gpu)!));
    const where = perNode.size > 1 ? ` (${onNode} on node ${node})` : ` (on node ${node})`;
    return `${wasted.length} of ${window.gpus.length} GPUs of ${who} below ${this.settings.utilizationBelowPct}% utilization for ${formatDuration(shortest)} or more${where}: ${formatMoney(atStake, window.currency)}/h at stake; scale down or release them`;
  }
}
