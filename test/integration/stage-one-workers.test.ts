import { describe, expect, it } from 'vitest';
import { isDeepStrictEqual } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { Registry } from 'prom-client';
import { connect, prepare, type Connections } from '../../pipeline/runtime/bootstrap.js';
import { inputTaskCount, Pipeline } from '../../pipeline/runtime/pipeline.js';
import { createMetrics } from '../../pipeline/observability/metrics.js';
import { silentLogger } from '../../pipeline/observability/logger.js';
import { prepareSimulation, prepareTopicsAndSubjects, produceSimulation, settingsFrom } from '../../pipeline/cli/commands/simulate.js';
import { identifier, literal, qualified, type ClickHouseClient } from '../../sinks/clickhouse/index.js';
import type { CostlineConfig } from '../../pipeline/config/schema.js';
import { idempotentProducer, type DeadLetter } from '../../sinks/kafka/index.js';
import type { Message } from 'kafkajs';
import { contracts, valueSubject, WireCodec, type TokenUsage } from '../../schemas/index.js';
import { sampleTokenUsage } from '../support/contract-samples.js';
import { eventually, isolatedConfig } from '../support/services.js';

/** Every table stage 1 feeds: usage and billing directly, rollups and spend through stage 2. */
const TABLES = ['model_rollup_1m', 'model_rollup_1h', 'owner_spend_1m', 'owner_spend_1h', 'provider_spend_1m', 'provider_spend_1h', 'gpu_usage_1m', 'billing_lines', 'cost_allocation_1m'];

/** Longer than a partition waits for its first fetch while both pipelines start, even on a loaded machine. */
const IDLE_PARTITION_MS = 30_000;

type Contents = Record<string, string[]>;

/**
 * What a run wrote, comparable across runs: rows read with FINAL, without the version (it depends on
 * when a row was written) and the latency sketch bytes (its percentiles are compared). Counts,
 * tokens and Decimal money compare exactly; Float64 to 12 significant digits, as stage 2 may add
 * the same partials in another order.
 */
async function contentsOf(client: ClickHouseClient, database: string): Promise<Contents> {
  const contents: Contents = {};
  for (const table of TABLES) {
    const columns = await (await client.query({ query: `SELECT name, type FROM system.columns WHERE database = ${literal(database)} AND table = ${literal(table)}`, format: 'JSONEachRow' })).json<{ name: string; type: string }>();
    const kept = columns.filter((c) => c.name !== 'version' && c.name !== 'latency_sketch');
    const rows = await (await client.query({ query: `SELECT ${kept.map((c) => identifier(c.name)).join(', ')} FROM ${qualified(database, table)} FINAL`, format: 'JSONEachRow' })).json<Record<string, unknown>>();
    contents[table] = rows.map((row) => JSON.stringify(kept.map((c) => (c.type === 'Float64' ? Number(Number(row[c.name]).toPrecision(12)) : row[c.name])))).sort();
  }
  return contents;
}

/**
 * The reference run's contents once they have not changed for longer than the idle timeout (the
 * partitions no record went to stop holding the watermark then), with rollups and billing
 * allocations written.
 */
async function settledContents(client: ClickHouseClient, database: string): Promise<Contents> {
  let previous: Contents | undefined;
  let changedAt = Date.now();
  const deadline = Date.now() + 200_000;
  while (Date.now() < deadline) {
    const current = await contentsOf(client, database);
    if (!isDeepStrictEqual(current, previous)) changedAt = Date.now();
    const complete = current.model_rollup_1m!.length > 0 && current.cost_allocation_1m!.length > 0;
    if (complete && Date.now() - changedAt > IDLE_PARTITION_MS + 10_000) return current;
    previous = current;
    await sleep(5_000);
  }
  throw new Error('the in-thread run never settled: its rollups or billing allocations kept changing or never came');
}

/** The tables whose rows differ, with both row counts. */
function differingTables(actual: Contents, expected: Contents): string[] {
  return TABLES.filter((t) => !isDeepStrictEqual(actual[t], expected[t])).map((t) => `${t}: ${actual[t]!.length} rows vs ${expected[t]!.length} expected`);
}

/** A config reading `inputs`' topics, with its own group, internal and output topics, and database. */
function readingInputsOf(inputs: CostlineConfig, label: string, env: Record<string, string>): CostlineConfig {
  const config = isolatedConfig(label, env);
  const { tokens, gpu, queue, billing } = inputs.topics;
  return { ...config, topics: { ...config.topics, tokens, gpu, queue, billing } };
}

/** Members of a consumer group once it is stable (0 while it rebalances). */
async function stableMembers(connections: Connections, groupId: string): Promise<number> {
  const admin = connections.kafka.admin();
  await admin.connect();
  try {
    const [group] = (await admin.describeGroups([groupId])).groups;
    return group?.state === 'Stable' ? group.members.length : 0;
  } finally {
    await admin.disconnect();
  }
}

const newPipeline = (config: CostlineConfig, connections: Connections) => new Pipeline({ config, logger: silentLogger, metrics: createMetrics(new Registry()), ...connections });

/** Raw messages to the token topic, acknowledged by every in-sync replica. */
async function sendToTokens(config: CostlineConfig, connections: Connections, messages: Message[]): Promise<void> {
  const producer = idempotentProducer(connections.kafka);
  await producer.connect();
  await producer.send({ topic: config.topics.tokens, acks: -1, messages });
  await producer.disconnect();
}

/** What a test leaves behind: its database, and its clients. */
async function dropAndClose(config: CostlineConfig, connections: Connections): Promise<void> {
  await connections.clickhouse.command({ query: `DROP DATABASE IF EXISTS ${identifier(config.clickhouse.database)}` });
  await connections.close();
}

describe('stage 1 on worker threads', () => {
  it('writes exactly the rollups, usage and billing allocations that stage 1 on the main thread writes', async () => {
    // No partition goes idle (wall clock) before its records are read, even on a loaded machine:
    // an idle partition stops holding its task's watermark back, and then which records a fetch
    // happens to bring first would decide what is late, in either run.
    const idleOnlyAfterReading = { COSTLINE__windows__idlePartitionMs: String(IDLE_PARTITION_MS) };
    const inThread = isolatedConfig('s1main', { ...idleOnlyAfterReading, COSTLINE__pipeline__stageOneWorkers: '0' });
    const onWorkers = readingInputsOf(inThread, 's1workers', { ...idleOnlyAfterReading, COSTLINE__pipeline__stageOneWorkers: '2' });
    const reference = connect(inThread, '-s1main');
    const candidate = connect(onWorkers, '-s1workers');
    await prepare(inThread, reference, silentLogger);
    await prepare(onWorkers, candidate, silentLogger);
    expect(await inputTaskCount(reference.kafka, inThread), 'input partitions: two workers need two at least').toBeGreaterThanOrEqual(2);

    // 75 simulated minutes of a whole fleet, ending now: GPU and queue samples, token usage and hourly billing.
    const settings = settingsFrom({ duration: '3', speedup: '1500', seed: '21', gpus: '48', regions: '2', rate: '8', billingDelay: '0s', incident: [] }, Date.now());
    const { simulation } = prepareSimulation(settings);
    const encoders = await prepareTopicsAndSubjects(inThread, reference);
    const producer = reference.kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    const { tokens, gpu, queue, billing } = inThread.topics;
    await produceSimulation(simulation, producer, { tokens, gpu, queue, billing }, encoders, settings.speedup);
    await producer.disconnect();

    // A backlog, as after downtime: the workers may join one after the other, and what the first read
    // before the group settled is read again from the committed offsets.
    const mainThread = newPipeline(inThread, reference);
    const workerThreads = newPipeline(onWorkers, candidate);
    await Promise.all([mainThread.start(), workerThreads.start()]);
    try {
      expect(mainThread.stageOneWorkers).toBe(0);
      expect(workerThreads.stageOneWorkers).toBe(2);
      const expected = await settledContents(reference.clickhouse, inThread.clickhouse.database);
      const differing = await eventually(
        async () => differingTables(await contentsOf(candidate.clickhouse, onWorkers.clickhouse.database), expected),
        (tables) => tables.length === 0,
        90_000,
        'the two-worker run to write what the in-thread run wrote',
      );
      expect(differing).toEqual([]);
      expect(workerThreads.ready, 'ready: every worker consuming').toBe(true);
    } finally {
      await Promise.all([mainThread.stop(), workerThreads.stop()]);
      for (const [config, connections] of [[inThread, reference], [onWorkers, candidate]] as const) await dropAndClose(config, connections);
    }
  }, 480_000);

  it('hands the workers\' dead letters and counters to the pipeline, with the original bytes', async () => {
    const config = isolatedConfig('s1letters', { COSTLINE__pipeline__stageOneWorkers: '2' });
    const connections = connect(config, '-s1letters');
    await prepare(config, connections, silentLogger);
    const pipeline = newPipeline(config, connections);
    const letters: DeadLetter[] = [];
    pipeline.on('deadLetter', (letter) => letters.push(letter));
    await pipeline.start();
    try {
      // Sent once the group has settled: a record read before a rebalance is read again, and refused again.
      await eventually(() => stableMembers(connections, config.kafka.groupId), (n) => n === 2, 60_000, 'both workers in the stage-1 group');
      // Records of every partition, so both workers refuse some.
      const refused = Array.from({ length: 12 }, (_, i) => ({ key: `endpoint-${i}`, value: Buffer.from([0x7f, 0x45, 0x4c, 0x46, i]) }));
      await sendToTokens(config, connections, refused);
      await eventually(async () => letters.length, (n) => n >= refused.length, 60_000, 'a dead letter for every refused record');
      expect(letters.map((l) => l.reason)).toEqual(refused.map(() => 'wrong-magic-byte'));
      expect(letters.map((l) => l.value!.toString('hex')).sort()).toEqual(refused.map((r) => r.value.toString('hex')).sort());
      expect(letters.every((l) => Buffer.isBuffer(l.value) && Buffer.isBuffer(l.key))).toBe(true);
      const counted = (await pipeline.registry.getMetricsAsJSON()).find((m) => m.name === 'costline_dead_letters_total')!.values;
      expect(counted.reduce((sum, v) => sum + v.value, 0)).toBe(refused.length);
    } finally {
      await pipeline.stop();
      await dropAndClose(config, connections);
    }
  }, 120_000);

  it('reads a backlog once: no worker reads before every worker has joined the group', async () => {
    const config = isolatedConfig('s1backlog', { COSTLINE__pipeline__stageOneWorkers: '2' });
    const connections = connect(config, '-s1backlog');
    await prepare(config, connections, silentLogger);
    // Waiting before the pipeline starts, on every partition, in windows that stay open (so their
    // offsets are not committed): a worker that read some before its sibling joined would lose them
    // to the rebalance and read them again, and the consumed counter would say so.
    const codec = new WireCodec<TokenUsage>(connections.registry, contracts.tokenUsage, valueSubject(config.topics.tokens));
    const now = Date.now();
    const backlog = await Promise.all(Array.from({ length: 3_000 }, async (_, i) => ({ key: `endpoint-${i % 48}`, value: await codec.encode({ ...sampleTokenUsage, request_id: `r-${i}`, endpoint: `endpoint-${i % 48}`, event_time: now + (i % 1_000) }) })));
    await sendToTokens(config, connections, backlog);
    const pipeline = newPipeline(config, connections);
    await pipeline.start();
    try {
      const consumed = async () => ((await pipeline.registry.metricAsJSON('costline_events_total'))?.values ?? []).reduce((sum, v) => sum + v.value, 0);
      await eventually(consumed, (n) => n >= backlog.length, 60_000, 'every record of the backlog consumed');
      // Time for a second read to show, had a worker read before the last one joined.
      await sleep(3_000);
      expect(await consumed()).toBe(backlog.length);
    } finally {
      await pipeline.stop();
      await dropAndClose(config, connections);
    }
  }, 120_000);
});
