import type { BillingCost, GpuSample, QueueSample, TokenUsage } from '../../schemas/index.js';
import { ByteReader, ByteWriter, type HeldBytes } from './compact-bytes.js';
import { convertScale, moneyFromDecimalBytes } from './money.js';
import { QuantileSketch } from './quantile-sketch.js';

/**
 * What one window accumulates for one key, per source. Every field is a sum, a max, a distinct
 * set or a mergeable sketch, so partial aggregates from different partitions (stage 1) merge
 * into the same result as one pass over all events (stage 2), and minutes merge into hours.
 * Counts and money are integers (money in nano-units of the billing currency), so sums are exact.
 */
export interface TokenAggregate {
  requests: number;
  successes: number;
  errors: number;
  retries: number;
  inputTokens: number;
  outputTokens: number;
  cachedInputTokens: number;
  egressBytes: number;
  latency: QuantileSketch;
  timeToFirstToken: QuantileSketch;
}

export interface QueueAggregate {
  samples: number;
  depthSum: number;
  depthMax: number;
  runningSum: number;
  waitCount: number;
  waitSumMs: number;
  /** Per-sample p95 queue wait, weighted by nothing: the p95 over samples of the window's p95s. */
  waitP95: QuantileSketch;
  kvCacheSum: number;
  kvCacheMax: number;
  preemptions: number;
}

export interface GpuAggregate {
  samples: number;
  gpuSeconds: number;
  /** Utilization and saturation integrated over time (value × seconds): their means are exact under merge. */
  utilizationSeconds: number;
  smActiveSeconds: number;
  memorySaturationSeconds: number;
  memorySaturationMax: number;
  dramActiveSeconds: number;
  energyJoules: number;
  idleGpuSeconds: number;
  xidErrors: number;
  /** Each GPU seen, by DCGM UUID, with its own seconds: an idle GPU in a busy pool shows here, not in the pool's mean. */
  gpus: Map<string, GpuUsage>;
}

/** One GPU's share of a window: its mean utilization is utilizationSeconds / gpuSeconds, exact under merge like the pool's. */
export interface GpuUsage {
  gpuSeconds: number;
  utilizationSeconds: number;
  /** XID errors it raised (a sample naming a last XID counts one at least): a faulted GPU is broken, not idle. */
  xidErrors: number;
  /** The node it is in (a GPU does not move; the first seen is kept), where a scale-down starts. */
  node: string;
}

/** One GPU's usage in the layouts that carry it (held aggregates and the internal topic's gpu_usage). */
export function writeGpuUsage(w: ByteWriter, usage: Readonly<GpuUsage>): void {
  w.number(usage.gpuSeconds);
  w.number(usage.utilizationSeconds);
  w.varint(usage.xidErrors);
  w.string(usage.node);
}

export function readGpuUsage(r: ByteReader): GpuUsage {
  const gpuSeconds = r.number();
  const utilizationSeconds = r.number();
  const xidErrors = r.varint();
  return { gpuSeconds, utilizationSeconds, xidErrors, node: r.string() };
}

/**
 * The usage-based billing lines of one SKU (in one pricing unit and currency) that arrived in a
 * window, summed. Its list unit price is listCostNanos / pricingQuantity: costs over quantities,
 * so it merges exactly and a partial-hour line weighs by what it used.
 */
export interface PriceUsage {
  skuId: string;
  pricingUnit: string;
  currency: string;
  /** The charged resources' instance type as their GPU samples name it (a label, the first one known); '' when none was seen. */
  instanceType: string;
  lines: number;
  pricingQuantity: number;
  listCostNanos: number;
  effectiveCostNanos: number;
  /** The charge periods the lines cover: the earliest start and the latest end (ms). */
  chargePeriodStart: number;
  chargePeriodEnd: number;
}

/** A SKU's identity within a window: prices are only comparable in one unit and currency. */
export const priceUsageId = (u: Pick<PriceUsage, 'skuId' | 'pricingUnit' | 'currency'>) => `${u.skuId}\u0000${u.pricingUnit}\u0000${u.currency}`;

function writePriceUsage(w: ByteWriter, u: Readonly<PriceUsage>): void {
  w.string(u.skuId);
  w.string(u.pricingUnit);
  w.string(u.currency);
  w.string(u.instanceType);
  w.number(u.lines);
  w.number(u.pricingQuantity);
  w.number(u.listCostNanos);
  w.number(u.effectiveCostNanos);
  w.number(u.chargePeriodStart);
  w.number(u.chargePeriodEnd);
}

function readPriceUsage(r: ByteReader): PriceUsage {
  const [skuId, pricingUnit, currency, instanceType] = [r.string(), r.string(), r.string(), r.string()];
  const [lines, pricingQuantity, listCostNanos, effectiveCostNanos, chargePeriodStart, chargePeriodEnd] = [r.number(), r.number(), r.number(), r.number(), r.number(), r.number()];
  return { skuId, pricingUnit, currency, instanceType, lines, pricingQuantity, listCostNanos, effectiveCostNanos, chargePeriodStart, chargePeriodEnd };
}

/** Adds one SKU's usage into a window's: sums, the widest charge period, the first instance type known. */
export function addPriceUsage(prices: Map<string, PriceUsage>, add: Readonly<PriceUsage>): void {
  const id = priceUsageId(add);
  const usage = prices.get(id);
  if (usage === undefined) {
    prices.set(id, { ...add });
    return;
  }
  usage.lines += add.lines;
  usage.pricingQuantity += add.pricingQuantity;
  usage.listCostNanos += add.listCostNanos;
  usage.effectiveCostNanos += add.effectiveCostNanos;
  usage.chargePeriodStart = Math.min(usage.chargePeriodStart, add.chargePeriodStart);
  usage.chargePeriodEnd = Math.max(usage.chargePeriodEnd, add.chargePeriodEnd);
  if (usage.instanceType === '') usage.instanceType = add.instanceType;
}

export interface CostAggregate {
  /** GPU-seconds × rate card, in nano-units. */
  estimatedNanos: number;
  /** Egress bytes × egress rate, in nano-units. */
  egressNanos: number;
}

/** A part as readers see it: a part no event touched reads as zeros, an empty sketch and no GPUs. */
export type QueueView = Readonly<QueueAggregate>;
export type GpuView = Readonly<Omit<GpuAggregate, 'gpus'>> & { readonly gpus: ReadonlyMap<string, Readonly<GpuUsage>> };

/** Fields merged by summing (the rest are maxima, sketches or sets). */
const TOKEN_SUMS = ['requests', 'successes', 'errors', 'retries', 'inputTokens', 'outputTokens', 'cachedInputTokens', 'egressBytes'] as const satisfies readonly (keyof TokenAggregate)[];
const COST_SUMS = ['estimatedNanos', 'egressNanos'] as const satisfies readonly (keyof CostAggregate)[];
const QUEUE_SUMS = ['samples', 'depthSum', 'runningSum', 'waitCount', 'waitSumMs', 'kvCacheSum', 'preemptions'] as const satisfies readonly (keyof QueueAggregate)[];
const QUEUE_MAXIMA = ['depthMax', 'kvCacheMax'] as const satisfies readonly (keyof QueueAggregate)[];
const GPU_SUMS = ['samples', 'gpuSeconds', 'utilizationSeconds', 'smActiveSeconds', 'memorySaturationSeconds', 'dramActiveSeconds', 'energyJoules', 'idleGpuSeconds', 'xidErrors'] as const satisfies readonly (keyof GpuAggregate)[];
const GPU_MAXIMA = ['memorySaturationMax'] as const satisfies readonly (keyof GpuAggregate)[];

const emptyQueue = (): QueueAggregate => ({ samples: 0, depthSum: 0, depthMax: 0, runningSum: 0, waitCount: 0, waitSumMs: 0, waitP95: QuantileSketch.empty(), kvCacheSum: 0, kvCacheMax: 0, preemptions: 0 });

const emptyGpu = (): GpuAggregate => ({
  samples: 0,
  gpuSeconds: 0,
  utilizationSeconds: 0,
  smActiveSeconds: 0,
  memorySaturationSeconds: 0,
  memorySaturationMax: 0,
  dramActiveSeconds: 0,
  energyJoules: 0,
  idleGpuSeconds: 0,
  xidErrors: 0,
  gpus: new Map(),
});

/** Shared by every aggregate without the part, frozen: folding into them by mistake throws instead of leaking across keys. */
const NO_QUEUE: QueueView = Object.freeze(emptyQueue());
Object.freeze(NO_QUEUE.waitP95);
const NO_GPU: GpuView = Object.freeze(emptyGpu());
const NO_PRICES: ReadonlyMap<string, Readonly<PriceUsage>> = new Map();

const PART_QUEUE = 1;
const PART_GPU = 2;
const PART_PRICES = 4;

/**
 * One window of one key, any kind. Token counts, the two latency sketches and cost live inline
 * in one object: model and owner keys all have them, and a window of a live series is the unit
 * memory is counted in. The queue and GPU parts (and the GPU-id set) exist only once a sample
 * was folded in: most model keys see no queue samples, spend keys no tokens percentiles. The
 * prices part (billed usage per SKU) exists only on provider keys in windows billing arrived in.
 */
export class RollupAggregate implements TokenAggregate, CostAggregate {
  requests = 0;
  successes = 0;
  errors = 0;
  retries = 0;
  inputTokens = 0;
  outputTokens = 0;
  cachedInputTokens = 0;
  egressBytes = 0;
  latency = QuantileSketch.empty();
  timeToFirstToken = QuantileSketch.empty();
  estimatedNanos = 0;
  egressNanos = 0;
  private queuePart: QueueAggregate | undefined = undefined;
  private gpuPart: GpuAggregate | undefined = undefined;
  private pricesPart: Map<string, PriceUsage> | undefined = undefined;

  get tokens(): TokenAggregate {
    return this;
  }

  get cost(): CostAggregate {
    return this;
  }

  get queue(): QueueView {
    return this.queuePart ?? NO_QUEUE;
  }

  get gpu(): GpuView {
    return this.gpuPart ?? NO_GPU;
  }

  /** Billed usage per SKU (see priceUsageId). */
  get prices(): ReadonlyMap<string, Readonly<PriceUsage>> {
    return this.pricesPart ?? NO_PRICES;
  }

  /** The queue part to fold a sample into, created by the first one. */
  queueToFold(): QueueAggregate {
    return (this.queuePart ??= emptyQueue());
  }

  /** The GPU part to fold a sample into, created by the first one. */
  gpuToFold(): GpuAggregate {
    return (this.gpuPart ??= emptyGpu());
  }

  /** The prices part to fold a billing line into, created by the first one. */
  pricesToFold(): Map<string, PriceUsage> {
    return (this.pricesPart ??= new Map());
  }

  /** Adds other's events: the same as having folded them here. */
  merge(from: RollupAggregate): void {
    mergeTokens(this, from);
    for (const f of COST_SUMS) this[f] += from[f];
    if (from.queuePart) mergeQueue(this.queueToFold(), from.queuePart);
    if (from.gpuPart) mergeGpu(this.gpuToFold(), from.gpuPart);
    if (from.pricesPart) for (const usage of from.pricesPart.values()) addPriceUsage(this.pricesToFold(), usage);
  }

  /**
   * The compact form a closed window is held in while it waits out its lateness, and stage 2's
   * state: present parts only, whole numbers as varints, sketches in their own layout. Exact:
   * unpack gives back an equal aggregate. `smallest` trades a little time for fewer bytes in the
   * sketches (see QuantileSketch.writeTo), for state held for an hour.
   */
  pack(smallest = false): HeldBytes {
    return this.write(smallest).finishHeld();
  }

  /** The same layout as pack, in a Buffer (to embed in a larger layout). */
  toBytes(): Buffer {
    return this.write(false).finish();
  }

  private write(smallest: boolean): ByteWriter {
    const w = new ByteWriter();
    w.varint((this.queuePart ? PART_QUEUE : 0) | (this.gpuPart ? PART_GPU : 0) | (this.pricesPart ? PART_PRICES : 0));
    for (const f of TOKEN_SUMS) w.number(this[f]);
    for (const f of COST_SUMS) w.number(this[f]);
    this.latency.writeTo(w, smallest);
    this.timeToFirstToken.writeTo(w, smallest);
    const queue = this.queuePart;
    if (queue) {
      for (const f of QUEUE_SUMS) w.number(queue[f]);
      for (const f of QUEUE_MAXIMA) w.number(queue[f]);
      queue.waitP95.writeTo(w, smallest);
    }
    const gpu = this.gpuPart;
    if (gpu) {
      for (const f of GPU_SUMS) w.number(gpu[f]);
      for (const f of GPU_MAXIMA) w.number(gpu[f]);
      w.varint(gpu.gpus.size);
      for (const [id, usage] of gpu.gpus) {
        w.string(id);
        writeGpuUsage(w, usage);
      }
    }
    const prices = this.pricesPart;
    if (prices) {
      w.varint(prices.size);
      for (const usage of prices.values()) writePriceUsage(w, usage);
    }
    return w;
  }

  static unpack(packed: Uint8Array | HeldBytes): RollupAggregate {
    const r = new ByteReader(packed, 'rollup aggregate');
    const a = new RollupAggregate();
    const parts = r.varint();
    for (const f of TOKEN_SUMS) a[f] = r.number();
    for (const f of COST_SUMS) a[f] = r.number();
    a.latency = QuantileSketch.readFrom(r);
    a.timeToFirstToken = QuantileSketch.readFrom(r);
    if (parts & PART_QUEUE) {
      const queue = a.queueToFold();
      for (const f of QUEUE_SUMS) queue[f] = r.number();
      for (const f of QUEUE_MAXIMA) queue[f] = r.number();
      queue.waitP95 = QuantileSketch.readFrom(r);
    }
    if (parts & PART_GPU) {
      const gpu = a.gpuToFold();
      for (const f of GPU_SUMS) gpu[f] = r.number();
      for (const f of GPU_MAXIMA) gpu[f] = r.number();
      for (let n = r.varint(); n > 0; n--) gpu.gpus.set(r.string(), readGpuUsage(r));
    }
    if (parts & PART_PRICES) {
      const prices = a.pricesToFold();
      for (let n = r.varint(); n > 0; n--) addPriceUsage(prices, readPriceUsage(r));
    }
    r.end();
    return a;
  }
}


export const emptyRollup = (): RollupAggregate => new RollupAggregate();

/** Below this utilization (percent) a GPU-second counts as idle. */
export const IDLE_UTILIZATION_PERCENT = 5;

/** Counts and tokens only: spend keys need no latency percentiles (two sketch inserts fewer per event). */
export function foldTokenCounts(a: TokenAggregate, e: TokenUsage): void {
  a.requests += 1;
  if (e.status === 'ok') a.successes += 1;
  else a.errors += 1;
  a.retries += e.retry_count;
  a.inputTokens += e.input_tokens;
  a.outputTokens += e.output_tokens;
  a.cachedInputTokens += e.cached_input_tokens;
  a.egressBytes += e.egress_bytes;
}

export function foldToken(a: TokenAggregate, e: TokenUsage): void {
  foldTokenCounts(a, e);
  a.latency.add(e.latency_ms);
  if (e.time_to_first_token_ms !== null) a.timeToFirstToken.add(e.time_to_first_token_ms);
}

export function foldQueue(a: QueueAggregate, e: QueueSample): void {
  a.samples += 1;
  a.depthSum += e.num_requests_waiting;
  a.depthMax = Math.max(a.depthMax, e.num_requests_waiting);
  a.runningSum += e.num_requests_running;
  a.waitCount += e.queue_wait_count;
  a.waitSumMs += e.queue_wait_ms_sum;
  if (e.queue_wait_ms_p95 !== null) a.waitP95.add(e.queue_wait_ms_p95);
  a.kvCacheSum += e.kv_cache_usage_perc;
  a.kvCacheMax = Math.max(a.kvCacheMax, e.kv_cache_usage_perc);
  a.preemptions += e.num_preemptions;
}

export function foldGpu(a: GpuAggregate, e: GpuSample): void {
  const seconds = e.sample_interval_ms / 1000;
  const saturation = e.fb_total_mib > 0 ? e.fb_used_mib / e.fb_total_mib : 0;
  a.samples += 1;
  a.gpuSeconds += seconds;
  a.utilizationSeconds += e.gpu_utilization * seconds;
  a.smActiveSeconds += (e.sm_active ?? e.gpu_utilization / 100) * seconds;
  a.memorySaturationSeconds += saturation * seconds;
  a.memorySaturationMax = Math.max(a.memorySaturationMax, saturation);
  a.dramActiveSeconds += (e.dram_active ?? 0) * seconds;
  a.energyJoules += e.power_watts * seconds;
  if (e.gpu_utilization < IDLE_UTILIZATION_PERCENT) a.idleGpuSeconds += seconds;
  a.xidErrors += e.xid_errors;
  addGpuUsage(a.gpus, e.gpu_uuid, { gpuSeconds: seconds, utilizationSeconds: e.gpu_utilization * seconds, xidErrors: Math.max(e.xid_errors, e.last_xid === null ? 0 : 1), node: e.node });
}

const NANO_SCALE = 9;
const nanosOf = (decimal: Uint8Array) => Number(convertScale(moneyFromDecimalBytes(decimal), NANO_SCALE));

/**
 * What a billing line says about its SKU's list unit price, or undefined when it says nothing: only
 * usage charges with a SKU, a positive pricing quantity and a list cost (ListCost, else
 * ListUnitPrice × PricingQuantity) do. Purchases, taxes, credits and corrections re-price
 * nothing; the list price is the same for on-demand and commitment-covered lines of a SKU, so a
 * discount coming or going is not a price change (EffectiveCost is kept for the money at stake).
 */
export function priceUsageOf(line: BillingCost, instanceType: string): PriceUsage | undefined {
  const quantity = line.PricingQuantity;
  if (line.ChargeCategory !== 'Usage' || line.ChargeClass === 'Correction' || !line.SkuId || quantity === null || !(quantity > 0)) return undefined;
  const listCostNanos = line.ListCost !== null ? nanosOf(line.ListCost) : line.ListUnitPrice !== null ? Math.round(line.ListUnitPrice * quantity * 1e9) : 0;
  if (!(listCostNanos > 0)) return undefined;
  return {
    skuId: line.SkuId,
    pricingUnit: line.PricingUnit ?? '',
    currency: line.BillingCurrency,
    instanceType,
    lines: 1,
    pricingQuantity: quantity,
    listCostNanos,
    effectiveCostNanos: nanosOf(line.EffectiveCost),
    chargePeriodStart: line.ChargePeriodStart,
    chargePeriodEnd: line.ChargePeriodEnd,
  };
}

function addGpuUsage(gpus: Map<string, GpuUsage>, id: string, add: Readonly<GpuUsage>): void {
  const usage = gpus.get(id);
  if (usage === undefined) gpus.set(id, { ...add });
  else {
    usage.gpuSeconds += add.gpuSeconds;
    usage.utilizationSeconds += add.utilizationSeconds;
    usage.xidErrors += add.xidErrors;
    if (usage.node === '') usage.node = add.node;
  }
}

function mergeTokens(into: TokenAggregate, from: TokenAggregate): void {
  for (const f of TOKEN_SUMS) into[f] += from[f];
  into.latency.merge(from.latency);
  into.timeToFirstToken.merge(from.timeToFirstToken);
}

function mergeQueue(into: QueueAggregate, from: QueueAggregate): void {
  for (const f of QUEUE_SUMS) into[f] += from[f];
  for (const f of QUEUE_MAXIMA) into[f] = Math.max(into[f], from[f]);
  into.waitP95.merge(from.waitP95);
}

function mergeGpu(into: GpuAggregate, from: GpuAggregate): void {
  for (const f of GPU_SUMS) into[f] += from[f];
  for (const f of GPU_MAXIMA) into[f] = Math.max(into[f], from[f]);
  for (const [id, usage] of from.gpus) addGpuUsage(into.gpus, id, usage);
}
