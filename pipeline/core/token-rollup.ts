import type { TokenUsage } from '../../schemas/index.js';
import { modelKey, modelKeyId, type ModelKey } from './keys.js';
import { QuantileSketch } from './quantile-sketch.js';
import type { WindowEmission } from './window-store.js';

/** What one window of token usage accumulates for one model key. Counts are integers: sums stay exact. */
export interface TokenAggregate {
  requests: number;
  successes: number;
  errors: number;
  retries: number;
  inputTokens: number;
  outputTokens: number;
  cachedInputTokens: number;
  egressBytes: number;
  /** Sum of request latencies, for throughput (tokens per second of request time). */
  latencySumMs: number;
  latency: QuantileSketch;
  timeToFirstToken: QuantileSketch;
}

export function emptyTokenAggregate(): TokenAggregate {
  return {
    requests: 0,
    successes: 0,
    errors: 0,
    retries: 0,
    inputTokens: 0,
    outputTokens: 0,
    cachedInputTokens: 0,
    egressBytes: 0,
    latencySumMs: 0,
    latency: QuantileSketch.empty(),
    timeToFirstToken: QuantileSketch.empty(),
  };
}

export function tokenKeyOf(event: TokenUsage): ModelKey {
  return modelKey(event.model_name, event.model_version, event.region);
}

export function foldTokenUsage(aggregate: TokenAggregate, event: TokenUsage): void {
  aggregate.requests += 1;
  if (event.status === 'ok') aggregate.successes += 1;
  else aggregate.errors += 1;
  aggregate.retries += event.retry_count;
  aggregate.inputTokens += event.input_tokens;
  aggregate.outputTokens += event.output_tokens;
  aggregate.cachedInputTokens += event.cached_input_tokens;
  aggregate.egressBytes += event.egress_bytes;
  aggregate.latencySumMs += event.latency_ms;
  aggregate.latency.add(event.latency_ms);
  if (event.time_to_first_token_ms !== null) aggregate.timeToFirstToken.add(event.time_to_first_token_ms);
}

/** One row of the one-minute token rollup: what ClickHouse stores and detectors read. */
export interface TokenRollup {
  key: ModelKey;
  keyId: string;
  windowStart: number;
  windowEnd: number;
  requests: number;
  successes: number;
  errors: number;
  retries: number;
  inputTokens: number;
  outputTokens: number;
  cachedInputTokens: number;
  egressBytes: number;
  /** Output tokens per second of wall-clock window. */
  tokensPerSecond: number;
  latencyP50Ms: number;
  latencyP95Ms: number;
  latencyP99Ms: number;
  ttftP95Ms: number;
  /** The serialized latency sketch, so hourly percentiles are merged, not averaged. */
  latencySketch: Uint8Array;
  /** Grows with every event folded in: a re-emitted window replaces the older row. */
  version: number;
  onTime: boolean;
}

export function toTokenRollup(emission: WindowEmission<ModelKey, TokenAggregate>): TokenRollup {
  const a = emission.aggregate;
  return {
    key: emission.key,
    keyId: emission.keyId,
    windowStart: emission.windowStart,
    windowEnd: emission.windowEnd,
    requests: a.requests,
    successes: a.successes,
    errors: a.errors,
    retries: a.retries,
    inputTokens: a.inputTokens,
    outputTokens: a.outputTokens,
    cachedInputTokens: a.cachedInputTokens,
    egressBytes: a.egressBytes,
    tokensPerSecond: a.outputTokens / ((emission.windowEnd - emission.windowStart) / 1000),
    latencyP50Ms: a.latency.quantile(0.5),
    latencyP95Ms: a.latency.quantile(0.95),
    latencyP99Ms: a.latency.quantile(0.99),
    ttftP95Ms: a.timeToFirstToken.quantile(0.95),
    latencySketch: a.latency.toBytes(),
    version: emission.eventCount,
    onTime: emission.onTime,
  };
}

export { modelKeyId };
