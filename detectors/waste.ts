import { z } from 'zod';
import type { Alert } from '../schemas/index.js';
import { AlertEpisode, type Verdict } from './alert-episode.js';
import { describeDimensions, formatDuration, formatMoney, formatPercent } from './evidence.js';
import type { GpuPoolWindow, GpuUtilization } from './inputs.js';
import { closeSilentSeries, episodeSettingsShape, SeriesTable, type EpisodeSeries } from './series-table.js';

export const GPU_WASTE_RULE = 'gpu_waste';

export const gpuWasteSchema = z.strictObject({
  enabled: z.boolean().default(true),
  /** A GPU whose own mean utilization in a window is below this percentage is idle in that window (unassigned GPUs always are). */
  utilizationBelowPct: z.number().min(0).max(100).default(10),
  /**
   * How long a GPU must stay idle before it counts as waste: longer than a checkpoint, an
   * evaluation pass or a data-loader stall, which leave a training job's GPUs at 0% for minutes.
   */
  sustainedMs: z.number().int().min(60_000).default(15 * 60_000),
  /** A GPU missing from at most this many windows in a row (a lost scrape) keeps its idle streak; longer, it starts over. */
  maxGapWindows: z.number().int().min(0).max(60).default(2),
  /** Idle GPUs a pool needs before it is reported... */
  minGpus: z.number().int().min(1).default(1),
  /** ...and money per hour at stake. */
  minMoneyPerHour: z.number().min(0).default(5),
  /** Critical from this much money per hour on. */
  criticalMoneyPerHour: z.number().min(0).default(100),
  /**
   * A GPU whose mean utilization in a window is below this percentage ran (next to) no kernel in it:
   * DCGM counts any time a kernel runs, so a checkpoint or an evaluation pass still reads above it.
   */
  stalledBelowPct: z.number().min(0).max(100).default(1),
  /**
   * An early notice, at severity info, when every GPU of a training pool has been stalled this long:
   * a job that steps every few seconds and has run no kernel for minutes is hung or finished
   * without releasing its GPUs. It asks for no action: a long checkpoint write or a data-loader
   * stall looks the same for a while, which is what `sustainedMs` waits out before the alert
   * escalates (same episode, re-notified) to the severity a scale-down acts on. Inference and
   * notebook pools follow demand, so no activity there is a quiet hour, not a hang: they get no
   * early notice. null: none.
   */
  stalledAfterMs: z.number().int().min(60_000).nullable().default(2 * 60_000),
  // The sustained period is the hysteresis already: fire on the first window that completes it.
  ...episodeSettingsShape({ fireAfter: 1, resolveAfter: 2, staleAfterMs: 30 * 60_000 }),
});

export type GpuWasteSettings = z.infer<typeof gpuWasteSchema>;

interface IdleStreak {
  /** Window start the GPU was first idle in this streak. */
  since: number;
  /** Window end the GPU was last seen (idle). */
  lastSeenEnd: number;
}

interface PoolState extends EpisodeSeries {
  /** Each GPU currently in an idle streak: bounded by the pool's GPUs (streaks of vanished GPUs expire). */
  idle: Map<string, IdleStreak>;
  /** Since when every GPU of the (training) pool has been stalled, and the last window it was: undefined while any GPU runs kernels. */
  stalled: IdleStreak | undefined;
}

interface WastedGpu {
  gpu: GpuUtilization;
  idleForMs: number;
  hourlyRate: number;
}

/**
 * GPUs allocated and idle or under-utilized for a sustained time, per pool: each GPU on its own
 * utilization, so a pool whose mean looks busy still shows the GPUs that sit idle in it. The money
 * at stake is the idle GPUs' hourly rates. A GPU that raised an XID error is broken rather than
 * idle (replace it, do not scale it down) and is not counted. The evidence names the node holding
 * most of the idle money, where a scale-down starts.
 * Two tiers, one episode: a training pool whose every GPU has run no kernel for `stalledAfterMs`
 * fires at severity info (a hung job, worth knowing, not yet worth acting on); the sustained period
 * escalates it to warning or critical by the money at stake, which re-notifies under the same id.
 */
export class GpuWasteDetector {
  private readonly pools: SeriesTable<PoolState>;

  constructor(private readonly settings: GpuWasteSettings) {
    this.pools = new SeriesTable(() => ({ lastWindowStart: Number.NEGATIVE_INFINITY, lastWindowEnd: Number.NEGATIVE_INFINITY, dimensions: {}, idle: new Map(), stalled: undefined, episode: new AlertEpisode(settings) }));
  }

  get size(): number {
    return this.pools.size;
  }

  observe(window: GpuPoolWindow): Alert[] {
    const state = this.pools.admit(window.key, window.windowStart, window.windowEnd);
    if (!state) return [];
    state.dimensions = window.dimensions;
    const windowMs = window.windowEnd - window.windowStart;
    const gapMs = this.settings.maxGapWindows * windowMs;
    const idle = new Map<string, IdleStreak>();
    const wasted: WastedGpu[] = [];
    for (const gpu of window.gpus) {
      const isIdle = !gpu.faulted && (gpu.workload === 'unassigned' || gpu.utilizationPct < this.settings.utilizationBelowPct);
      if (!isIdle) continue;
      const known = state.idle.get(gpu.gpu);
      // A streak survives a lost scrape or two, not a longer absence.
      const since = known && window.windowStart - known.lastSeenEnd <= gapMs ? known.since : window.windowStart;
      idle.set(gpu.gpu, { since, lastSeenEnd: window.windowEnd });
      const idleForMs = window.windowEnd - since;
      if (idleForMs >= this.settings.sustainedMs) wasted.push({ gpu, idleForMs, hourlyRate: gpu.hourlyRate ?? window.hourlyRatePerGpu });
    }
    // GPUs absent from this window keep their streak for the gap's length.
    for (const [id, streak] of state.idle) if (!idle.has(id) && window.windowEnd - streak.lastSeenEnd <= gapMs + windowMs) idle.set(id, streak);
    state.idle = idle;
    const atStake = wasted.reduce((sum, w) => sum + w.hourlyRate, 0);
    const poolCost = window.gpus.reduce((sum, gpu) => sum + (gpu.hourlyRate ?? window.hourlyRatePerGpu), 0);
    const breaching = wasted.length >= this.settings.minGpus && atStake >= this.settings.minMoneyPerHour;
    const stalledForMs = this.stalledFor(state, window, gapMs);
    const verdict: Verdict = (!breaching && this.stalledNotice(window, stalledForMs, poolCost)) || {
      breaching,
      severity: atStake >= this.settings.criticalMoneyPerHour ? 'critical' : 'warning',
      metric: 'idle_gpu_cost_per_hour',
      observed: atStake,
      baseline: poolCost,
      score: window.gpus.length > 0 ? wasted.length / window.gpus.length : 0,
      evidence: this.evidence(window, wasted, atStake, poolCost, breaching),
    };
    const alert = state.episode.step({ rule: GPU_WASTE_RULE, key: window.key, dimensions: window.dimensions, windowStart: window.windowStart, windowEnd: window.windowEnd }, verdict);
    return alert ? [alert] : [];
  }

  /**
   * How long every GPU of a training pool has run no kernel, up to this window's end (0 while any
   * of them runs some). A lost scrape or two does not break the streak, as for a GPU's idle streak.
   */
  private stalledFor(state: PoolState, window: GpuPoolWindow, gapMs: number): number {
    const healthy = window.gpus.filter((gpu) => !gpu.faulted);
    const stalledNow = healthy.length >= this.settings.minGpus && healthy.every((gpu) => gpu.workload === 'training' && gpu.utilizationPct < this.settings.stalledBelowPct);
    if (!stalledNow) {
      state.stalled = undefined;
      return 0;
    }
    const since = state.stalled && window.windowStart - state.stalled.lastSeenEnd <= gapMs ? state.stalled.since : window.windowStart;
    state.stalled = { since, lastSeenEnd: window.windowEnd };
    return window.windowEnd - since;
  }

  /** The early tier, once a training pool has been stalled for `stalledAfterMs` with money worth a look held by it; undefined before. */
  private stalledNotice(window: GpuPoolWindow, stalledForMs: number, poolCost: number): Verdict | undefined {
    if (this.settings.stalledAfterMs === null || stalledForMs < this.settings.stalledAfterMs) return undefined;
    const healthy = window.gpus.filter((gpu) => !gpu.faulted);
    const held = healthy.reduce((sum, gpu) => sum + (gpu.hourlyRate ?? window.hourlyRatePerGpu), 0);
    if (held < this.settings.minMoneyPerHour) return undefined;
    const nodes = new Set(healthy.map((gpu) => gpu.node).filter((node) => node !== '')).size;
    const where = nodes > 0 ? `, on ${nodes} node${nodes > 1 ? 's' : ''},` : '';
    return {
      breaching: true,
      severity: 'info',
      metric: 'idle_gpu_cost_per_hour',
      observed: held,
      baseline: poolCost,
      score: healthy.length / window.gpus.length,
      evidence: `all ${healthy.length} GPUs of ${describeDimensions(window.dimensions)}${where} have run no kernel for ${formatDuration(stalledForMs)}: the job looks hung, or finished without releasing them, holding ${formatMoney(held, window.currency)}/h; check it (a scale-down is proposed after ${formatDuration(this.settings.sustainedMs)} idle)`,
    };
  }

  advance(watermark: number): Alert[] {
    return closeSilentSeries(this.pools, watermark - this.settings.staleAfterMs, GPU_WASTE_RULE, () => 'idle_gpu_cost_per_hour');
  }

  private evidence(window: GpuPoolWindow, wasted: WastedGpu[], atStake: number, poolCost: number, breaching: boolean): string {
    const who = describeDimensions(window.dimensions);
    if (!breaching) return `${wasted.length} of ${window.gpus.length} GPUs of ${who} idle for ${formatDuration(this.settings.sustainedMs)} or more; nothing worth scaling down`;
    const perNode = new Map<string, { gpus: number; money: number }>();
    for (const { gpu, hourlyRate } of wasted) {
      if (!gpu.node) continue;
      const node = perNode.get(gpu.node) ?? { gpus: 0, money: 0 };
      node.gpus += 1;
      node.money += hourlyRate;
      perNode.set(gpu.node, node);
    }
    const top = [...perNode].sort(([a, x], [b, y]) => y.money - x.money || (a < b ? -1 : 1))[0];
    const where = !top ? '' : perNode.size > 1 ? ` (${top[1].gpus} on node ${top[0]})` : ` (on node ${top[0]})`;
    const shortest = Math.min(...wasted.map((w) => w.idleForMs));
    const share = poolCost > 0 ? `, ${formatPercent(atStake / poolCost)} of the pool's cost` : '';
    return `${wasted.length} of ${window.gpus.length} GPUs of ${who} below ${this.settings.utilizationBelowPct}% utilization for ${formatDuration(shortest)} or more${where}: ${formatMoney(atStake, window.currency)}/h at stake${share}; scale down or release them`;
  }
}
