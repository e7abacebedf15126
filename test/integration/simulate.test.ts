import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Consumer } from 'kafkajs';
import { connect, type Connections } from '../../pipeline/runtime/bootstrap.js';
import { prepareSimulation, prepareTopicsAndSubjects, produceSimulation, settingsFrom, TOPIC_ROLES, type ProduceReport, type TopicRole } from '../../pipeline/cli/commands/simulate.js';
import { contracts, valueSubject, WireCodec, type Contract } from '../../schemas/index.js';
import type { FleetSimulation } from '../../pipeline/simulate/fleet/index.js';
import { eventually, isolatedConfig } from '../support/services.js';

const config = isolatedConfig('simulate');
const CONTRACTS: Record<TopicRole, Contract<unknown>> = {
  gpu: contracts.gpuSample as Contract<unknown>,
  queue: contracts.queueSample as Contract<unknown>,
  tokens: contracts.tokenUsage as Contract<unknown>,
  billing: contracts.billingCost as Contract<unknown>,
};

let connections: Connections;
let simulation: FleetSimulation;
let report: ProduceReport;
let consumer: Consumer | undefined;
const received: Record<TopicRole, { key: string; value: Record<string, unknown> }[]> = { gpu: [], queue: [], tokens: [], billing: [] };
const undecodable: string[] = [];

beforeAll(async () => {
  connections = connect(config, '-test');
  // 3 s of wall time at 1500×: 75 simulated minutes, so at least one billing hour closes inside the run.
  const settings = settingsFrom(
    { duration: '3', speedup: '1500', seed: '5', gpus: '64', regions: '2', rate: '8', billingDelay: '0s', incident: ['rollout-regression'] },
    Date.now(),
  );
  simulation = prepareSimulation(settings).simulation;
  const encoders = await prepareTopicsAndSubjects(config, connections);
  const producer = connections.kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  const topics = { gpu: config.topics.gpu, queue: config.topics.queue, tokens: config.topics.tokens, billing: config.topics.billing };
  report = await produceSimulation(simulation, producer, topics, encoders, settings.speedup);
  await producer.disconnect();

  const codecs = Object.fromEntries(TOPIC_ROLES.map((role) => [config.topics[role], { role, codec: new WireCodec(connections.registry, CONTRACTS[role], valueSubject(config.topics[role])) }]));
  consumer = connections.kafka.consumer({ groupId: config.kafka.groupId });
  await consumer.connect();
  for (const role of TOPIC_ROLES) await consumer.subscribe({ topic: config.topics[role], fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ topic, partition, message }) => {
      const { role, codec } = codecs[topic]!;
      const decoded = await codec.decode(message.value);
      if (!decoded.ok) undecodable.push(`${topic}[${partition}]@${message.offset}: ${decoded.reason} ${decoded.detail}`);
      else received[role].push({ key: message.key?.toString('utf8') ?? '', value: decoded.value as Record<string, unknown> });
    },
  });
  const total = TOPIC_ROLES.reduce((s, r) => s + report.produced[r], 0);
  await eventually(
    async () => TOPIC_ROLES.reduce((s, r) => s + received[r].length, 0) + undecodable.length,
    (n) => n >= total,
    90_000,
    `all ${total} simulated records consumed back`,
  );
});

afterAll(async () => {
  await consumer?.disconnect();
  const admin = connections?.kafka.admin();
  if (admin) {
    await admin.connect();
    await admin.deleteTopics({ topics: TOPIC_ROLES.map((r) => config.topics[r]) }).catch(() => undefined);
    await admin.disconnect();
  }
  await connections?.close();
});

describe('costline simulate against the real broker and registry', () => {
  it('produces all four topics', () => {
    for (const role of TOPIC_ROLES) expect(report.produced[role], role).toBeGreaterThan(0);
  });

  it('produces what the simulator reports, and every record decodes through the registry', () => {
    expect(undecodable).toEqual([]);
    const stats = simulation.stats;
    expect(report.produced.gpu).toBe(stats.gpuSamples);
    expect(report.produced.queue).toBe(stats.queueSamples);
    expect(report.produced.billing).toBe(stats.billingLines);
    expect(report.produced.tokens).toBe(Object.values(stats.requests).reduce((s, n) => s + n, 0));
    for (const role of TOPIC_ROLES) expect(received[role].length, role).toBe(report.produced[role]);
  });

  it('keys GPU samples and billing lines by resource id, requests and queue samples by endpoint', () => {
    for (const { key, value } of received.gpu) expect(key).toBe(value.resource_id);
    for (const { key, value } of received.billing) expect(key).toBe(value.ResourceId);
    for (const { key, value } of received.tokens) expect(key).toBe(value.endpoint);
    for (const { key, value } of received.queue) expect(key).toBe(value.endpoint);
  });

  it('registers the four subjects with BACKWARD compatibility', async () => {
    for (const role of TOPIC_ROLES) {
      const response = await fetch(`${config.schemaRegistry.url}/config/${encodeURIComponent(valueSubject(config.topics[role]))}`);
      const body = (await response.json()) as { compatibilityLevel?: string; compatibility?: string };
      expect(body.compatibilityLevel ?? body.compatibility, role).toBe('BACKWARD');
    }
  });
});
