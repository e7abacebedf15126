import type { PartialRollup } from '../../schemas/index.js';
import { emptyRollup, RollupAggregate, type GpuAggregate, type QueueAggregate } from './aggregates.js';
import { QuantileSketch } from './quantile-sketch.js';
import { DIMENSIONS, type RollupKey, type RollupKind } from './rollup-key.js';

const sketchBytes = (sketch: QuantileSketch) => Buffer.from(sketch.toBytes());

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
    gpus: [...a.gpu.gpus].sort(),
    estimated_cost_nanos: a.cost.estimatedNanos,
    egress_cost_nanos: a.cost.egressNanos,
  };
}

export function partialKey(p: PartialRollup): RollupKey {
  const dimensions: Record<string, string> = {};
  p.dimension_names.forEach((name, i) => {
    dimensions[name] = p.dimension_values[i] ?? '';
  });
  return { kind: p.rollup_kind as RollupKind, dimensions };
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
      gpus: new Set(p.gpus),
    } satisfies GpuAggregate);
  }
  return a;
}
