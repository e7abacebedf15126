// Generated from schemas/avro/*.avsc by schemas/codegen.ts. Do not edit: run `npm run schemas:generate`.

export type Severity = 'info' | 'warning' | 'critical';

export type AlertStatus = 'firing' | 'updated' | 'resolved';

/** One state change of an alert episode, on topic costline.alerts, keyed by the alert key. An episode (one rule, one key) fires once, may be updated (severity change), and resolves; each change is one message. alert_id names the episode; (alert_id, sequence) names the message, so consumers can drop duplicates after a replay. */
export interface Alert {
  /** Deterministic id of the episode: a hash of rule, key and the window the episode started in. */
  alert_id: string;
  /** 0 for firing, then 1, 2, ... for each later state change of the same episode. */
  sequence: number;
  /** The detector rule that raised it, e.g. latency_p95_regression. */
  rule: string;
  /** How urgent it is. */
  severity: Severity;
  /** Where the episode is in its lifecycle. */
  status: AlertStatus;
  /** The series key as text, e.g. llama-3.1-70b|v2|us-east-1. */
  key: string;
  /** The key's dimensions by name (model_name, model_version, region, team, ...). */
  dimensions: Record<string, string>;
  /** Start of the window this change was decided on (event time). */
  window_start: number;
  /** End (exclusive) of that window. */
  window_end: number;
  /** Start of the window the episode first fired in. */
  episode_start: number;
  /** What was measured, e.g. latency_p95_ms. */
  metric: string;
  /** The metric's value in the window. */
  observed: number;
  /** What the detector expected (e.g. the trailing median). */
  baseline: number;
  /** How far off, in the detector's own unit (e.g. observed / baseline). */
  score: number;
  /** One sentence a person can act on. */
  evidence: string;
}

export type RequestStatus = 'ok' | 'error' | 'timeout' | 'rate_limited' | 'cancelled';

/** One inference request as a gateway or inference server saw it, on topic telemetry.tokens. Names follow the OpenTelemetry GenAI semantic conventions (gen_ai.usage.*, gen_ai.request.model) plus what costline needs to join cost with performance. Keyed by endpoint. */
export interface TokenUsage {
  /** When the request completed, event time in ms since the epoch (UTC). */
  event_time: number;
  /** Unique id of the request (gateway request id or trace id). */
  request_id: string;
  /** gen_ai.request.model: the model asked for, e.g. llama-3.1-70b. */
  model_name: string;
  /** The deployed version of that model that served the request, e.g. 2026-11-01.2. */
  model_version: string;
  /** gen_ai.response.model: the model that actually answered, when it differs. */
  response_model: null | string;
  /** gen_ai.operation.name: chat, text_completion, embeddings, ... */
  operation_name: string;
  /** Cloud region that served it, as the provider names it (us-east-1, westeurope, ...). */
  region: string;
  /** Inference endpoint (deployment) name. */
  endpoint: string;
  /** Owning team (tenant) the request is billed to. */
  team: string;
  /** Experiment id when the traffic belongs to one. */
  experiment: null | string;
  /** prod, staging, dev, ... */
  environment: string;
  /** gen_ai.usage.input_tokens: prompt tokens, cached ones included. */
  input_tokens: number;
  /** gen_ai.usage.output_tokens: generated tokens. */
  output_tokens: number;
  /** Input tokens served from a prompt cache (a subset of input_tokens). */
  cached_input_tokens: number;
  /** End-to-end request latency in milliseconds. */
  latency_ms: number;
  /** Time to first token in milliseconds; null for non-streaming requests. */
  time_to_first_token_ms: null | number;
  /** Outcome; a symbol unknown to this reader resolves to error. */
  status: RequestStatus;
  /** Retries the gateway made before this outcome. */
  retry_count: number;
  /** Bytes sent back to the client (for egress cost). */
  egress_bytes: number;
}
