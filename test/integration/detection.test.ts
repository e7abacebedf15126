import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Registry } from 'prom-client';
import { connect, prepare, type Connections } from '../../pipeline/runtime/bootstrap.js';
import { Pipeline } from '../../pipeline/runtime/pipeline.js';
import { createMetrics } from '../../pipeline/observability/metrics.js';
import { silentLogger } from '../../pipeline/observability/logger.js';
import { contracts, valueSubject, WireCodec, type Alert, type GpuSample, type PlaybookAction, type TokenUsage } from '../../schemas/index.js';
import { minuteOfTraffic, type ServingKey } from '../../pipeline/simulate/demo-traffic.js';
import { Random } from '../../pipeline/simulate/random.js';
import type { CostlineConfig } from '../../pipeline/config/schema.js';
import { trainingGpuSample } from '../support/contract-samples.js';
import { eventually, isolatedConfig } from '../support/services.js';
import { readTopicUntilIdle } from '../support/read-topic.js';

const MIN = 60_000;
const MINUTES = 44;
const INCIDENT = { from: 20, to: 30 };
const config = isolatedConfig('detect');
const start = Math.floor(Date.now() / MIN) * MIN - 60 * MIN;
const fleet: ServingKey[] = [
  { model: 'llama-3.1-70b', version: 'v1', region: 'us-east-1', endpoint: 'chat', team: 'assistant', ttftMs: 200, perTokenMs: 15 },
  { model: 'llama-3.1-70b', version: 'v2', region: 'us-east-1', endpoint: 'chat-canary', team: 'assistant', ttftMs: 200, perTokenMs: 15 },
];
let connections: Connections;

/** A runaway experiment: 2 GPUs busy, then 16 during the incident, then 2 again. */
function experimentGpus(minute: number): GpuSample[] {
  const gpus = minute >= INCIDENT.from && minute < INCIDENT.to ? 16 : 2;
  const samples: GpuSample[] = [];
  for (let s = 0; s < 4; s++) {
    for (let g = 0; g < gpus; g++) {
      samples.push({ ...trainingGpuSample, event_time: start + minute * MIN + s * 15_000, gpu_id: g, gpu_uuid: `GPU-exp42-${g}`, resource_id: `node-exp42-${Math.floor(g / 8)}`, provider: 'AWS', instance_type: 'p5.48xlarge', region: 'us-east-1', team: 'research', experiment: 'exp-42', environment: 'prod', gpu_utilization: 95 });
    }
  }
  return samples;
}

async function produceAll(): Promise<void> {
  const tokens = new WireCodec<TokenUsage>(connections.registry, contracts.tokenUsage, valueSubject(config.topics.tokens));
  const gpu = new WireCodec<GpuSample>(connections.registry, contracts.gpuSample, valueSubject(config.topics.gpu));
  const random = new Random(21);
  const producer = connections.kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  for (let m = 0; m < MINUTES; m++) {
    const regression = { model: 'llama-3.1-70b', version: 'v2', region: 'us-east-1', startMinute: INCIDENT.from, factor: m < INCIDENT.to ? 3 : 1 };
    const events = fleet.flatMap((k) => minuteOfTraffic(k, start + m * MIN, m, 40, random, regression));
    await producer.send({ topic: config.topics.tokens, acks: -1, messages: await Promise.all(events.map(async (e) => ({ key: e.endpoint, value: await tokens.encode(e) }))) });
    await producer.send({ topic: config.topics.gpu, acks: -1, messages: await Promise.all(experimentGpus(m).map(async (s) => ({ key: s.resource_id, value: await gpu.encode(s) }))) });
  }
  await producer.disconnect();
}

async function runUntilQuiet(run: CostlineConfig): Promise<void> {
  const pipeline = new Pipeline({ config: run, logger: silentLogger, metrics: createMetrics(new Registry()), ...connections });
  let lastOutput = Date.now();
  pipeline.on('rollups', () => (lastOutput = Date.now()));
  pipeline.on('alert', () => (lastOutput = Date.now()));
  await pipeline.start();
  try {
    await eventually(async () => Date.now() - lastOutput, (quiet) => quiet > 15_000, 180_000, 'the pipeline to go quiet');
  } finally {
    await pipeline.stop();
  }
}

let alerts: Alert[] = [];
let actions: PlaybookAction[] = [];

beforeAll(async () => {
  connections = connect(config, '-detect');
  await prepare(config, connections, silentLogger);
  await produceAll();
  await runUntilQuiet(config);
  alerts = await readTopicUntilIdle(connections.kafka, config.topics.alerts, new WireCodec<Alert>(connections.registry, contracts.alert, valueSubject(config.topics.alerts)), `${config.kafka.groupId}-alerts-1`);
  actions = await readTopicUntilIdle(connections.kafka, config.topics.actions, new WireCodec<PlaybookAction>(connections.registry, contracts.action, valueSubject(config.topics.actions)), `${config.kafka.groupId}-actions-1`);
}, 400_000);

afterAll(async () => {
  await connections?.clickhouse.command({ query: `DROP DATABASE IF EXISTS ${config.clickhouse.database}` });
  await connections?.close();
});

const episode = (rule: string, keyPart: string) => alerts.filter((a) => a.rule === rule && a.key.includes(keyPart));

describe('detection and playbooks, end to end through the real Kafka and ClickHouse', () => {
  it('fires on the latency regression of the new version during the incident and resolves after it', () => {
    const latency = episode('latency_p95_regression', 'llama-3.1-70b|v2|us-east-1');
    const firing = latency.find((a) => a.status === 'firing');
    expect(firing, JSON.stringify(alerts.map((a) => `${a.rule} ${a.key} ${a.status}`))).toBeDefined();
    expect(firing!.window_start).toBeGreaterThanOrEqual(start + INCIDENT.from * MIN);
    expect(firing!.window_start).toBeLessThanOrEqual(start + (INCIDENT.from + 3) * MIN);
    const resolved = latency.find((a) => a.status === 'resolved' && a.alert_id === firing!.alert_id);
    expect(resolved?.window_start).toBeGreaterThanOrEqual(start + INCIDENT.to * MIN);
  });

  it('fires on the runaway experiment\'s spend, naming it, and resolves after it', () => {
    const spend = episode('spend_spike', 'research|exp-42|prod');
    const firing = spend.find((a) => a.status === 'firing');
    expect(firing, JSON.stringify(alerts.map((a) => `${a.rule} ${a.key} ${a.status}`))).toBeDefined();
    expect(firing!.evidence).toContain('exp-42');
    expect(spend.some((a) => a.status === 'resolved' && a.alert_id === firing!.alert_id)).toBe(true);
  });

  it('publishes the playbook\'s actions for them: throttle the experiment\'s budget and open a review', () => {
    const forSpend = actions.filter((a) => a.rule === 'spend_spike' && a.status === 'proposed');
    expect(forSpend.map((a) => a.action).sort()).toEqual(['open_review', 'throttle_budget']);
    expect(forSpend.every((a) => a.target.experiment === 'exp-42' && a.action_id.length > 0)).toBe(true);
  });

  it('publishes no duplicate alert on a replay of the same events by a new consumer group', async () => {
    const replay: CostlineConfig = { ...config, kafka: { ...config.kafka, groupId: `${config.kafka.groupId}-replay` } };
    await runUntilQuiet(replay);
    const after = await readTopicUntilIdle(connections.kafka, config.topics.alerts, new WireCodec<Alert>(connections.registry, contracts.alert, valueSubject(config.topics.alerts)), `${config.kafka.groupId}-alerts-2`);
    const ids = after.map((a) => `${a.alert_id}#${a.sequence}`);
    expect(new Set(ids).size).toBe(ids.length);
    expect(after.length).toBe(alerts.length);
  }, 300_000);
});
