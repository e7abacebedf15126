import type { Alert, PlaybookAction } from '../../schemas/index.js';
import type { MergedRollup } from '../../pipeline/core/stage-two.js';
import type { UsageRow } from '../../pipeline/core/stage-one.js';
import { formatMoney, type MoneyUnits } from '../../pipeline/core/money.js';
import { DecimalText } from './json.js';

/** Rows as JSONEachRow wants them: DateTime as epoch seconds (works on 18.16 and current releases). */
const seconds = (ms: number) => Math.floor(ms / 1000);

/** Rollup money is kept in integer nano-units on the hot path; the tables hold exact decimals. */
const NANOS_TO_UNITS = 1000n;
export const nanosToMoney = (nanos: number): MoneyUnits => BigInt(Math.round(nanos)) * NANOS_TO_UNITS;
export const money = (units: MoneyUnits) => new DecimalText(formatMoney(units));

const ratio = (numerator: number, denominator: number) => (denominator > 0 ? numerator / denominator : 0);

function spendColumns(r: MergedRollup): Record<string, unknown> {
  const { gpu, cost, tokens } = r.aggregate;
  return {
    gpu_count: gpu.gpus.size,
    gpu_seconds: gpu.gpuSeconds,
    idle_gpu_seconds: gpu.idleGpuSeconds,
    gpu_utilization_mean: ratio(gpu.utilizationSeconds, gpu.gpuSeconds),
    requests: tokens.requests,
    output_tokens: tokens.outputTokens,
    estimated_cost: money(nanosToMoney(cost.estimatedNanos)),
    egress_cost: money(nanosToMoney(cost.egressNanos)),
  };
}

/** One row of model_rollup_1m / _1h, with the derived metrics Grafana reads directly. */
export function modelRollupRow(r: MergedRollup): Record<string, unknown> {
  const { tokens, queue, gpu, cost } = r.aggregate;
  const windowSeconds = (r.windowEnd - r.windowStart) / 1000;
  const dollars = (cost.estimatedNanos + cost.egressNanos) / 1e9;
  const allTokens = tokens.inputTokens + tokens.outputTokens;
  return {
    window_start: seconds(r.windowStart),
    window_end: seconds(r.windowEnd),
    model_name: r.key.dimensions.model_name,
    model_version: r.key.dimensions.model_version,
    region: r.key.dimensions.region,
    requests: tokens.requests,
    successes: tokens.successes,
    errors: tokens.errors,
    retries: tokens.retries,
    success_rate: ratio(tokens.successes, tokens.requests),
    retry_rate: ratio(tokens.retries, tokens.requests),
    input_tokens: tokens.inputTokens,
    output_tokens: tokens.outputTokens,
    cached_input_tokens: tokens.cachedInputTokens,
    egress_bytes: tokens.egressBytes,
    tokens_per_second: tokens.outputTokens / windowSeconds,
    latency_p50_ms: tokens.latency.quantile(0.5),
    latency_p95_ms: tokens.latency.quantile(0.95),
    latency_p99_ms: tokens.latency.quantile(0.99),
    ttft_p95_ms: tokens.timeToFirstToken.quantile(0.95),
    queue_samples: queue.samples,
    queue_depth_mean: ratio(queue.depthSum, queue.samples),
    queue_depth_max: queue.depthMax,
    queue_running_mean: ratio(queue.runningSum, queue.samples),
    queue_wait_mean_ms: ratio(queue.waitSumMs, queue.waitCount),
    queue_wait_p95_ms: queue.waitP95.quantile(0.95),
    kv_cache_mean: ratio(queue.kvCacheSum, queue.samples),
    kv_cache_max: queue.kvCacheMax,
    preemptions: queue.preemptions,
    gpu_count: gpu.gpus.size,
    gpu_seconds: gpu.gpuSeconds,
    idle_gpu_seconds: gpu.idleGpuSeconds,
    gpu_utilization_mean: ratio(gpu.utilizationSeconds, gpu.gpuSeconds),
    sm_active_mean: ratio(gpu.smActiveSeconds, gpu.gpuSeconds),
    memory_saturation_mean: ratio(gpu.memorySaturationSeconds, gpu.gpuSeconds),
    memory_saturation_max: gpu.memorySaturationMax,
    dram_active_mean: ratio(gpu.dramActiveSeconds, gpu.gpuSeconds),
    power_watts_mean: ratio(gpu.energyJoules, gpu.gpuSeconds),
    xid_errors: gpu.xidErrors,
    estimated_cost: money(nanosToMoney(cost.estimatedNanos)),
    egress_cost: money(nanosToMoney(cost.egressNanos)),
    cost_per_1k_tokens: ratio(dollars, allTokens / 1000),
    tokens_per_dollar: ratio(allTokens, dollars),
    cost_per_successful_request: ratio(dollars, tokens.successes),
    tokens_per_second_per_gpu: ratio(tokens.outputTokens, gpu.gpuSeconds),
    latency_sketch: Buffer.from(tokens.latency.toBytes()).toString('base64'),
    version: r.version,
  };
}

export function ownerSpendRow(r: MergedRollup): Record<string, unknown> {
  return {
    window_start: seconds(r.windowStart),
    window_end: seconds(r.windowEnd),
    team: r.key.dimensions.team,
    experiment: r.key.dimensions.experiment,
    environment: r.key.dimensions.environment,
    ...spendColumns(r),
    version: r.version,
  };
}

export function providerSpendRow(r: MergedRollup): Record<string, unknown> {
  return {
    window_start: seconds(r.windowStart),
    window_end: seconds(r.windowEnd),
    provider: r.key.dimensions.provider,
    region: r.key.dimensions.region,
    ...spendColumns(r),
    version: r.version,
  };
}

export function usageRow(u: UsageRow): Record<string, unknown> {
  return {
    window_start: seconds(u.windowStart),
    resource_id: u.resourceId,
    instance_type: u.instanceType,
    provider: u.provider,
    region: u.region,
    model_name: u.modelName,
    model_version: u.modelVersion,
    team: u.team,
    experiment: u.experiment,
    environment: u.environment,
    gpu_seconds: u.gpuSeconds,
    estimated_cost: money(nanosToMoney(u.estimatedNanos)),
    version: u.version,
  };
}

export function alertRow(a: Alert): Record<string, unknown> {
  const names = Object.keys(a.dimensions).sort();
  return {
    alert_id: a.alert_id,
    sequence: a.sequence,
    rule: a.rule,
    severity: a.severity,
    status: a.status,
    key: a.key,
    dimension_names: names,
    dimension_values: names.map((n) => a.dimensions[n]!),
    window_start: seconds(a.window_start),
    window_end: seconds(a.window_end),
    episode_start: seconds(a.episode_start),
    metric: a.metric,
    observed: a.observed,
    baseline: a.baseline,
    score: a.score,
    evidence: a.evidence,
  };
}

export function actionRow(a: PlaybookAction): Record<string, unknown> {
  const targetNames = Object.keys(a.target).sort();
  const parameterNames = Object.keys(a.parameters).sort();
  return {
    action_id: a.action_id,
    alert_id: a.alert_id,
    rule: a.rule,
    playbook: a.playbook,
    playbook_rule: a.playbook_rule,
    action: a.action,
    status: a.status,
    target_key: a.target_key,
    target_names: targetNames,
    target_values: targetNames.map((n) => a.target[n]!),
    parameter_names: parameterNames,
    parameter_values: parameterNames.map((n) => a.parameters[n]!),
    dry_run: a.dry_run ? 1 : 0,
    requires_approval: a.requires_approval ? 1 : 0,
    reason: a.reason,
    window_start: seconds(a.window_start),
    window_end: seconds(a.window_end),
  };
}
