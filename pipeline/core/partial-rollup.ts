import type { PartialRollup, UnitPriceUsage } from '../../schemas/index.js';
import { addPriceUsage, emptyRollup, readGpuUsage, RollupAggregate, writeGpuUsage, type GpuAggregate, type GpuUsage, type GpuView, type PriceUsage, type QueueAggregate } from './aggregates.js';
import { ByteReader, ByteWriter } from './compact-bytes.js';
import { QuantileSketch } from './quantile-sketch.js';
import { DIMENSIONS, type RollupKey } from './rollup-key.js';

const sketchBytes = (sketch: QuantileSketch) => Buffer.from(sketch.toBytes());

/** Layout version of gpu_usage: another layout needs another version, and readers refuse what they do not know. */
const GPU_USAGE_VERSION = 1;
const NO_GPU_USAGE = Buffer.alloc(0);

/**
 * The `gpus` and `gpu_usage` fields: GPU ids sorted (as they always were, so older readers keep
 * their GPU count), and in gpu_usage the version, then for each GPU in the same order its
 * seconds and utilization-seconds (exact, see ByteWriter.number), XID errors and node.
 */
function gpuFields(gpu: GpuView): { gpus: string[]; gpu_usage: Buffer } {
  if (gpu.gpus.size === 0) return { gpus: [], gpu_usage: NO_GPU_USAGE };
  const ids = [...gpu.gpus.keys()].sort();
  const w = new ByteWriter(4 + ids.length * 48);
  w.varint(GPU_USAGE_VERSION);
  for (const id of ids) writeGpuUsage(w, gpu.gpus.get(id)!);
  return { gpus: ids, gpu_usage: w.finish() };
}

/** Reads gpuFields back; a partial from a writer before gpu_usage gives its GPUs no seconds of their own (readers fall back to the pool's mean). */
function gpusOf(p: PartialRollup): Map<string, GpuUsage> {
  const gpus = new Map<string, GpuUsage>();
  if (p.gpu_usage.length === 0) {
    for (const id of p.gpus) gpus.set(id, { gpuSeconds: 0, utilizationSeconds: 0, xidErrors: 0, node: '' });
    return gpus;
  }
  const r = new ByteReader(p.gpu_usage, 'partial rollup gpu_usage');
  const version = r.varint();
  if (version !== GPU_USAGE_VERSION) throw new Error(`partial rollup gpu_usage has layout version ${version}, this costline reads version ${GPU_USAGE_VERSION}: upgrade this instance to the version of the stage-1 instances that wrote it`);
  for (const id of p.gpus) gpus.set(id, readGpuUsage(r));
  r.end();
  return gpus;
}

/** The unit_prices field: one record per SKU, in id order (the same bytes for the same window on every replay). */
function unitPriceFields(prices: ReadonlyMap<string, Readonly<PriceUsage>>): UnitPriceUsage[] {
  return [...prices.keys()].sort().map((id) => {
    const u = prices.get(id)!;
    return {
      sku_id: u.skuId,
      pricing_unit: u.pricingUnit,
      currency: u.currency,
      instance_type: u.instanceType,
      lines: u.lines,
      pricing_quantity: u.pricingQuantity,
      list_cost_nanos: u.listCostNanos,
      effective_cost_nanos: u.effectiveCostNanos,
      charge_period_start: u.chargePeriodStart,
      charge_period_end: u.chargePeriodEnd,
    };
  });
}

export function watermarkRecord(task: number, watermark: number, idle: boolean): PartialRollup {
  return { ...toPartialRollup(task, watermark, { kind: 'model', dimensions: {} }, 0, 0, 0, emptyRollup()), kind: 'watermark', rollup_kind: '', dimension_names: [], idle };
}

/** A stage-1 window as the record stage 2 receives. */
export function toPartialRollup(task: number, watermark: number, key: RollupKey, windowStart: number, windowEnd: number, version: number, a: RollupAggregate): PartialRollup {
  const names = DIMENSIONS[key.kind];
  return {
    kind: 'partial',
    task,
    watermark: Number.isFinite(watermark) ? watermark : -1,
    idle: false,
    rollup_kind: key.kind,
    dimension_names: [...names],
    dimension_values: names.map((n) => key.dimensions[n] ?? ''),
    window_start: windowStart,
    window_end: windowEnd,
    version,
    requests: a.tokens.requests,
    successes: a.tokens.successes,
    errors: a.tokens.errors,
    retries: a.tokens.retries,
    input_tokens: a.tokens.inputTokens,
    output_tokens: a.tokens.outputTokens,
    cached_input_tokens: a.tokens.cachedInputTokens,
    egress_bytes: a.tokens.egressBytes,
    latency_sketch: sketchBytes(a.tokens.latency),
    ttft_sketch: sketchBytes(a.tokens.timeToFirstToken),
    queue_samples: a.queue.samples,
    queue_depth_sum: a.queue.depthSum,
    queue_depth_max: a.queue.depthMax,
    queue_running_sum: a.queue.runningSum,
    queue_wait_count: a.queue.waitCount,
    queue_wait_sum_ms: a.queue.waitSumMs,
    queue_wait_p95_sketch: sketchBytes(a.queue.waitP95),
    kv_cache_sum: a.queue.kvCacheSum,
    kv_cache_max: a.queue.kvCacheMax,
    preemptions: a.queue.preemptions,
    gpu_samples: a.gpu.samples,
    gpu_seconds: a.gpu.gpuSeconds,
    utilization_seconds: a.gpu.utilizationSeconds,
    sm_active_seconds: a.gpu.smActiveSeconds,
    memory_saturation_seconds: a.gpu.memorySaturationSeconds,
    memory_saturation_max: a.gpu.memorySaturationMax,
    dram_active_seconds: a.gpu.dramActiveSeconds,
    energy_joules: a.gpu.energyJoules,
    idle_gpu_seconds: a.gpu.idleGpuSeconds,
    xid_errors: a.gpu.xidErrors,
    ...gpuFields(a.gpu),
    estimated_cost_nanos: a.cost.estimatedNanos,
    egress_cost_nanos: a.cost.egressNanos,
    unit_prices: unitPriceFields(a.prices),
  };
}

/** The aggregate a partial carries. A part exists once a sample was folded in (every fold counts one), so zero samples means no part. */
export function fromPartialRollup(p: PartialRollup): RollupAggregate {
  const a = new RollupAggregate();
  a.requests = p.requests;
  a.successes = p.successes;
  a.errors = p.errors;
  a.retries = p.retries;
  a.inputTokens = p.input_tokens;
  a.outputTokens = p.output_tokens;
  a.cachedInputTokens = p.cached_input_tokens;
  a.egressBytes = p.egress_bytes;
  a.latency = QuantileSketch.fromBytes(p.latency_sketch);
  a.timeToFirstToken = QuantileSketch.fromBytes(p.ttft_sketch);
  a.estimatedNanos = p.estimated_cost_nanos;
  a.egressNanos = p.egress_cost_nanos;
  if (p.queue_samples > 0) {
    Object.assign(a.queueToFold(), {
      samples: p.queue_samples,
      depthSum: p.queue_depth_sum,
      depthMax: p.queue_depth_max,
      runningSum: p.queue_running_sum,
      waitCount: p.queue_wait_count,
      waitSumMs: p.queue_wait_sum_ms,
      waitP95: QuantileSketch.fromBytes(p.queue_wait_p95_sketch),
      kvCacheSum: p.kv_cache_sum,
      kvCacheMax: p.kv_cache_max,
      preemptions: p.preemptions,
    } satisfies QueueAggregate);
  }
  if (p.gpu_samples > 0) {
    Object.assign(a.gpuToFold(), {
      samples: p.gpu_samples,
      gpuSeconds: p.gpu_seconds,
      utilizationSeconds: p.utilization_seconds,
      smActiveSeconds: p.sm_active_seconds,
      memorySaturationSeconds: p.memory_saturation_seconds,
      memorySaturationMax: p.memory_saturation_max,
      dramActiveSeconds: p.dram_active_seconds,
      energyJoules: p.energy_joules,
      idleGpuSeconds: p.idle_gpu_seconds,
      xidErrors: p.xid_errors,
      gpus: gpusOf(p),
    } satisfies GpuAggregate);
  }
  for (const u of p.unit_prices) {
    addPriceUsage(a.pricesToFold(), {
      skuId: u.sku_id,
      pricingUnit: u.pricing_unit,
      currency: u.currency,
      instanceType: u.instance_type,
      lines: u.lines,
      pricingQuantity: u.pricing_quantity,
      listCostNanos: u.list_cost_nanos,
      effectiveCostNanos: u.effective_cost_nanos,
      chargePeriodStart: u.charge_period_start,
      chargePeriodEnd: u.charge_period_end,
    });
  }
  return a;
}
