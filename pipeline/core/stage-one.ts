import type { BillingCost, GpuSample, PartialRollup, QueueSample, TokenUsage } from '../../schemas/index.js';
import { addPriceUsage, emptyRollup, foldGpu, foldQueue, foldToken, foldTokenCounts, priceUsageOf, RollupAggregate } from './aggregates.js';
import { CardinalityGuard, OVERFLOW_VALUE } from './cardinality.js';
import { canonicalProvider, RateCard } from './rate-card.js';
import { IdKeyTable, RollupKeyTable } from './key-table.js';
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
  /** The resource's instance type (one per resource, so not part of the key's identity): what learned rates are per. */
  instanceType: string;
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

/**
 * Open windows a task keeps unpacked after advance: the keys events are arriving for. Beyond it
 * (a task with more series than this, most of them seeing an event every few seconds) the
 * windows unpacked longest ago wait packed, a few dozen bytes instead of a few hundred.
 */
const UNPACKED_OPEN_WINDOWS = 512;

/**
 * Resources whose instance type a task remembers (from their closed usage windows), to name the
 * SKU of their billing lines. A label only: past this many the longest-known is forgotten.
 */
const REMEMBERED_INSTANCE_TYPES = 65_536;

/** What a billing line did in its task: its price folded into the window of its arrival, or not (it still goes to allocation). */
export type PriceOutcome = 'priced' | 'not-priced' | 'late';

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
  private readonly rollups: WindowStore<RollupAggregate>;
  private readonly usage: WindowStore<{ gpuSeconds: number; estimatedNanos: number }>;
  private readonly watermark: WatermarkTracker;
  /** Rollup keys by raw dimension values, through the cardinality guard. */
  private readonly keys: RollupKeyTable;
  private readonly usageKeys = new IdKeyTable<UsageKey>();
  /** Instance type by resource id, as its GPU samples name it (co-partitioned with the resource's billing lines). */
  private readonly instanceTypes = new Map<string, string>();

  constructor(
    readonly task: number,
    settings: StageOneSettings,
    private readonly rateCard: RateCard,
    private readonly guard: CardinalityGuard,
  ) {
    const windows = { sizeMs: settings.windowSizeMs, allowedLatenessMs: settings.allowedLatenessMs };
    this.keys = new RollupKeyTable(guard);
    // A closed window waits out its allowed lateness packed (one per live key most of the time), and so do cold open ones.
    this.rollups = new WindowStore(windows, emptyRollup, { keys: this.keys, packing: { pack: (a) => a.pack(), unpack: RollupAggregate.unpack, unpackedLimit: UNPACKED_OPEN_WINDOWS } });
    this.usage = new WindowStore(windows, () => ({ gpuSeconds: 0, estimatedNanos: 0 }), { keys: this.usageKeys });
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

  /** The window aggregate of a key that this event folds into, or undefined when the event is late. */
  private windowOf(keyIndex: number, eventTime: number, position: SourcePosition): RollupAggregate | undefined {
    return this.rollups.aggregateFor(keyIndex, eventTime, position);
  }

  addTokenUsage(e: TokenUsage, position: SourcePosition, now: number): AddOutcome {
    const model = this.windowOf(this.keys.indexOf('model', e.model_name, e.model_version, e.region), e.event_time, position);
    if (model === undefined) return 'late';
    const egressNanos = this.rateCard.egressNanos(e.egress_bytes);
    foldToken(model, e);
    model.egressNanos += egressNanos;
    // Same window, same watermark: when the model key's window took the event, the owner's does too.
    const owner = this.windowOf(this.keys.indexOf('owner', e.team, e.experiment ?? '', e.environment), e.event_time, position)!;
    foldTokenCounts(owner, e);
    owner.egressNanos += egressNanos;
    this.watermark.observe(position.partition, e.event_time, now);
    return 'accepted';
  }

  addQueueSample(e: QueueSample, position: SourcePosition, now: number): AddOutcome {
    const model = this.windowOf(this.keys.indexOf('model', e.model_name, e.model_version, e.region), e.event_time, position);
    if (model === undefined) return 'late';
    foldQueue(model.queueToFold(), e);
    this.watermark.observe(position.partition, e.event_time, now);
    return 'accepted';
  }

  addGpuSample(e: GpuSample, position: SourcePosition, now: number): AddOutcome {
    // All keys first, in this order, late or not: the cardinality guard sees every value as it always has.
    const ownerKey = this.keys.indexOf('owner', e.team, e.experiment ?? '', e.environment);
    const providerKey = this.keys.indexOf('provider_region', e.provider, e.region);
    const modelKey = e.model_name !== null && e.model_version !== null ? this.keys.indexOf('model', e.model_name, e.model_version, e.region) : undefined;
    // Every key of one event shares its window: the first tells whether the event is late.
    const owner = this.windowOf(ownerKey, e.event_time, position);
    if (owner === undefined) return 'late';
    const estimatedNanos = this.rateCard.gpuSampleNanos(e);
    if (modelKey !== undefined) foldGpuCost(this.windowOf(modelKey, e.event_time, position)!, e, estimatedNanos);
    foldGpuCost(owner, e, estimatedNanos);
    foldGpuCost(this.windowOf(providerKey, e.event_time, position)!, e, estimatedNanos);
    const usageKey: UsageKey = {
      resourceId: e.resource_id,
      instanceType: e.instance_type ?? '',
      provider: e.provider,
      region: e.region,
      modelName: e.model_name ?? '',
      modelVersion: e.model_version ?? '',
      team: e.team,
      experiment: e.experiment ?? '',
      environment: e.environment,
    };
    const usage = this.usage.aggregateFor(this.usageKeys.indexOf(usageKey, usageKeyId(usageKey)), e.event_time, position);
    if (usage) {
      usage.gpuSeconds += e.sample_interval_ms / 1000;
      usage.estimatedNanos += estimatedNanos;
    }
    this.watermark.observe(position.partition, e.event_time, now);
    return 'accepted';
  }

  /** Learned from usage windows as they close (once a minute per resource, not per sample). */
  private rememberInstanceType({ resourceId, instanceType }: UsageKey): void {
    if (instanceType === '' || this.instanceTypes.get(resourceId) === instanceType) return;
    this.instanceTypes.set(resourceId, instanceType);
    if (this.instanceTypes.size > REMEMBERED_INSTANCE_TYPES) this.instanceTypes.delete(this.instanceTypes.keys().next().value!);
  }

  /**
   * Folds a usage billing line's SKU usage into the provider and region's window of its arrival
   * (event_time), so the window's list unit price per SKU reaches stage 2 and the price_change rule
   * on time. The line's cost is not counted here: it is allocated to the windows its charge period
   * covers once usage is final (BillingQueue). A SKU past the cardinality limit is not priced: a
   * price mixed over SKUs means nothing. Billing does not move the telemetry watermark.
   */
  addBillingLine(e: BillingCost, position: SourcePosition): PriceOutcome {
    const usage = priceUsageOf(e, (e.ResourceId && this.instanceTypes.get(e.ResourceId)) || '');
    if (usage === undefined || this.guard.admit('sku_id', usage.skuId) === OVERFLOW_VALUE) {
      this.rollups.markProcessed(position);
      return 'not-priced';
    }
    const keyIndex = this.keys.indexOf('provider_region', canonicalProvider(e.ProviderName), e.RegionId ?? e.RegionName ?? '');
    const window = this.windowOf(keyIndex, e.event_time, position);
    if (window === undefined) return 'late';
    addPriceUsage(window.pricesToFold(), usage);
    return 'priced';
  }

  /** Closes what the watermark passed: partial rollups for stage 2 and usage rows for billing attribution. */
  advance(now: number): StageOneOutput {
    const watermark = this.watermark.advance(now);
    const partials = this.rollups.advance(watermark).map((em) => toPartialRollup(this.task, watermark, this.keys.key(em.keyIndex), em.windowStart, em.windowEnd, em.eventCount, em.aggregate));
    const usage = this.usage.advance(watermark).map((em) => ({ ...this.usageKeys.key(em.keyIndex), windowStart: em.windowStart, gpuSeconds: em.aggregate.gpuSeconds, estimatedNanos: em.aggregate.estimatedNanos, version: em.eventCount }));
    for (const row of usage) this.rememberInstanceType(row);
    // Between events: keys no window holds any more may go (see KeyTable.sweep).
    this.keys.sweep();
    this.usageKeys.sweep();
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
