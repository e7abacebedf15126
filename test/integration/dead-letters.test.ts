import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Registry } from 'prom-client';
import { connect, prepare, type Connections } from '../../pipeline/runtime/bootstrap.js';
import { Pipeline } from '../../pipeline/runtime/pipeline.js';
import { createMetrics, type Metrics } from '../../pipeline/observability/metrics.js';
import { silentLogger } from '../../pipeline/observability/logger.js';
import { contracts, encodeWithId, valueSubject, WireCodec, type BillingCost, type GpuSample, type QueueSample, type TokenUsage } from '../../schemas/index.js';
import { demoFleet, minuteOfTraffic } from '../../pipeline/simulate/demo-traffic.js';
import { Random } from '../../pipeline/simulate/random.js';
import { DLQ_HEADERS } from '../../sinks/kafka/index.js';
import { qualified } from '../../sinks/clickhouse/index.js';
import { inferenceGpuSample, queueSample } from '../support/contract-samples.js';
import { eventually, isolatedConfig } from '../support/services.js';
import { billingLineFor } from '../support/billing-samples.js';

const MIN = 60_000;
const config = isolatedConfig('dlq');
const start = Math.floor(Date.now() / MIN) * MIN - 30 * MIN;
let connections: Connections;
let pipeline: Pipeline;
let metrics: Metrics;
const good = { tokens: 0, gpu: 0, queue: 0, billing: 0 };
const expectedLetters: string[] = [];

const billingLine = (row: number): BillingCost => ({ ...billingLineFor({ resourceId: inferenceGpuSample.resource_id, start, end: start + 60 * MIN, billed: '98.32', row }), event_time: start + 20 * MIN });

type Message = { key: string; value: Buffer };

beforeAll(async () => {
  connections = connect(config, '-dlq');
  await prepare(config, connections, silentLogger);
  const registry = connections.registry;
  const codecs = {
    tokens: new WireCodec<TokenUsage>(registry, contracts.tokenUsage, valueSubject(config.topics.tokens)),
    gpu: new WireCodec<GpuSample>(registry, contracts.gpuSample, valueSubject(config.topics.gpu)),
    queue: new WireCodec<QueueSample>(registry, contracts.queueSample, valueSubject(config.topics.queue)),
    billing: new WireCodec<BillingCost>(registry, contracts.billingCost, valueSubject(config.topics.billing)),
  };
  const random = new Random(3);
  const tokens: Message[] = [];
  for (let m = 0; m < 12; m++) for (const e of demoFleet.flatMap((k) => minuteOfTraffic(k, start + m * MIN, m, 5, random))) tokens.push({ key: e.endpoint, value: await codecs.tokens.encode(e) });
  const gpus: Message[] = [];
  for (let m = 0; m < 12 * 4; m++) gpus.push({ key: inferenceGpuSample.resource_id, value: await codecs.gpu.encode({ ...inferenceGpuSample, event_time: start + m * 15_000 }) });
  const queues: Message[] = [];
  for (let m = 0; m < 12 * 4; m++) queues.push({ key: queueSample.endpoint, value: await codecs.queue.encode({ ...queueSample, event_time: start + m * 15_000 }) });
  const billing: Message[] = [{ key: inferenceGpuSample.resource_id, value: await codecs.billing.encode(billingLine(1)) }];
  good.tokens = tokens.length;
  good.gpu = gpus.length;
  good.queue = queues.length;
  good.billing = billing.length;

  const sample = minuteOfTraffic(demoFleet[0]!, start + 5 * MIN, 5, 1, random)[0]!;
  const tokenId = (await codecs.tokens.encode(sample)).readUInt32BE(1);
  const bad = (topic: keyof typeof good, list: Message[], reason: string, value: Buffer) => {
    list.splice(Math.floor(list.length / 2), 0, { key: list[0]!.key, value });
    expectedLetters.push(`${topic}:${reason}`);
  };
  bad('tokens', tokens, 'wrong-magic-byte', Buffer.from(JSON.stringify(sample)));
  bad('tokens', tokens, 'wrong-magic-byte', Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]));
  bad('tokens', tokens, 'unknown-schema-id', Buffer.from([0, 0x3b, 0x9a, 0xca, 0x00, 2, 4]));
  bad('tokens', tokens, 'truncated-header', Buffer.from([0, 0, 1]));
  bad('tokens', tokens, 'undecodable-avro', (await codecs.tokens.encode(sample)).subarray(0, 20));
  bad('tokens', tokens, 'out-of-bounds', await codecs.tokens.encode({ ...sample, output_tokens: -3 }));
  bad('tokens', tokens, 'out-of-bounds', encodeWithId(tokenId, contracts.tokenUsage.type, { ...sample, latency_ms: Number.NaN }));
  bad('tokens', tokens, 'future-timestamp', await codecs.tokens.encode({ ...sample, event_time: Date.now() + 3 * 86_400_000 }));
  bad('tokens', tokens, 'stale-timestamp', await codecs.tokens.encode({ ...sample, event_time: Date.now() - 30 * 86_400_000 }));
  bad('tokens', tokens, 'oversized-field', await codecs.tokens.encode({ ...sample, model_version: 'v'.repeat(5000) }));
  bad('gpu', gpus, 'out-of-bounds', await codecs.gpu.encode({ ...inferenceGpuSample, event_time: start, gpu_utilization: 150 }));
  bad('gpu', gpus, 'out-of-bounds', await codecs.gpu.encode({ ...inferenceGpuSample, event_time: start, fb_used_mib: 90_000 }));
  bad('queue', queues, 'out-of-bounds', await codecs.queue.encode({ ...queueSample, event_time: start, kv_cache_usage_perc: 1.5 }));
  bad('billing', billing, 'out-of-bounds', await codecs.billing.encode({ ...billingLine(2), ChargePeriodEnd: start - MIN }));
  bad('billing', billing, 'out-of-bounds', await codecs.billing.encode({ ...billingLine(3), BillingCurrency: 'usd' }));

  const producer = connections.kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  await producer.send({ topic: config.topics.tokens, acks: -1, messages: tokens });
  await producer.send({ topic: config.topics.gpu, acks: -1, messages: gpus });
  await producer.send({ topic: config.topics.queue, acks: -1, messages: queues });
  await producer.send({ topic: config.topics.billing, acks: -1, messages: billing });
  metrics = createMetrics(new Registry());
  pipeline = new Pipeline({ config, logger: silentLogger, metrics, ...connections });
  await pipeline.start();
  await eventually(async () => accepted(config.topics.tokens), (n) => n >= good.tokens, 60_000, 'good token records counted');
  // An event behind the watermark by more than the allowed lateness: after the rest moved the watermark on.
  // Minute 10 written means every task's watermark is past minute 1 plus the allowed lateness.
  await eventually(
    async () => Number((await (await connections.clickhouse.query({ query: `SELECT count() AS n FROM ${qualified(config.clickhouse.database, 'model_rollup_1m')} WHERE window_start = toDateTime(${(start + 10 * MIN) / 1000})`, format: 'JSONEachRow' })).json<{ n: string }>())[0]!.n),
    (n) => n > 0,
    60_000,
    'minute 10 rolled up',
  );
  await producer.send({ topic: config.topics.tokens, acks: -1, messages: [{ key: tokens[0]!.key, value: await codecs.tokens.encode({ ...sample, event_time: start }) }] });
  expectedLetters.push('tokens:late');
  await producer.disconnect();
});

afterAll(async () => {
  await pipeline?.stop();
  await connections?.clickhouse.command({ query: `DROP DATABASE IF EXISTS ${config.clickhouse.database}` });
  await connections?.close();
});

async function accepted(topic: string): Promise<number> {
  return (await metrics.eventsIn.get()).values.filter((v) => v.labels.topic === topic && v.labels.outcome === 'accepted').reduce((s, v) => s + v.value, 0);
}

describe('bad input, through the real broker', () => {
  it('sends every bad record to the dead-letter topic with its reason and source, and counts every good one', async () => {
    const consumer = connections.kafka.consumer({ groupId: `${config.kafka.groupId}-dlq-reader` });
    const letters: { reason: string; topic: string; partition: string; offset: string }[] = [];
    await consumer.connect();
    await consumer.subscribe({ topic: config.topics.dlq, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        const h = message.headers ?? {};
        letters.push({ reason: String(h[DLQ_HEADERS.reason]), topic: String(h[DLQ_HEADERS.topic]), partition: String(h[DLQ_HEADERS.partition]), offset: String(h[DLQ_HEADERS.offset]) });
      },
    });
    try {
      await eventually(async () => letters.length, (n) => n >= expectedLetters.length, 60_000, `${expectedLetters.length} dead letters`);
    } finally {
      await consumer.disconnect();
    }
    const short = (topic: string) => Object.entries(config.topics).find(([, t]) => t === topic)?.[0];
    expect(letters.map((l) => `${short(l.topic)}:${l.reason}`).sort()).toEqual([...expectedLetters].sort());
    expect(letters.every((l) => /^\d+$/.test(l.partition) && /^\d+$/.test(l.offset))).toBe(true);
    expect(await accepted(config.topics.tokens)).toBe(good.tokens);
    expect(await accepted(config.topics.gpu)).toBe(good.gpu);
    expect(await accepted(config.topics.queue)).toBe(good.queue);
    expect(await accepted(config.topics.billing)).toBe(good.billing);
    const deadLetterCounter = (await metrics.deadLetters.get()).values.reduce((s, v) => s + v.value, 0);
    expect(deadLetterCounter).toBe(expectedLetters.length);
  });
});
