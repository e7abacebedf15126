import type { GpuSample, PlaybookAction, QueueSample, TokenUsage } from '../../schemas/index.js';

/**
 * Realistic values of the telemetry and action contracts, shared by the unit tests (in-memory
 * schemas) and the integration tests (the real registry and Kafka).
 */

const EVENT_TIME = 1_795_000_000_000;

/** An H100 serving llama-3.1-70b v2 behind endpoint chat-a, sampled every 15 s by dcgm-exporter. */
export const inferenceGpuSample: GpuSample = {
  event_time: EVENT_TIME,
  sample_interval_ms: 15_000,
  cluster: 'prod-use1-a',
  node: 'ip-10-0-12-34.ec2.internal',
  gpu_id: 3,
  gpu_uuid: 'GPU-5f1c2d3e-8a9b-4c0d-9e1f-2a3b4c5d6e7f',
  gpu_model: 'H100-SXM5-80GB',
  resource_id: 'i-0a1b2c3d4e5f67890',
  provider: 'AWS',
  region: 'us-east-1',
  instance_type: 'p5.48xlarge',
  workload: 'inference',
  model_name: 'llama-3.1-70b',
  model_version: 'v2',
  endpoint: 'chat-a',
  team: 'assistant',
  experiment: null,
  environment: 'prod',
  gpu_utilization: 97,
  sm_active: 0.62,
  fb_used_mib: 74_812,
  fb_total_mib: 81_559,
  dram_active: 0.48,
  power_watts: 612.4,
  temperature_c: 67,
  xid_errors: 0,
  last_xid: null,
};

/** A GPU of a training job: no model version, no endpoint, an experiment, and an XID error in the interval. */
export const trainingGpuSample: GpuSample = {
  ...inferenceGpuSample,
  node: 'gke-train-pool-7f3a',
  gpu_id: 0,
  gpu_uuid: 'GPU-0b9e8d7c-6a5f-4e3d-2c1b-0a9f8e7d6c5b',
  gpu_model: 'A100-SXM4-40GB',
  resource_id: 'projects/ml/zones/us-central1-a/instances/train-7f3a',
  provider: 'Google Cloud',
  region: 'us-central1',
  instance_type: 'a2-highgpu-8g',
  workload: 'training',
  model_name: 'ranker-xl',
  model_version: null,
  endpoint: null,
  team: 'search',
  experiment: 'exp-42',
  environment: 'dev',
  gpu_utilization: 88.5,
  sm_active: null,
  fb_used_mib: 39_120,
  fb_total_mib: 40_960,
  dram_active: null,
  xid_errors: 1,
  last_xid: 48,
};

/** One vLLM replica of endpoint chat-a under load: a queue forming, KV-cache nearly full, a few preemptions. */
export const queueSample: QueueSample = {
  event_time: EVENT_TIME,
  sample_interval_ms: 15_000,
  endpoint: 'chat-a',
  replica: 'chat-a-7d9f8b6c5-x2k4p',
  model_name: 'llama-3.1-70b',
  model_version: 'v2',
  region: 'us-east-1',
  node: 'ip-10-0-12-34.ec2.internal',
  resource_id: 'i-0a1b2c3d4e5f67890',
  team: 'assistant',
  environment: 'prod',
  num_requests_waiting: 14,
  num_requests_running: 48,
  queue_wait_count: 212,
  queue_wait_ms_sum: 48_760.5,
  queue_wait_ms_p95: 612,
  kv_cache_usage_perc: 0.93,
  num_preemptions: 3,
};

/** A rollback proposed for a latency regression, waiting for approval. */
export const rollbackAction: PlaybookAction = {
  action_id: 'act-3f9a1c2e7b4d5a60',
  alert_id: 'alt-8c1d2e3f4a5b6c7d',
  rule: 'latency_p95_regression',
  playbook: 'inference-regressions',
  playbook_rule: 'roll back a slower version',
  action: 'rollback_model_version',
  status: 'proposed',
  target_key: 'llama-3.1-70b|v2|us-east-1',
  target: { model_name: 'llama-3.1-70b', model_version: 'v2', region: 'us-east-1', endpoint: 'chat-a' },
  parameters: { to_version: 'v1' },
  dry_run: false,
  requires_approval: true,
  reason: 'p95 latency of llama-3.1-70b v2 in us-east-1 is 3.1× its baseline for 5 windows; v1 serves the same traffic at baseline.',
  window_start: EVENT_TIME - 60_000,
  window_end: EVENT_TIME,
  expires_at: EVENT_TIME + 3_600_000,
};

/** One chat request served by llama-3.1-70b v2 in eu-west-1, for an experiment. */
export const sampleTokenUsage: TokenUsage = {
  event_time: 1_795_000_000_000,
  request_id: 'r-1',
  model_name: 'llama-3.1-70b',
  model_version: 'v2',
  response_model: null,
  operation_name: 'chat',
  region: 'eu-west-1',
  endpoint: 'chat',
  team: 'assistant',
  experiment: 'exp-42',
  environment: 'prod',
  input_tokens: 900,
  output_tokens: 120,
  cached_input_tokens: 100,
  latency_ms: 2100.5,
  time_to_first_token_ms: 210,
  status: 'ok',
  retry_count: 0,
  egress_bytes: 480,
  cache_creation_input_tokens: null,
  provider_name: null,
};
