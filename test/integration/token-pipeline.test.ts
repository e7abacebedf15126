import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Registry } from 'prom-client';
import type { Consumer } from 'kafkajs';
import { connect, prepare, type Connections } from '../../pipeline/runtime/bootstrap.js';
import { Pipeline } from '../../pipeline/runtime/pipeline.js';
import { createMetrics } from '../../pipeline/observability/metrics.js';
import { silentLogger } from '../../pipeline/observability/logger.js';
import { contracts, valueSubject, WireCodec, type Alert, type TokenUsage } from '../../schemas/index.js';
import { minuteOfTraffic, type ServingKey } from '../../pipeline/simulate/demo-traffic.js';
import { Random } from '../../pipeline/simulate/random.js';
import { windowStartOf } from '../../pipeline/core/tumbling-window.js';
import { DLQ_HEADERS } from '../../sinks/kafka/index.js';
import { qualified } from '../../sinks/clickhouse/index.js';
import { eventually, isolatedConfig } from '../support/services.js';

const MIN = 60_000;
// Seven minutes of history precede the regression: the latency rule judges a key from its fifth window here (ten by default).
const config = isolatedConfig('e2e', { COSTLINE__detectors__latencyRegression__minHistory: '5' });
const fleet: ServingKey[] = [
  { model: 'llama-3.1-70b', version: 'v1', region: 'us-east-1', endpoint: 'chat-a', team: 't', ttftMs: 200, perTokenMs: 15 },
  { model: 'llama-3.1-70b', version: 'v2', region: 'us-east-1', endpoint: 'chat-b', team: 't', ttftMs: 200, perTokenMs: 15 },
  { model: 'mistral-7b', version: 'v3', region: 'eu-west-1', endpoint: 'sum', team: 's', ttftMs: 80, perTokenMs: 6 },
];
const regression = { model: 'llama-3.1-70b', version: 'v2', region: 'us-east-1', startMinute: 7, factor: 3 };
const FULL_MINUTES = 12;
// Event time a little in the past, on a minute boundary: valid against the broker's timestamps.
const start = Math.floor(Date.now() / MIN) * MIN - 30 * MIN;

let connections: Connections;
let pipeline: Pipeline;
const events: TokenUsage[] = [];
const seenAlerts: Alert[] = [];

function exactQuantile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(q * (sorted.length - 1))]!;
}

beforeAll(async () => {
  connections = connect(config, '-test');
  await prepare(config, connections, silentLogger);
  const random = new Random(42);
  for (let minute = 0; minute < FULL_MINUTES; minute++) {
    for (const key of fleet) events.push(...minuteOfTraffic(key, start + minute * MIN, minute, 40, random, regression));
  }
  // Two more minutes of light traffic carry the watermark past the last full window.
  for (let minute = FULL_MINUTES; minute < FULL_MINUTES + 2; minute++) {
    for (const key of fleet) events.push(...minuteOfTraffic(key, start + minute * MIN, minute, 3, random));
  }
  events.sort((a, b) => a.event_time - b.event_time);
  const codec = new WireCodec<TokenUsage>(connections.registry, contracts.tokenUsage, valueSubject(config.topics.tokens));
  const messages = await Promise.all(events.map(async (e) => ({ key: e.endpoint, value: await codec.encode(e) })));
  // Bad records between the good ones: each must reach the dead-letter topic, none may stop the partition.
  const negative = await codec.encode({ ...events[10]!, request_id: 'bad-negative', output_tokens: -5 });
  messages.splice(100, 0, { key: 'chat-a', value: Buffer.from('not avro at all') });
  messages.splice(200, 0, { key: 'chat-a', value: Buffer.from([0, 0x7f, 0xff, 0xff, 0xff, 1, 2, 3]) });
  messages.splice(300, 0, { key: 'chat-a', value: negative });
  const producer = connections.kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  await producer.send({ topic: config.topics.tokens, acks: -1, messages });
  await producer.disconnect();

  pipeline = new Pipeline({ config, logger: silentLogger, metrics: createMetrics(new Registry()), ...connections });
  pipeline.on('alert', (a) => seenAlerts.push(a));
  await pipeline.start();
});

afterAll(async () => {
  await pipeline?.stop();
  await connections?.clickhouse.command({ query: `DROP DATABASE IF EXISTS ${config.clickhouse.database}` });
  await connections?.close();
});

interface RollupRow {
  model_version: string;
  region: string;
  window_start: string;
  requests: string;
  errors: string;
  input_tokens: string;
  output_tokens: string;
  latency_p95_ms: number;
}

async function rollups(): Promise<RollupRow[]> {
  const result = await connections.clickhouse.query({
    query: `SELECT model_version, region, toUnixTimestamp(window_start) AS window_start, requests, errors, input_tokens, output_tokens, latency_p95_ms
            FROM ${qualified(config.clickhouse.database, 'model_rollup_1m')} FINAL ORDER BY window_start, model_version, region`,
    format: 'JSONEachRow',
  });
  return result.json<RollupRow>();
}

describe('token usage, end to end through the real Kafka, Schema Registry and ClickHouse', () => {
  it('writes one exact rollup per key and closed minute to ClickHouse', async () => {
    const rows = await eventually(rollups, (r) => r.filter((x) => Number(x.window_start) * 1000 < start + FULL_MINUTES * MIN).length >= fleet.length * FULL_MINUTES, 90_000, 'all closed windows in ClickHouse');
    const closed = rows.filter((x) => Number(x.window_start) * 1000 < start + FULL_MINUTES * MIN);
    expect(closed).toHaveLength(fleet.length * FULL_MINUTES);
    for (const row of closed) {
      const windowStart = Number(row.window_start) * 1000;
      const mine = events.filter((e) => e.model_version === row.model_version && e.region === row.region && windowStartOf(e.event_time, MIN) === windowStart);
      expect(Number(row.requests)).toBe(mine.length);
      expect(Number(row.errors)).toBe(mine.filter((e) => e.status !== 'ok').length);
      expect(Number(row.input_tokens)).toBe(mine.reduce((s, e) => s + e.input_tokens, 0));
      expect(Number(row.output_tokens)).toBe(mine.reduce((s, e) => s + e.output_tokens, 0));
      const exact = exactQuantile(mine.map((e) => e.latency_ms), 0.95);
      expect(Math.abs(row.latency_p95_ms - exact) / exact).toBeLessThanOrEqual(0.01);
    }
  });

  it('publishes an Avro alert for the injected regression on the alerts topic', async () => {
    const codec = new WireCodec<Alert>(connections.registry, contracts.alert, valueSubject(config.topics.alerts));
    const consumer: Consumer = connections.kafka.consumer({ groupId: `${config.kafka.groupId}-reader` });
    const received: Alert[] = [];
    await consumer.connect();
    await consumer.subscribe({ topic: config.topics.alerts, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        const decoded = await codec.decode(message.value);
        if (decoded.ok) received.push(decoded.value);
      },
    });
    try {
      await eventually(async () => received.length, (n) => n > 0, 60_000, 'an alert on the alerts topic');
    } finally {
      await consumer.disconnect();
    }
    const firing = received.find((a) => a.status === 'firing' && a.rule === 'latency_p95_regression');
    expect(firing, JSON.stringify(received.map((a) => [a.rule, a.key, a.status, a.evidence]))).toMatchObject({ rule: 'latency_p95_regression', key: 'llama-3.1-70b|v2|us-east-1' });
    expect(firing!.window_start).toBe(start + (regression.startMinute + 1) * MIN);
    // Other rules may see the same regression (against v1, or the series' own baseline); none may blame another key.
    expect(received.map((a) => `${a.rule} ${a.key}`).filter((k) => !k.includes('llama-3.1-70b|v2|us-east-1'))).toEqual([]);
    const stored = await (await connections.clickhouse.query({ query: `SELECT alert_id, status FROM ${qualified(config.clickhouse.database, 'alerts')} FINAL`, format: 'JSONEachRow' })).json<{ alert_id: string; status: string }>();
    expect(stored).toContainEqual({ alert_id: firing!.alert_id, status: 'firing' });
  });

  it('sends each bad record to the dead-letter topic with its reason, source and original bytes', async () => {
    const consumer = connections.kafka.consumer({ groupId: `${config.kafka.groupId}-dlq-reader` });
    const letters: { reason: string; topic: string; value: string }[] = [];
    await consumer.connect();
    await consumer.subscribe({ topic: config.topics.dlq, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        letters.push({ reason: String(message.headers?.[DLQ_HEADERS.reason]), topic: String(message.headers?.[DLQ_HEADERS.topic]), value: message.value?.toString('latin1') ?? '' });
      },
    });
    try {
      await eventually(async () => letters.length, (n) => n >= 3, 60_000, 'three dead letters');
    } finally {
      await consumer.disconnect();
    }
    expect(letters.map((l) => l.reason).sort()).toEqual(['out-of-bounds', 'unknown-schema-id', 'wrong-magic-byte']);
    expect(letters.every((l) => l.topic === config.topics.tokens)).toBe(true);
    expect(letters.some((l) => l.value === 'not avro at all')).toBe(true);
  });

  it('commits no offset past a record that still feeds an open window', async () => {
    await eventually(rollups, (r) => r.length >= fleet.length * FULL_MINUTES, 60_000, 'closed windows written');
    await pipeline.stop();
    const admin = connections.kafka.admin();
    await admin.connect();
    const [committed] = await admin.fetchOffsets({ groupId: config.kafka.groupId, topics: [config.topics.tokens] });
    await admin.disconnect();
    const codec = new WireCodec<TokenUsage>(connections.registry, contracts.tokenUsage, valueSubject(config.topics.tokens));
    // Every record before a committed offset must belong to a window whose complete rollup is in ClickHouse (or be a dead letter).
    const reader = connections.kafka.consumer({ groupId: `${config.kafka.groupId}-audit` });
    const beforeCommit: TokenUsage[] = [];
    const limits = new Map(committed!.partitions.map((p) => [p.partition, Number(p.offset)]));
    expect([...limits.values()].some((o) => o > 0)).toBe(true);
    let read = 0;
    const toRead = [...limits.values()].reduce((s, o) => s + Math.max(0, o), 0);
    await reader.connect();
    await reader.subscribe({ topic: config.topics.tokens, fromBeginning: true });
    await reader.run({
      eachMessage: async ({ partition, message }) => {
        if (Number(message.offset) >= (limits.get(partition) ?? 0)) return;
        read += 1;
        const decoded = await codec.decode(message.value);
        if (decoded.ok) beforeCommit.push(decoded.value);
      },
    });
    try {
      await eventually(async () => read, (n) => n >= toRead, 60_000, 'records before the committed offsets');
    } finally {
      await reader.disconnect();
    }
    expect(beforeCommit.length).toBeGreaterThan(0);
    const written = new Map((await rollups()).map((r) => [`${r.model_version}|${r.region}|${Number(r.window_start) * 1000}`, Number(r.requests)]));
    const windowOf = (e: TokenUsage) => `${e.model_version}|${e.region}|${windowStartOf(e.event_time, MIN)}`;
    const expected = new Map<string, number>();
    for (const e of events) expected.set(windowOf(e), (expected.get(windowOf(e)) ?? 0) + 1);
    const incomplete = beforeCommit.filter((e) => written.get(windowOf(e)) !== expected.get(windowOf(e)));
    expect(incomplete).toEqual([]);
    // The newest minute cannot have closed (the watermark trails the newest event): none of it is committed.
    expect(beforeCommit.some((e) => windowStartOf(e.event_time, MIN) === start + (FULL_MINUTES + 1) * MIN)).toBe(false);
  });
});
