import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { Registry } from 'prom-client';
import { AssignerProtocol } from 'kafkajs';
import { connect, prepare, type Connections } from '../../pipeline/runtime/bootstrap.js';
import { Pipeline } from '../../pipeline/runtime/pipeline.js';
import { createMetrics } from '../../pipeline/observability/metrics.js';
import { silentLogger } from '../../pipeline/observability/logger.js';
import { contracts, valueSubject, WireCodec, type TokenUsage } from '../../schemas/index.js';
import { demoFleet, minuteOfTraffic } from '../../pipeline/simulate/demo-traffic.js';
import { Random } from '../../pipeline/simulate/random.js';
import { endpointsFromEnv, localServices, stackStatus, stackUp } from '../../deploy/stack/stack.js';
import { stopProcess } from '../../deploy/stack/processes.js';
import { projectRoot } from '../../deploy/stack/layout.js';
import type { CostlineConfig } from '../../pipeline/config/schema.js';
import { configEnv, eventually, isolatedConfig } from '../support/services.js';
import { differences, referenceRollups, storedModelRollups } from '../support/reference.js';

const MIN = 60_000;
const MINUTES = 14;

/** A run's traffic: MINUTES of the demo fleet, then two light minutes that carry the watermark past the last full one. */
function traffic(seed: number, start: number): TokenUsage[][] {
  const random = new Random(seed);
  const minutes: TokenUsage[][] = [];
  for (let m = 0; m < MINUTES + 2; m++) {
    const rate = m < MINUTES ? 30 : 2;
    minutes.push(demoFleet.flatMap((key) => minuteOfTraffic(key, start + m * MIN, m, rate, random)).sort((a, b) => a.event_time - b.event_time));
  }
  return minutes;
}

interface Run {
  config: CostlineConfig;
  connections: Connections;
  start: number;
  minutes: TokenUsage[][];
  produceMinute(m: number): Promise<void>;
  close(): Promise<void>;
}

async function newRun(label: string, seed: number): Promise<Run> {
  const config = isolatedConfig(label);
  const connections = connect(config, `-${label}`);
  await prepare(config, connections, silentLogger);
  const start = Math.floor(Date.now() / MIN) * MIN - 40 * MIN;
  const minutes = traffic(seed, start);
  const codec = new WireCodec<TokenUsage>(connections.registry, contracts.tokenUsage, valueSubject(config.topics.tokens));
  const producer = connections.kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  return {
    config,
    connections,
    start,
    minutes,
    async produceMinute(m) {
      const messages = await Promise.all(minutes[m]!.map(async (e) => ({ key: e.endpoint, value: await codec.encode(e) })));
      await producer.send({ topic: config.topics.tokens, acks: -1, messages });
    },
    async close() {
      await producer.disconnect();
      await connections.clickhouse.command({ query: `DROP DATABASE IF EXISTS ${config.clickhouse.database}` });
      await connections.close();
    },
  };
}

async function expectExactlyTheReference(run: Run): Promise<void> {
  const truth = referenceRollups(run.minutes.flat());
  const closedBefore = run.start + MINUTES * MIN;
  const problems = await eventually(
    async () => differences(await storedModelRollups(run.connections.clickhouse, run.config.clickhouse.database), truth, closedBefore),
    (p) => p.length === 0,
    120_000,
    'ClickHouse to hold exactly the one-pass rollups',
  );
  expect(problems).toEqual([]);
}

function runPipelineProcess(config: CostlineConfig): ChildProcess {
  return spawn(process.execPath, ['pipeline/cli/costline.mjs', 'run'], { cwd: projectRoot, env: { ...process.env, ...configEnv(config) }, stdio: ['ignore', 'ignore', 'pipe'] });
}

const exited = (child: ChildProcess) => new Promise<void>((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve() : child.once('exit', () => resolve())));

/** Stopping and restarting services is only for the stack this run started: never for endpoints given in the environment. */
const ownsTheStack = async () => !endpointsFromEnv() && (await stackStatus()).every((s) => s.state === 'healthy');

/** The input partitions each member of the stage-1 group holds now, by client id. */
async function stageOneAssignments(connections: Connections, groupId: string): Promise<Map<string, Set<string>>> {
  const admin = connections.kafka.admin();
  await admin.connect();
  try {
    const { groups } = await admin.describeGroups([groupId]);
    const held = new Map<string, Set<string>>();
    for (const member of groups[0]!.members) {
      const assignment = AssignerProtocol.MemberAssignment.decode(member.memberAssignment)?.assignment ?? {};
      held.set(member.clientId, new Set(Object.entries(assignment).flatMap(([topic, partitions]) => partitions.map((p) => `${topic}:${p}`))));
    }
    return held;
  } finally {
    await admin.disconnect();
  }
}

describe('delivery guarantees against the real services', () => {
  it('ends with exactly the one-pass rollups after the pipeline is killed with SIGKILL several times', async () => {
    const run = await newRun('kill9', 11);
    const random = new Random(99);
    let child = runPipelineProcess(run.config);
    let kills = 0;
    try {
      for (let m = 0; m < run.minutes.length; m++) {
        await run.produceMinute(m);
        await sleep(400);
        if (m % 4 === 3) {
          // Kill at a random moment of processing, then start again: it must replay from the last commit.
          await sleep(random.int(200, 2500));
          child.kill('SIGKILL');
          await exited(child);
          kills += 1;
          child = runPipelineProcess(run.config);
        }
      }
      expect(kills).toBeGreaterThanOrEqual(3);
      await expectExactlyTheReference(run);
    } finally {
      child.kill('SIGTERM');
      await exited(child);
      await run.close();
    }
  }, 240_000);

  it('gives the same rollups with two instances in one group and a rebalance mid-run as with one', async () => {
    const run = await newRun('scaleout', 12);
    const registries = [new Registry(), new Registry()] as const;
    const first = new Pipeline({ config: run.config, logger: silentLogger, metrics: createMetrics(registries[0]), ...run.connections });
    const second = new Pipeline({ config: run.config, logger: silentLogger, metrics: createMetrics(registries[1]), ...connect(run.config, '-second') });
    await first.start();
    try {
      for (let m = 0; m < run.minutes.length; m++) {
        await run.produceMinute(m);
        await sleep(300);
        if (m === 5) await second.start(); // the group rebalances while windows are open
      }
      await expectExactlyTheReference(run);
      // Consumer lag is reported only by the instance holding the partition: what moved to the second is no longer the first's.
      const held = await stageOneAssignments(run.connections, run.config.kafka.groupId);
      for (const [i, suffix] of ['-scaleout', '-second'].entries()) {
        const lagged = (await registries[i]!.getSingleMetric('costline_consumer_lag_records')!.get()).values.map((v) => `${v.labels.topic}:${v.labels.partition}`);
        expect(lagged.filter((p) => !held.get(`${run.config.kafka.clientId}${suffix}`)?.has(p)), `lag series of instance ${i + 1} for partitions it does not hold`).toEqual([]);
      }
    } finally {
      await second.stop();
      await first.stop();
      await run.close();
    }
  }, 240_000);

  it('pauses while ClickHouse is down for a minute, keeps memory bounded, and loses nothing', async (ctx) => {
    if (!(await ownsTheStack())) ctx.skip('ClickHouse is not the local stack this run started: it is not stopped here');
    const run = await newRun('chdown', 13);
    const pipeline = new Pipeline({ config: run.config, logger: silentLogger, metrics: createMetrics(new Registry()), ...run.connections });
    const failures: Error[] = [];
    pipeline.on('sinkFailure', (e) => failures.push(e));
    await pipeline.start();
    const clickhouse = localServices().find((s) => s.name === 'clickhouse')!;
    try {
      for (let m = 0; m < 5; m++) await run.produceMinute(m);
      await eventually(async () => (await storedModelRollups(run.connections.clickhouse, run.config.clickhouse.database)).size, (n) => n > 0, 60_000, 'first rollups');
      await stopProcess(clickhouse.pidFile, 30_000);
      const downSince = Date.now();
      let largestState = 0;
      for (let m = 5; m < run.minutes.length; m++) {
        await run.produceMinute(m);
        await sleep(1500);
        largestState = Math.max(largestState, pipeline.stateSize);
      }
      await eventually(async () => failures.length, (n) => n > 0, 30_000, 'a failed flush');
      expect(pipeline.ready).toBe(false);
      while (Date.now() - downSince < 60_000) {
        largestState = Math.max(largestState, pipeline.stateSize);
        await sleep(1000);
      }
      // Paused consumption: the windows in memory never exceed what the produced minutes can open.
      expect(largestState).toBeLessThanOrEqual(run.minutes.length * demoFleet.length * 4);
      await stackUp(() => undefined);
      await expectExactlyTheReference(run);
      expect(pipeline.ready).toBe(true);
    } finally {
      await stackUp(() => undefined);
      await pipeline.stop();
      await run.close();
    }
  }, 300_000);

  it('prepares the topics of a new pipeline right after the broker restarts', async (ctx) => {
    // A freshly started broker with many partitions to load answers metadata for a topic it has
    // just created with UNKNOWN_TOPIC_OR_PARTITION for a few seconds: the start must wait it out.
    if (!(await ownsTheStack())) ctx.skip('Kafka is not the local stack this run started: it is not restarted here');
    const kafka = localServices().find((s) => s.name === 'kafka')!;
    await stopProcess(kafka.pidFile, 60_000);
    await stackUp(() => undefined);
    const config = isolatedConfig('afterrestart');
    const connections = connect(config, '-after-restart');
    try {
      await prepare(config, connections, silentLogger);
      const admin = connections.kafka.admin();
      await admin.connect();
      const { topics } = await admin.fetchTopicMetadata({ topics: Object.values(config.topics) });
      await admin.disconnect();
      expect(topics.map((t) => [t.name, t.partitions.length, t.partitions.every((p) => p.leader >= 0)]).sort()).toEqual(Object.values(config.topics).map((name) => [name, config.kafka.partitions, true]).sort());
    } finally {
      await connections.clickhouse.command({ query: `DROP DATABASE IF EXISTS ${config.clickhouse.database}` });
      await connections.close();
    }
  }, 180_000);

  it('rides out a broker restart mid-run and loses nothing', async (ctx) => {
    if (!(await ownsTheStack())) ctx.skip('Kafka is not the local stack this run started: it is not restarted here');
    const run = await newRun('brokerdown', 14);
    const pipeline = new Pipeline({ config: run.config, logger: silentLogger, metrics: createMetrics(new Registry()), ...run.connections });
    await pipeline.start();
    const kafka = localServices().find((s) => s.name === 'kafka')!;
    try {
      for (let m = 0; m < 6; m++) {
        await run.produceMinute(m);
        await sleep(300);
      }
      await stopProcess(kafka.pidFile, 60_000);
      await sleep(10_000);
      await stackUp(() => undefined);
      for (let m = 6; m < run.minutes.length; m++) {
        await run.produceMinute(m);
        await sleep(300);
      }
      await expectExactlyTheReference(run);
    } finally {
      await stackUp(() => undefined);
      await pipeline.stop();
      await run.close();
    }
  }, 300_000);
});
