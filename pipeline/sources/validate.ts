import type { TokenUsage } from '../../schemas/index.js';

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

/**
 * Physical bounds of a token-usage event. The reference time is the record's broker timestamp
 * (not the clock), so a replay of old data validates the same way it did live.
 */
export function validateTokenUsage(event: TokenUsage, referenceTimeMs: number, limits: ValidationLimits = defaultLimits): Validation {
  for (const field of ['request_id', 'model_name', 'model_version', 'region', 'endpoint', 'team', 'environment', 'operation_name'] as const) {
    const value = event[field];
    if (value.length > limits.maxStringLength) return { ok: false, reason: 'oversized-field', detail: `${field} is ${value.length} characters, more than ${limits.maxStringLength}` };
    if (value.length === 0 && field !== 'request_id') return { ok: false, reason: 'out-of-bounds', detail: `${field} is empty` };
  }
  if (event.experiment !== null && event.experiment.length > limits.maxStringLength) {
    return { ok: false, reason: 'oversized-field', detail: `experiment is ${event.experiment.length} characters, more than ${limits.maxStringLength}` };
  }
  if (event.event_time > referenceTimeMs + limits.maxFutureSkewMs) {
    return { ok: false, reason: 'future-timestamp', detail: `event_time ${new Date(event.event_time).toISOString()} is ${Math.round((event.event_time - referenceTimeMs) / 1000)}s ahead of the broker timestamp` };
  }
  if (event.event_time < referenceTimeMs - limits.maxAgeMs) {
    return { ok: false, reason: 'stale-timestamp', detail: `event_time ${new Date(event.event_time).toISOString()} is more than ${limits.maxAgeMs / 86_400_000} days before the broker timestamp` };
  }
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
