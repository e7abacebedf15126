import type { Alert } from '../../schemas/index.js';
import type { TokenRollup } from '../../pipeline/core/token-rollup.js';

/** Rows as JSONEachRow wants them: DateTime as epoch seconds (works on 18.16 and current releases). */
const seconds = (ms: number) => Math.floor(ms / 1000);

export function tokenRollupRow(r: TokenRollup): Record<string, unknown> {
  return {
    window_start: seconds(r.windowStart),
    window_end: seconds(r.windowEnd),
    model_name: r.key.modelName,
    model_version: r.key.modelVersion,
    region: r.key.region,
    requests: r.requests,
    successes: r.successes,
    errors: r.errors,
    retries: r.retries,
    input_tokens: r.inputTokens,
    output_tokens: r.outputTokens,
    cached_input_tokens: r.cachedInputTokens,
    egress_bytes: r.egressBytes,
    tokens_per_second: r.tokensPerSecond,
    latency_p50_ms: r.latencyP50Ms,
    latency_p95_ms: r.latencyP95Ms,
    latency_p99_ms: r.latencyP99Ms,
    ttft_p95_ms: r.ttftP95Ms,
    latency_sketch: Buffer.from(r.latencySketch).toString('base64'),
    version: r.version,
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
