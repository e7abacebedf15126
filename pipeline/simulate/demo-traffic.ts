import type { TokenUsage } from '../../schemas/index.js';
import { Random } from './random.js';

/** One model version serving in one region, with its latency profile. */
export interface ServingKey {
  model: string;
  version: string;
  region: string;
  endpoint: string;
  team: string;
  /** Median time to first token and per output token, in ms. */
  ttftMs: number;
  perTokenMs: number;
}

/** A latency regression: from `startMinute` on, the key's per-token time is multiplied by `factor`. */
export interface LatencyRegression {
  model: string;
  version: string;
  region: string;
  startMinute: number;
  factor: number;
}

export const demoFleet: ServingKey[] = [
  { model: 'llama-3.1-70b', version: 'v1', region: 'us-east-1', endpoint: 'chat-prod', team: 'assistant', ttftMs: 220, perTokenMs: 18 },
  { model: 'llama-3.1-70b', version: 'v1', region: 'eu-west-1', endpoint: 'chat-prod', team: 'assistant', ttftMs: 240, perTokenMs: 19 },
  { model: 'llama-3.1-70b', version: 'v2', region: 'us-east-1', endpoint: 'chat-canary', team: 'assistant', ttftMs: 210, perTokenMs: 17 },
  { model: 'llama-3.1-70b', version: 'v2', region: 'eu-west-1', endpoint: 'chat-canary', team: 'assistant', ttftMs: 230, perTokenMs: 18 },
  { model: 'mistral-7b', version: 'v3', region: 'us-east-1', endpoint: 'summarize', team: 'search', ttftMs: 90, perTokenMs: 7 },
];

export const demoRegression: LatencyRegression = { model: 'llama-3.1-70b', version: 'v2', region: 'eu-west-1', startMinute: 24, factor: 2.5 };

/**
 * The requests one key serves in one simulated minute: arrivals spread over the minute, token
 * counts and latency drawn from realistic shapes (log-normal), latency following the output length.
 */
export function minuteOfTraffic(key: ServingKey, minuteStartMs: number, minuteIndex: number, requests: number, random: Random, regression?: LatencyRegression): TokenUsage[] {
  const regressed = regression && regression.model === key.model && regression.version === key.version && regression.region === key.region && minuteIndex >= regression.startMinute;
  const perToken = key.perTokenMs * (regressed ? regression.factor : 1);
  const events: TokenUsage[] = [];
  for (let i = 0; i < requests; i++) {
    const input = Math.round(random.logNormal(900, 0.6));
    const output = Math.max(1, Math.round(random.logNormal(180, 0.5)));
    const ttft = random.logNormal(key.ttftMs, 0.25);
    const latency = ttft + output * random.logNormal(perToken, 0.1);
    const failed = random.next() < 0.01;
    events.push({
      event_time: minuteStartMs + Math.floor(((i + random.next()) / requests) * 60_000),
      request_id: `${key.endpoint}-${minuteStartMs}-${key.version}-${key.region}-${i}`,
      model_name: key.model,
      model_version: key.version,
      response_model: null,
      operation_name: 'chat',
      region: key.region,
      endpoint: key.endpoint,
      team: key.team,
      experiment: null,
      environment: 'prod',
      input_tokens: input,
      output_tokens: failed ? 0 : output,
      cached_input_tokens: Math.round(input * 0.3),
      latency_ms: Math.round(latency * 10) / 10,
      time_to_first_token_ms: Math.round(ttft * 10) / 10,
      status: failed ? 'error' : 'ok',
      retry_count: failed ? 1 : 0,
      egress_bytes: output * 4,
      cache_creation_input_tokens: null,
      provider_name: null,
    });
  }
  return events;
}
