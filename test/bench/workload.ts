import type { TokenUsage } from '../../schemas/index.js';
import type { Random } from '../../pipeline/simulate/random.js';

const MIN = 60_000;

/** The shape of the benches' token traffic. */
export interface Workload {
  /** Events over the 10 minutes of event time. */
  events: number;
  /** Model keys (model name, version, region) the events spread over evenly. */
  keys: number;
  /** Endpoints serving each model key: a deployment serves one model version in one region. */
  endpointsPerKey: number;
}

/** Token event `i` of the benches' workload: 10 minutes of event time from `start`, keys in turn. */
export function syntheticEvent(i: number, start: number, random: Random, workload: Workload): TokenUsage {
  const key = i % workload.keys;
  return {
    event_time: start + Math.floor((i / workload.events) * 10 * MIN),
    request_id: `r${i}`,
    model_name: `model-${key % 50}`,
    model_version: `v${key % 7}`,
    region: `region-${Math.floor(key / 50) % 10}`,
    response_model: null,
    operation_name: 'chat',
    endpoint: `endpoint-${key}-${Math.floor(i / workload.keys) % workload.endpointsPerKey}`,
    team: `team-${key % 12}`,
    experiment: null,
    environment: 'prod',
    input_tokens: random.int(50, 4000),
    output_tokens: random.int(1, 800),
    cached_input_tokens: 0,
    latency_ms: random.logNormal(800, 0.6),
    time_to_first_token_ms: random.logNormal(150, 0.3),
    status: 'ok',
    retry_count: 0,
    egress_bytes: 1200,
    cache_creation_input_tokens: null,
    provider_name: null,
  };
}
