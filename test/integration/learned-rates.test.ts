import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClickHouse, DecimalText, migrate, qualified } from '../../sinks/clickhouse/index.js';
import { readLearnedRates } from '../../sinks/clickhouse/learned-rates.js';
import { learnRates } from '../../pipeline/cli/commands/rates.js';
import { RateCard } from '../../pipeline/core/rate-card.js';
import { LearnedRatesReloader } from '../../pipeline/runtime/learned-rates.js';
import { silentLogger } from '../../pipeline/observability/logger.js';
import { isolatedConfig } from '../support/services.js';
import { inferenceGpuSample } from '../support/contract-samples.js';

const config = isolatedConfig('rates', { COSTLINE__cost__learnedRates__minGpuHours: '1' });
const client = createClickHouse(config.clickhouse);
const db = config.clickhouse.database;
const HOUR = 3_600_000;
const MIN = 60_000;
const now = Date.UTC(2026, 10, 20, 12, 0, 0);

/** A minute of one resource: its GPU-seconds (telemetry) and the effective cost billing attributed to it. */
function minute(resource: string, instanceType: string, windowStart: number, gpuSeconds: number, effectiveCost: string, currency = 'USD') {
  const base = { window_start: windowStart / 1000, resource_id: resource, provider: 'aws', region: 'us-east-1', model_name: 'm', model_version: 'v1', team: 't', experiment: '', environment: 'prod', version: 1 };
  return {
    usage: { ...base, instance_type: instanceType, gpu_seconds: gpuSeconds, estimated_cost: new DecimalText('0') },
    allocation: { ...base, billing_line_id: `${resource}-line`, attribution: 'usage', billing_currency: currency, billed_cost: new DecimalText(effectiveCost), effective_cost: new DecimalText(effectiveCost) },
  };
}

beforeAll(async () => {
  await migrate(client, db);
  const minutes = [];
  // Two p5 nodes, 8 GPUs each, for two hours: $0.16 effective per node-minute = $1.20 per GPU-hour.
  for (let m = 0; m < 120; m++) {
    const start = now - 3 * HOUR + m * MIN;
    minutes.push(minute('i-p5-a', 'p5.48xlarge', start, 480, '0.16'), minute('i-p5-b', 'p5.48xlarge', start, 480, '0.16'));
  }
  // A node billed in euros, and one whose telemetry named no instance type: neither teaches a USD rate.
  for (let m = 0; m < 120; m++) minutes.push(minute('i-eur', 'g5.12xlarge', now - 3 * HOUR + m * MIN, 240, '0.05', 'EUR'), minute('i-unknown', '', now - 3 * HOUR + m * MIN, 240, '0.05'));
  // Two minutes of a g6e: too little evidence for a rate.
  minutes.push(minute('i-g6e', 'g6e.12xlarge', now - HOUR, 240, '0.02'), minute('i-g6e', 'g6e.12xlarge', now - HOUR + MIN, 240, '0.02'));
  await client.insert({ table: qualified(db, 'gpu_usage_1m'), values: minutes.map((m) => m.usage), format: 'JSONEachRow' });
  await client.insert({ table: qualified(db, 'cost_allocation_1m'), values: minutes.map((m) => m.allocation), format: 'JSONEachRow' });
});

afterAll(async () => {
  await client.command({ query: `DROP DATABASE IF EXISTS ${db}` });
  await client.close();
});

describe('rates learned from billing (real ClickHouse)', () => {
  it('learns the effective cost per GPU-hour of an instance type and region from attributed billing over reported GPU-seconds', async () => {
    const run = await learnRates(client, config, now, false);
    expect(run.rates).toHaveLength(1);
    expect(run.rates[0]).toMatchObject({ provider: 'aws', instanceType: 'p5.48xlarge', region: 'us-east-1', currency: 'USD', resources: 2 });
    expect(run.rates[0]!.perGpuHour).toBeCloseTo(1.2, 9);
    expect(run.rates[0]!.gpuHours).toBeCloseTo(32, 9);
    expect(run.skipped).toEqual({ otherCurrency: 1, noInstanceType: 1, tooLittleEvidence: 1 });
    expect(run.version.effectiveFrom).toBe(now + 2 * HOUR);
  });

  it('stores the version so a pipeline prices with it from its effective time on, and with the built-in list price before', async () => {
    const versions = await readLearnedRates(client, db, 'USD', now);
    expect(versions.map((v) => v.effectiveFrom)).toEqual([now + 2 * HOUR]);
    const card = new RateCard(config.cost);
    card.setLearnedRates(versions);
    const sample = { ...inferenceGpuSample, provider: 'aws', instance_type: 'p5.48xlarge', region: 'us-east-1', sample_interval_ms: 3_600_000 };
    expect(card.gpuSampleNanos({ ...sample, event_time: now + 2 * HOUR })).toBe(1.2e9);
    expect(card.gpuSampleNanos({ ...sample, event_time: now + 2 * HOUR - 1 })).toBe(Math.round((98.32 / 8) * 1e9));
  });

  it("a running pipeline's rate card has the stored versions before it prices its first sample", async () => {
    const card = new RateCard(config.cost);
    const reloader = new LearnedRatesReloader(card, client, config, silentLogger, () => now + 3 * HOUR);
    await reloader.start();
    reloader.stop();
    const sample = { ...inferenceGpuSample, provider: 'aws', instance_type: 'p5.48xlarge', region: 'us-east-1', sample_interval_ms: 3_600_000, event_time: now + 3 * HOUR };
    expect(card.gpuSampleNanos(sample)).toBe(1.2e9);
  });

  it('a dry run reports the same rates and stores nothing', async () => {
    const run = await learnRates(client, config, now + HOUR, true);
    expect(run.rates).toHaveLength(1);
    expect(run.written).toBe(false);
    expect((await readLearnedRates(client, db, 'USD', now + 10 * HOUR)).map((v) => v.effectiveFrom)).toEqual([now + 2 * HOUR]);
  });
});
