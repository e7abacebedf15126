import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Registry } from 'prom-client';
import { connect, prepare, type Connections } from '../../pipeline/runtime/bootstrap.js';
import { Pipeline } from '../../pipeline/runtime/pipeline.js';
import { createMetrics } from '../../pipeline/observability/metrics.js';
import { silentLogger } from '../../pipeline/observability/logger.js';
import { contracts, valueSubject, WireCodec, type BillingCost, type GpuSample } from '../../schemas/index.js';
import { parseMoney } from '../../pipeline/core/money.js';
import { qualified } from '../../sinks/clickhouse/index.js';
import { learnRates } from '../../pipeline/cli/commands/rates.js';
import { inferenceGpuSample } from '../support/contract-samples.js';
import { billingLineFor } from '../support/billing-samples.js';
import { eventually, isolatedConfig } from '../support/services.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
const config = isolatedConfig('cost');
const start = Math.floor((Date.now() - 3 * HOUR) / HOUR) * HOUR;
let connections: Connections;
let pipeline: Pipeline;

/** Two model versions share node A (v1 on GPUs 0-5, v2 on 6-7 for the first half hour); node B is idle and untagged. */
function gpuSamples(): GpuSample[] {
  const samples: GpuSample[] = [];
  for (let t = start; t < start + HOUR + 5 * MIN; t += 15_000) {
    for (let gpu = 0; gpu < 8; gpu++) {
      const version = gpu < 6 || t >= start + 30 * MIN ? 'v1' : 'v2';
      samples.push({ ...inferenceGpuSample, event_time: t, gpu_id: gpu, gpu_uuid: `GPU-A-${gpu}`, resource_id: 'i-node-a', model_version: version });
    }
  }
  return samples;
}

beforeAll(async () => {
  connections = connect(config, '-cost');
  await prepare(config, connections, silentLogger);
  const gpu = new WireCodec<GpuSample>(connections.registry, contracts.gpuSample, valueSubject(config.topics.gpu));
  const billing = new WireCodec<BillingCost>(connections.registry, contracts.billingCost, valueSubject(config.topics.billing));
  const producer = connections.kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  const samples = await Promise.all(gpuSamples().map(async (s) => ({ key: s.resource_id, value: await gpu.encode(s) })));
  for (let i = 0; i < samples.length; i += 2000) await producer.send({ topic: config.topics.gpu, acks: -1, messages: samples.slice(i, i + 2000) });
  const lines = [
    billingLineFor({ resourceId: 'i-node-a', start, end: start + HOUR, billed: '98.320000000001', row: 1 }),
    billingLineFor({ resourceId: 'i-node-b', start, end: start + HOUR, billed: '32.7726', row: 2 }),
    { ...billingLineFor({ resourceId: 'i-node-c', start, end: start + HOUR, billed: '10.49264', row: 3 }), Tags: { 'costline:team': 'search', model_version: 'v9' } },
    { ...billingLineFor({ resourceId: 'i-node-a', start, end: start + HOUR, billed: '-3.1', row: 4 }), ChargeCategory: 'Credit' as const },
  ];
  await producer.send({ topic: config.topics.billing, acks: -1, messages: await Promise.all(lines.map(async (l) => ({ key: l.ResourceId!, value: await billing.encode(l) }))) });
  await producer.disconnect();
  pipeline = new Pipeline({ config, logger: silentLogger, metrics: createMetrics(new Registry()), ...connections });
  await pipeline.start();
});

afterAll(async () => {
  await pipeline?.stop();
  await connections?.clickhouse.command({ query: `DROP DATABASE IF EXISTS ${config.clickhouse.database}` });
  await connections?.close();
});

const db = () => config.clickhouse.database;
async function rows<T>(query: string): Promise<T[]> {
  return (await connections.clickhouse.query({ query, format: 'JSONEachRow' })).json<T>();
}

describe('billed cost through ClickHouse', () => {
  it('conserves every billing line exactly: attributed plus unattributed equals billed', async () => {
    // No GROUP BY on a Decimal column: ClickHouse 18.16 crashes on Decimal128 group keys.
    const conservation = await eventually(
      () =>
        rows<{ billing_line_id: string; billed: string; allocated: string | null }>(`
          SELECT billing_line_id, toString(billed_cost) AS billed, toString(allocated) AS allocated
          FROM (SELECT billing_line_id, billed_cost FROM ${qualified(db(), 'billing_lines')} FINAL)
          ANY LEFT JOIN (SELECT billing_line_id, sum(billed_cost) AS allocated FROM ${qualified(db(), 'cost_allocation_1m')} FINAL GROUP BY billing_line_id) USING billing_line_id`),
      (r) => r.length === 4,
      120_000,
      'four billing lines allocated',
    );
    for (const line of conservation) expect(parseMoney(line.allocated ?? '0'), line.billing_line_id).toBe(parseMoney(line.billed));
  });

  it('allocates a shared node by GPU-seconds, tags directly, and the rest to the unattributed bucket', async () => {
    const byKey = await rows<{ attribution: string; model_version: string; team: string; billed: string }>(`
      SELECT attribution, model_version, team, toString(sum(billed_cost)) AS billed
      FROM ${qualified(db(), 'cost_allocation_1m')} FINAL GROUP BY attribution, model_version, team ORDER BY attribution, model_version`);
    const find = (attribution: string, version: string) => byKey.find((r) => r.attribution === attribution && r.model_version === version);
    // Node A: 6 of 8 GPUs on v1 the first half hour, 8 of 8 the second: v1 gets (6/8 + 8/8) / 2 of the hour.
    const nodeA = parseMoney('98.320000000001') + parseMoney('-3.1');
    const v1 = parseMoney(find('usage', 'v1')!.billed);
    const v2 = parseMoney(find('usage', 'v2')!.billed);
    expect(v1 + v2).toBe(nodeA);
    expect(Number(v2) / Number(nodeA)).toBeCloseTo(0.125, 6);
    expect(find('tag', 'v9')).toMatchObject({ team: 'search', billed: '10.492640000000' });
    expect(parseMoney(find('unattributed', '')!.billed)).toBe(parseMoney('32.7726'));
  });

  it("learns node A's effective cost per GPU-hour from its attributed billing and the instance type its telemetry names", async () => {
    // Node A: 98.320000000001 billed less a 3.1 credit, for 8 GPUs over the hour.
    const run = await learnRates(connections.clickhouse, { ...config, cost: { ...config.cost, learnedRates: { ...config.cost.learnedRates, minGpuHours: 1 } } }, Date.now(), true);
    expect(run.rates.map((r) => [r.provider, r.instanceType, r.region, r.resources])).toEqual([['aws', 'p5.48xlarge', 'us-east-1', 1]]);
    expect(run.rates[0]!.gpuHours).toBeCloseTo(8, 9);
    expect(run.rates[0]!.perGpuHour).toBeCloseTo((98.320000000001 - 3.1) / 8, 9);
  });
});
