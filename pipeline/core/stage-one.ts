import type { GpuSample, PartialRollup, QueueSample, TokenUsage } from '../../schemas/index.js';
import { emptyRollup, foldGpu, foldQueue, foldToken, foldTokenCounts, RollupAggregate } from './aggregates.js';
import { CardinalityGuard } from './cardinality.js';
import { RateCard } from './rate-card.js';
import { DIMENSIONS, rollupKey, rollupKeyId, type RollupKey } from './rollup-key.js';
import { ValuePool } from './value-pool.js';
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
  /** The raw value of the key's last dimension, which a last level holding one key is checked against. */
  last: string;
}

/**
 * Cached keys by raw dimension values, a map per level: a lookup builds no string (a joined
 * string key cost more than half of the lookup). The last level of most prefixes holds a
 * single key (one version of a model in a region, say), stored directly rather than in a map
 * of its own, which would cost ~200 bytes a key.
 */
type LastLevel = CachedKey | Map<string, CachedKey>;
type KeyTrie = Map<string, Map<string, LastLevel>>;

function foldGpuCost(a: RollupAggregate, e: GpuSample, estimatedNanos: number): void {
  foldGpu(a.gpuToFold(), e);
  a.estimatedNanos += estimatedNanos;
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
  private readonly keys: Record<RollupKey['kind'], KeyTrie> = { model: new Map(), owner: new Map(), provider_region: new Map() };
  private cachedKeys = 0;
  private readonly values = new ValuePool();

  constructor(
    readonly task: number,
    settings: StageOneSettings,
    private readonly rateCard: RateCard,
    private readonly guard: CardinalityGuard,
  ) {
    const windows = { sizeMs: settings.windowSizeMs, allowedLatenessMs: settings.allowedLatenessMs };
    // A closed window waits out its allowed lateness packed: one per live key most of the time.
    this.rollups = new WindowStore(windows, emptyRollup, { packing: { pack: (a) => a.pack(), unpack: RollupAggregate.unpack } });
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

  /** The key for these dimension values, built once per distinct combination (see KeyTrie). */
  private key(kind: RollupKey['kind'], dimensionNames: readonly string[], a: string, b: string, c = ''): CachedKey {
    const last = this.keys[kind].get(a)?.get(b);
    if (last !== undefined) {
      if (!(last instanceof Map)) {
        if (last.last === c) return last;
      } else {
        const cached = last.get(c);
        if (cached !== undefined) return cached;
      }
    }
    return this.cacheKey(kind, dimensionNames, a, b, c);
  }

  /** Builds a key through the cardinality guard and caches it; bounded: the guard bounds values per dimension, this their combinations. */
  private cacheKey(kind: RollupKey['kind'], dimensionNames: readonly string[], a: string, b: string, c: string): CachedKey {
    if (this.cachedKeys >= MAX_CACHED_KEYS) {
      for (const trie of Object.values(this.keys)) trie.clear();
      this.values.clear();
      this.cachedKeys = 0;
    }
    const raw = dimensionNames.length === 2 ? [a, b] : [a, b, c];
    const key = rollupKey(kind, raw.map((v, i) => this.values.intern(this.guard.admit(dimensionNames[i]!, v))));
    const cached: CachedKey = { key, id: rollupKeyId(key), last: this.values.intern(c) };
    const trie = this.keys[kind];
    let byB = trie.get(a);
    if (byB === undefined) trie.set(this.values.intern(a), (byB = new Map()));
    const last = byB.get(b);
    if (last === undefined) byB.set(this.values.intern(b), cached);
    else if (last instanceof Map) last.set(cached.last, cached);
    else byB.set(b, new Map([[last.last, last], [cached.last, cached]]));
    this.cachedKeys += 1;
    return cached;
  }

  /** The window aggregate of key that this event folds into, or undefined when the event is late. */
  private windowOf(key: CachedKey, eventTime: number, position: SourcePosition): RollupAggregate | undefined {
    return this.rollups.aggregateFor(key.key, key.id, eventTime, position);
  }

  addTokenUsage(e: TokenUsage, position: SourcePosition, now: number): AddOutcome {
    const model = this.windowOf(this.key('model', MODEL_DIMENSIONS, e.model_name, e.model_version, e.region), e.event_time, position);
    if (model === undefined) return 'late';
    const egressNanos = this.rateCard.egressNanos(e.egress_bytes);
    foldToken(model, e);
    model.egressNanos += egressNanos;
    // Same window, same watermark: when the model key's window took the event, the owner's does too.
    const owner = this.windowOf(this.key('owner', OWNER_DIMENSIONS, e.team, e.experiment ?? '', e.environment), e.event_time, position)!;
    foldTokenCounts(owner, e);
    owner.egressNanos += egressNanos;
    this.watermark.observe(position.partition, e.event_time, now);
    return 'accepted';
  }

  addQueueSample(e: QueueSample, position: SourcePosition, now: number): AddOutcome {
    const model = this.windowOf(this.key('model', MODEL_DIMENSIONS, e.model_name, e.model_version, e.region), e.event_time, position);
    if (model === undefined) return 'late';
    foldQueue(model.queueToFold(), e);
    this.watermark.observe(position.partition, e.event_time, now);
    return 'accepted';
  }

  addGpuSample(e: GpuSample, position: SourcePosition, now: number): AddOutcome {
    // All keys first, in this order, late or not: the cardinality guard sees every value as it always has.
    const ownerKey = this.key('owner', OWNER_DIMENSIONS, e.team, e.experiment ?? '', e.environment);
    const providerKey = this.key('provider_region', PROVIDER_DIMENSIONS, e.provider, e.region);
    const modelKey = e.model_name !== null && e.model_version !== null ? this.key('model', MODEL_DIMENSIONS, e.model_name, e.model_version, e.region) : undefined;
    // Every key of one event shares its window: the first tells whether the event is late.
    const owner = this.windowOf(ownerKey, e.event_time, position);
    if (owner === undefined) return 'late';
    const estimatedNanos = this.rateCard.gpuSampleNanos(e);
    if (modelKey) foldGpuCost(this.windowOf(modelKey, e.event_time, position)!, e, estimatedNanos);
    foldGpuCost(owner, e, estimatedNanos);
    foldGpuCost(this.windowOf(providerKey, e.event_time, position)!, e, estimatedNanos);
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
    const usage = this.usage.aggregateFor(usageKey, usageKeyId(usageKey), e.event_time, position);
    if (usage) {
      usage.gpuSeconds += e.sample_interval_ms / 1000;
      usage.estimatedNanos += estimatedNanos;
    }
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
