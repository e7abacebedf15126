import type { GpuSample, QueueSample, TokenUsage } from '../../schemas/index.js';
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
  gpus: Set<string>;
}

export interface CostAggregate {
  /** GPU-seconds × rate card, in nano-units. */
  estimatedNanos: number;
  /** Egress bytes × egress rate, in nano-units. */
  egressNanos: number;
}

/** One window of one key, any kind: spend keys simply leave the queue part empty. */
export interface RollupAggregate {
  tokens: TokenAggregate;
  queue: QueueAggregate;
  gpu: GpuAggregate;
  cost: CostAggregate;
}

export const emptyTokens = (): TokenAggregate => ({
  requests: 0,
  successes: 0,
  errors: 0,
  retries: 0,
  inputTokens: 0,
  outputTokens: 0,
  cachedInputTokens: 0,
  egressBytes: 0,
  latency: QuantileSketch.empty(),
  timeToFirstToken: QuantileSketch.empty(),
});

export const emptyQueue = (): QueueAggregate => ({ samples: 0, depthSum: 0, depthMax: 0, runningSum: 0, waitCount: 0, waitSumMs: 0, waitP95: QuantileSketch.empty(), kvCacheSum: 0, kvCacheMax: 0, preemptions: 0 });

export const emptyGpu = (): GpuAggregate => ({
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
  gpus: new Set(),
});

export const emptyCost = (): CostAggregate => ({ estimatedNanos: 0, egressNanos: 0 });
export const emptyRollup = (): RollupAggregate => ({ tokens: emptyTokens(), queue: emptyQueue(), gpu: emptyGpu(), cost: emptyCost() });

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
  a.gpus.add(e.gpu_uuid);
}

export function mergeTokens(into: TokenAggregate, from: TokenAggregate): void {
  into.requests += from.requests;
  into.successes += from.successes;
  into.errors += from.errors;
  into.retries += from.retries;
  into.inputTokens += from.inputTokens;
  into.outputTokens += from.outputTokens;
  into.cachedInputTokens += from.cachedInputTokens;
  into.egressBytes += from.egressBytes;
  into.latency.merge(from.latency);
  into.timeToFirstToken.merge(from.timeToFirstToken);
}

export function mergeQueue(into: QueueAggregate, from: QueueAggregate): void {
  into.samples += from.samples;
  into.depthSum += from.depthSum;
  into.depthMax = Math.max(into.depthMax, from.depthMax);
  into.runningSum += from.runningSum;
  into.waitCount += from.waitCount;
  into.waitSumMs += from.waitSumMs;
  into.waitP95.merge(from.waitP95);
  into.kvCacheSum += from.kvCacheSum;
  into.kvCacheMax = Math.max(into.kvCacheMax, from.kvCacheMax);
  into.preemptions += from.preemptions;
}

export function mergeGpu(into: GpuAggregate, from: GpuAggregate): void {
  into.samples += from.samples;
  into.gpuSeconds += from.gpuSeconds;
  into.utilizationSeconds += from.utilizationSeconds;
  into.smActiveSeconds += from.smActiveSeconds;
  into.memorySaturationSeconds += from.memorySaturationSeconds;
  into.memorySaturationMax = Math.max(into.memorySaturationMax, from.memorySaturationMax);
  into.dramActiveSeconds += from.dramActiveSeconds;
  into.energyJoules += from.energyJoules;
  into.idleGpuSeconds += from.idleGpuSeconds;
  into.xidErrors += from.xidErrors;
  for (const id of from.gpus) into.gpus.add(id);
}

export function mergeCost(into: CostAggregate, from: CostAggregate): void {
  into.estimatedNanos += from.estimatedNanos;
  into.egressNanos += from.egressNanos;
}

export function mergeRollup(into: RollupAggregate, from: RollupAggregate): void {
  mergeTokens(into.tokens, from.tokens);
  mergeQueue(into.queue, from.queue);
  mergeGpu(into.gpu, from.gpu);
  mergeCost(into.cost, from.cost);
}
