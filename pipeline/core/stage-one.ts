import type { GpuSample, PartialRollup, QueueSample, TokenUsage } from '../../schemas/index.js';
import { emptyRollup, foldGpu, foldQueue, foldToken, foldTokenCounts, type RollupAggregate } from './aggregates.js';
import { CardinalityGuard } from './cardinality.js';
import { RateCard } from './rate-card.js';
import { DIMENSIONS, rollupKey, rollupKeyId, type RollupKey } from './rollup-key.js';
import { toPartialRollup } from './partial-rollup.js';
import { WatermarkTracker } from './watermark.js';
import { WindowStore, type AddOutcome, type SourcePosition } from './window-store.js';

export interface StageOneSettings {
  windowSizeMs: number;
  allowedLatenessMs: number;
  maxOutOfOrdernessMs: number;
  idlePartitionMs: number;
}

/** GPU-seconds of one resource in one window, by what it served: what billing is allocated by. */
export interface UsageKey {
  resourceId: string;
  provider: string;
  region: string;
  modelName: string;
  modelVersion: string;
  team: string;
  experiment: string;
  environment: string;
}

export interface UsageRow extends UsageKey {
  windowStart: number;
  gpuSeconds: number;
  estimatedNanos: number;
  version: number;
}

export interface StageOneOutput {
  partials: PartialRollup[];
  usage: UsageRow[];
  watermark: number;
}

const MODEL_DIMENSIONS = DIMENSIONS.model;
const OWNER_DIMENSIONS = DIMENSIONS.owner;
const PROVIDER_DIMENSIONS = DIMENSIONS.provider_region;
const MAX_CACHED_KEYS = 200_000;

interface CachedKey {
  key: RollupKey;
  id: string;
}

const usageKeyId = (k: UsageKey) => [k.resourceId, k.provider, k.region, k.modelName, k.modelVersion, k.team, k.experiment, k.environment].join('|');

/**
 * Stage 1 of one task (one input partition number across the co-partitioned input topics):
 * pre-aggregates events into per-window partial rollups for every key they touch. Everything it
 * emits is a deterministic function of its partitions' records, so a replay after a crash or a
 * rebalance emits the same partials with the same versions. Pure: wall-clock time comes in as
 * `now`, used only to let idle partitions stop holding the watermark.
 */
export class StageOneTask {
  private readonly rollups: WindowStore<RollupKey, RollupAggregate>;
  private readonly usage: WindowStore<UsageKey, { gpuSeconds: number; estimatedNanos: number }>;
  private readonly watermark: WatermarkTracker;
  private readonly keys = new Map<string, CachedKey>();

  constructor(
    readonly task: number,
    settings: StageOneSettings,
    private readonly rateCard: RateCard,
    private readonly guard: CardinalityGuard,
  ) {
    const windows = { sizeMs: settings.windowSizeMs, allowedLatenessMs: settings.allowedLatenessMs };
    this.rollups = new WindowStore(windows, emptyRollup);
    this.usage = new WindowStore(windows, () => ({ gpuSeconds: 0, estimatedNanos: 0 }));
    this.watermark = new WatermarkTracker(settings.maxOutOfOrdernessMs, settings.idlePartitionMs);
  }

  /** Windows in memory (rollups and usage). */
  get size(): number {
    return this.rollups.size + this.usage.size;
  }

  assign(partition: string, now: number): void {
    this.watermark.assign(partition, now);
  }

  setCaughtUp(partition: string, caughtUp: boolean): void {
    this.watermark.setCaughtUp(partition, caughtUp);
  }

  /** Marks a record that produced no event (a dead letter) as processed, so commits can pass it. */
  skip(position: SourcePosition): void {
    this.rollups.markProcessed(position);
  }

  /**
   * The key for these dimension values, through the cardinality guard, built once per distinct
   * combination: the hot path does one string concatenation and one map lookup per key.
   */
  private key(kind: RollupKey['kind'], dimensionNames: readonly string[], a: string, b: string, c?: string): CachedKey {
    const raw = c === undefined ? `${kind}\u0000${a}\u0000${b}` : `${kind}\u0000${a}\u0000${b}\u0000${c}`;
    let cached = this.keys.get(raw);
    if (!cached) {
      const values = c === undefined ? [a, b] : [a, b, c];
      const key = rollupKey(kind, values.map((v, i) => this.guard.admit(dimensionNames[i]!, v)));
      cached = { key, id: rollupKeyId(key) };
      // Bounded: the guard bounds values per dimension, this bounds their combinations.
      if (this.keys.size >= MAX_CACHED_KEYS) this.keys.clear();
      this.keys.set(raw, cached);
    }
    return cached;
  }

  private fold(key: CachedKey, eventTime: number, position: SourcePosition, fold: (a: RollupAggregate) => void): AddOutcome {
    return this.rollups.add(key.key, key.id, eventTime, position, fold);
  }

  addTokenUsage(e: TokenUsage, position: SourcePosition, now: number): AddOutcome {
    const egressNanos = this.rateCard.egressNanos(e.egress_bytes);
    const model = this.key('model', MODEL_DIMENSIONS, e.model_name, e.model_version, e.region);
    const outcome = this.fold(model, e.event_time, position, (a) => {
      foldToken(a.tokens, e);
      a.cost.egressNanos += egressNanos;
    });
    if (outcome === 'late') return outcome;
    this.fold(this.key('owner', OWNER_DIMENSIONS, e.team, e.experiment ?? '', e.environment), e.event_time, position, (a) => {
      foldTokenCounts(a.tokens, e);
      a.cost.egressNanos += egressNanos;
    });
    this.watermark.observe(position.partition, e.event_time, now);
    return outcome;
  }

  addQueueSample(e: QueueSample, position: SourcePosition, now: number): AddOutcome {
    const key = this.key('model', MODEL_DIMENSIONS, e.model_name, e.model_version, e.region);
    const outcome = this.fold(key, e.event_time, position, (a) => foldQueue(a.queue, e));
    if (outcome === 'accepted') this.watermark.observe(position.partition, e.event_time, now);
    return outcome;
  }

  addGpuSample(e: GpuSample, position: SourcePosition, now: number): AddOutcome {
    const estimatedNanos = this.rateCard.gpuSampleNanos(e);
    const keys = [this.key('owner', OWNER_DIMENSIONS, e.team, e.experiment ?? '', e.environment), this.key('provider_region', PROVIDER_DIMENSIONS, e.provider, e.region)];
    if (e.model_name !== null && e.model_version !== null) keys.unshift(this.key('model', MODEL_DIMENSIONS, e.model_name, e.model_version, e.region));
    const fold = (a: RollupAggregate) => {
      foldGpu(a.gpu, e);
      a.cost.estimatedNanos += estimatedNanos;
    };
    // Every key of one event shares its window: the first tells whether the event is late.
    for (const key of keys) if (this.fold(key, e.event_time, position, fold) === 'late') return 'late';
    const usageKey: UsageKey = {
      resourceId: e.resource_id,
      provider: e.provider,
      region: e.region,
      modelName: e.model_name ?? '',
      modelVersion: e.model_version ?? '',
      team: e.team,
      experiment: e.experiment ?? '',
      environment: e.environment,
    };
    this.usage.add(usageKey, usageKeyId(usageKey), e.event_time, position, (u) => {
      u.gpuSeconds += e.sample_interval_ms / 1000;
      u.estimatedNanos += estimatedNanos;
    });
    this.watermark.observe(position.partition, e.event_time, now);
    return 'accepted';
  }

  /** Closes what the watermark passed: partial rollups for stage 2 and usage rows for billing attribution. */
  advance(now: number): StageOneOutput {
    const watermark = this.watermark.advance(now);
    const partials = this.rollups.advance(watermark).map((em) => toPartialRollup(this.task, watermark, em.key, em.windowStart, em.windowEnd, em.eventCount, em.aggregate));
    const usage = this.usage.advance(watermark).map((em) => ({ ...em.key, windowStart: em.windowStart, gpuSeconds: em.aggregate.gpuSeconds, estimatedNanos: em.aggregate.estimatedNanos, version: em.eventCount }));
    return { partials, usage, watermark };
  }

  get currentWatermark(): number {
    return this.watermark.value;
  }

  /** True when no assigned partition of this task has shown data for the idle timeout. */
  isIdle(now: number): boolean {
    return this.watermark.allIdle(now);
  }

  /** Per partition: the first offset still feeding a live window (rollup or usage), else the next to read. */
  committableOffsets(): Map<string, number> {
    const result = this.rollups.committableOffsets();
    for (const [partition, offset] of this.usage.committableOffsets()) {
      if (offset < (result.get(partition) ?? Number.POSITIVE_INFINITY)) result.set(partition, offset);
    }
    return result;
  }
}
