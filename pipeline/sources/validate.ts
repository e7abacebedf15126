import type { BillingCost, GpuSample, QueueSample, TokenUsage } from '../../schemas/index.js';

/** Why a decoded record is refused; each becomes a dead-letter reason with a counter. */
export type ValidationReason = 'out-of-bounds' | 'future-timestamp' | 'stale-timestamp' | 'oversized-field';

export type Validation = { ok: true } | { ok: false; reason: ValidationReason; detail: string };

export interface ValidationLimits {
  /** Event time may run ahead of the record's broker timestamp by at most this much. */
  maxFutureSkewMs: number;
  /** Event time older than this, relative to the broker timestamp, is not telemetry but archaeology. */
  maxAgeMs: number;
  maxStringLength: number;
  maxTokensPerRequest: number;
  maxLatencyMs: number;
}

export const defaultLimits: ValidationLimits = {
  maxFutureSkewMs: 3_600_000,
  maxAgeMs: 7 * 86_400_000,
  maxStringLength: 256,
  maxTokensPerRequest: 10_000_000,
  maxLatencyMs: 3_600_000,
};

const ok: Validation = { ok: true };

function checkNumber(name: string, value: number, min: number, max: number): Validation | undefined {
  if (!Number.isFinite(value) || value < min || value > max) {
    return { ok: false, reason: 'out-of-bounds', detail: `${name}=${value} is outside [${min}, ${max}]` };
  }
  return undefined;
}

/** A required string: present and at most `max` characters. */
const filled = (value: string, max: number) => value.length > 0 && value.length <= max;
/** Within [min, max]; false for NaN, as every comparison with NaN is. */
const within = (value: number, min: number, max: number) => value >= min && value <= max;

/**
 * Physical bounds of a token-usage event. The reference time is the record's broker timestamp
 * (not the clock), so a replay of old data validates the same way it did live.
 */
export function validateTokenUsage(event: TokenUsage, referenceTimeMs: number, limits: ValidationLimits = defaultLimits): Validation {
  return plausibleTokenUsage(event, referenceTimeMs, limits) ? ok : tokenUsageProblem(event, referenceTimeMs, limits);
}

/**
 * The hot path of validateTokenUsage: every bound as one chain of plain comparisons, true exactly
 * when tokenUsageProblem finds none (a property test holds them to that). It runs for every
 * request; the checks that say what is wrong run only for a record that fails it.
 */
export function plausibleTokenUsage(e: TokenUsage, referenceTimeMs: number, limits: ValidationLimits): boolean {
  const max = limits.maxStringLength;
  return (
    e.request_id.length <= max &&
    filled(e.model_name, max) &&
    filled(e.model_version, max) &&
    filled(e.region, max) &&
    filled(e.endpoint, max) &&
    filled(e.team, max) &&
    filled(e.environment, max) &&
    filled(e.operation_name, max) &&
    (e.experiment === null || e.experiment.length <= max) &&
    e.event_time <= referenceTimeMs + limits.maxFutureSkewMs &&
    e.event_time >= referenceTimeMs - limits.maxAgeMs &&
    within(e.input_tokens, 0, limits.maxTokensPerRequest) &&
    within(e.output_tokens, 0, limits.maxTokensPerRequest) &&
    within(e.cached_input_tokens, 0, e.input_tokens) &&
    within(e.latency_ms, 0, limits.maxLatencyMs) &&
    (e.time_to_first_token_ms === null || within(e.time_to_first_token_ms, 0, limits.maxLatencyMs)) &&
    within(e.retry_count, 0, 1000) &&
    within(e.egress_bytes, 0, Number.MAX_SAFE_INTEGER)
  );
}

/** The first bound a token-usage event breaks, with its detail; ok when it breaks none. */
export function tokenUsageProblem(event: TokenUsage, referenceTimeMs: number, limits: ValidationLimits): Validation {
  const fields = ['request_id', 'model_name', 'model_version', 'region', 'endpoint', 'team', 'environment', 'operation_name', 'experiment'] as const;
  const tooLong = checkStrings(event as unknown as Record<string, unknown>, fields, limits);
  if (tooLong) return tooLong;
  for (const field of fields) {
    if (field !== 'request_id' && field !== 'experiment' && event[field].length === 0) return { ok: false, reason: 'out-of-bounds', detail: `${field} is empty` };
  }
  const badTime = checkTime(event.event_time, referenceTimeMs, limits);
  if (badTime) return badTime;
  return (
    checkNumber('input_tokens', event.input_tokens, 0, limits.maxTokensPerRequest) ??
    checkNumber('output_tokens', event.output_tokens, 0, limits.maxTokensPerRequest) ??
    checkNumber('cached_input_tokens', event.cached_input_tokens, 0, event.input_tokens) ??
    checkNumber('latency_ms', event.latency_ms, 0, limits.maxLatencyMs) ??
    (event.time_to_first_token_ms === null ? undefined : checkNumber('time_to_first_token_ms', event.time_to_first_token_ms, 0, limits.maxLatencyMs)) ??
    checkNumber('retry_count', event.retry_count, 0, 1000) ??
    checkNumber('egress_bytes', event.egress_bytes, 0, Number.MAX_SAFE_INTEGER) ??
    ok
  );
}

function checkTime(eventTime: number, referenceTimeMs: number, limits: ValidationLimits): Validation | undefined {
  if (eventTime > referenceTimeMs + limits.maxFutureSkewMs) {
    return { ok: false, reason: 'future-timestamp', detail: `event_time ${new Date(eventTime).toISOString()} is ${Math.round((eventTime - referenceTimeMs) / 1000)}s ahead of the broker timestamp` };
  }
  if (eventTime < referenceTimeMs - limits.maxAgeMs) {
    return { ok: false, reason: 'stale-timestamp', detail: `event_time ${new Date(eventTime).toISOString()} is more than ${limits.maxAgeMs / 86_400_000} days before the broker timestamp` };
  }
  return undefined;
}

function checkStrings(event: Record<string, unknown>, fields: readonly string[], limits: ValidationLimits): Validation | undefined {
  for (const field of fields) {
    const value = event[field];
    if (typeof value === 'string' && value.length > limits.maxStringLength) return { ok: false, reason: 'oversized-field', detail: `${field} is ${value.length} characters, more than ${limits.maxStringLength}` };
  }
  return undefined;
}

/** Physical bounds of a DCGM sample (see schemas/avro/gpu-sample.avsc for each field's range). */
export function validateGpuSample(e: GpuSample, referenceTimeMs: number, limits: ValidationLimits = defaultLimits): Validation {
  return (
    checkStrings(e as unknown as Record<string, unknown>, ['cluster', 'node', 'gpu_uuid', 'gpu_model', 'resource_id', 'provider', 'region', 'instance_type', 'model_name', 'model_version', 'endpoint', 'team', 'experiment', 'environment'], limits) ??
    checkTime(e.event_time, referenceTimeMs, limits) ??
    checkNumber('sample_interval_ms', e.sample_interval_ms, 1, 3_600_000) ??
    checkNumber('gpu_utilization', e.gpu_utilization, 0, 100) ??
    (e.sm_active === null ? undefined : checkNumber('sm_active', e.sm_active, 0, 1)) ??
    (e.dram_active === null ? undefined : checkNumber('dram_active', e.dram_active, 0, 1)) ??
    checkNumber('fb_total_mib', e.fb_total_mib, 0, 1_048_576) ??
    checkNumber('fb_used_mib', e.fb_used_mib, 0, e.fb_total_mib) ??
    checkNumber('power_watts', e.power_watts, 0, 5_000) ??
    checkNumber('temperature_c', e.temperature_c, -40, 150) ??
    checkNumber('xid_errors', e.xid_errors, 0, 1_000_000) ??
    (e.resource_id === '' ? { ok: false, reason: 'out-of-bounds', detail: 'resource_id is empty' } : undefined) ??
    ok
  );
}

/** Bounds of a queue sample. */
export function validateQueueSample(e: QueueSample, referenceTimeMs: number, limits: ValidationLimits = defaultLimits): Validation {
  return (
    checkStrings(e as unknown as Record<string, unknown>, ['endpoint', 'replica', 'model_name', 'model_version', 'region', 'node', 'resource_id', 'team', 'environment'], limits) ??
    checkTime(e.event_time, referenceTimeMs, limits) ??
    checkNumber('sample_interval_ms', e.sample_interval_ms, 1, 3_600_000) ??
    checkNumber('num_requests_waiting', e.num_requests_waiting, 0, 10_000_000) ??
    checkNumber('num_requests_running', e.num_requests_running, 0, 10_000_000) ??
    checkNumber('queue_wait_count', e.queue_wait_count, 0, Number.MAX_SAFE_INTEGER) ??
    checkNumber('queue_wait_ms_sum', e.queue_wait_ms_sum, 0, Number.MAX_VALUE) ??
    (e.queue_wait_ms_p95 === null ? undefined : checkNumber('queue_wait_ms_p95', e.queue_wait_ms_p95, 0, limits.maxLatencyMs)) ??
    checkNumber('kv_cache_usage_perc', e.kv_cache_usage_perc, 0, 1) ??
    checkNumber('num_preemptions', e.num_preemptions, 0, Number.MAX_SAFE_INTEGER) ??
    ok
  );
}

/**
 * A billing line: a charge period that ends after it starts, and a known currency. Money itself
 * was checked exactly when it was imported (pipeline/importers/focus); negative amounts are
 * credits and stay. Billing is late by nature: only the future is refused here.
 */
export function validateBillingLine(e: BillingCost, referenceTimeMs: number, limits: ValidationLimits = defaultLimits): Validation {
  if (e.ChargePeriodEnd < e.ChargePeriodStart) return { ok: false, reason: 'out-of-bounds', detail: `ChargePeriodEnd ${new Date(e.ChargePeriodEnd).toISOString()} is before ChargePeriodStart ${new Date(e.ChargePeriodStart).toISOString()}` };
  if (e.ChargePeriodStart > referenceTimeMs + limits.maxFutureSkewMs) return { ok: false, reason: 'future-timestamp', detail: `ChargePeriodStart ${new Date(e.ChargePeriodStart).toISOString()} is in the future` };
  if (!/^[A-Z]{3}$/.test(e.BillingCurrency)) return { ok: false, reason: 'out-of-bounds', detail: `BillingCurrency "${e.BillingCurrency}" is not an ISO 4217 code` };
  return checkStrings(e as unknown as Record<string, unknown>, ['ProviderName', 'ResourceId', 'RegionId', 'SkuId', 'ServiceName'], limits) ?? ok;
}
