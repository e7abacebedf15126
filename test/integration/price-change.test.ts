import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Registry } from 'prom-client';
import { connect, prepare, type Connections } from '../../pipeline/runtime/bootstrap.js';
import { Pipeline } from '../../pipeline/runtime/pipeline.js';
import { createMetrics } from '../../pipeline/observability/metrics.js';
import { silentLogger } from '../../pipeline/observability/logger.js';
import { moneyToDecimalBytes, parseMoney } from '../../pipeline/core/money.js';
import avro from 'avsc';
import { contracts, SchemaRegistryClient, valueSubject, WireCodec, type Alert, type BillingCost, type GpuSample, type PartialRollup, type PlaybookAction } from '../../schemas/index.js';
import { emptyRollup } from '../../pipeline/core/aggregates.js';
import { toPartialRollup } from '../../pipeline/core/partial-rollup.js';
import { priceHistory } from '../../pipeline/runtime/warm-start.js';
import { BillingAttribution } from '../../pipeline/runtime/billing-attribution.js';
import { toBillingLine } from '../../pipeline/core/cost-attribution.js';
import { inferenceGpuSample } from '../support/contract-samples.js';
import { billingLineFor } from '../support/billing-samples.js';
import { eventually, isolatedConfig } from '../support/services.js';
import { readTopicUntilIdle } from '../support/read-topic.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
/**
 * The test produces seven hours of telemetry at once, and the consumer may read it before the
 * billing lines (in production both arrive at the wall clock): a telemetry lateness longer than
 * the run lets every line's price into the window of its arrival whatever order the topics are read in.
 */
const config = isolatedConfig('price', { COSTLINE__windows__telemetry__allowedLatenessMs: String(9 * HOUR), COSTLINE__windows__telemetry__maxOutOfOrdernessMs: '5000' });
const start = Math.floor((Date.now() - 8 * HOUR) / HOUR) * HOUR;
const PRICES = ['98.32', '98.32', '98.32', '127.82', '127.82', '127.82'];
let connections: Connections;
let alerts: Alert[] = [];
let actions: PlaybookAction[] = [];
const metrics = createMetrics(new Registry());

/** One p5.48xlarge node reporting every minute for seven hours: what moves the telemetry watermark. */
function gpuSamples(): GpuSample[] {
  const samples: GpuSample[] = [];
  for (let t = start; t < start + 7 * HOUR; t += MIN) samples.push({ ...inferenceGpuSample, event_time: t, sample_interval_ms: MIN, resource_id: 'i-node-a' });
  return samples;
}

/** Its compute line of each charge hour, delivered 30 s after the hour ends, at the hour's list price. */
function billingLines(): BillingCost[] {
  return PRICES.map((price, hour) => {
    const cost = moneyToDecimalBytes(parseMoney(price));
    const chargeStart = start + hour * HOUR;
    return { ...billingLineFor({ resourceId: 'i-node-a', start: chargeStart, end: chargeStart + HOUR, billed: price, row: hour + 1 }), event_time: chargeStart + HOUR + 30_000, ListCost: cost, ContractedCost: cost, ListUnitPrice: Number(price) };
  });
}

beforeAll(async () => {
  connections = connect(config, '-price');
  await prepare(config, connections, silentLogger);
  const gpu = new WireCodec<GpuSample>(connections.registry, contracts.gpuSample, valueSubject(config.topics.gpu));
  const billing = new WireCodec<BillingCost>(connections.registry, contracts.billingCost, valueSubject(config.topics.billing));
  const producer = connections.kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  await producer.send({ topic: config.topics.billing, acks: -1, messages: await Promise.all(billingLines().map(async (l) => ({ key: l.ResourceId!, value: await billing.encode(l) }))) });
  await producer.send({ topic: config.topics.gpu, acks: -1, messages: await Promise.all(gpuSamples().map(async (s) => ({ key: s.resource_id, value: await gpu.encode(s) }))) });
  await producer.disconnect();
  const pipeline = new Pipeline({ config, logger: silentLogger, metrics, ...connections });
  const seen: Alert[] = [];
  pipeline.on('alert', (alert: Alert) => seen.push(alert));
  await pipeline.start();
  try {
    await eventually(async () => seen.filter((a) => a.rule === 'price_change').length, (n) => n >= 2, 120_000, 'the price change to fire and be established');
  } finally {
    await pipeline.stop();
  }
  alerts = (await readTopicUntilIdle(connections.kafka, config.topics.alerts, new WireCodec<Alert>(connections.registry, contracts.alert, valueSubject(config.topics.alerts)), `${config.kafka.groupId}-alerts`)).filter((a) => a.rule === 'price_change');
  actions = await readTopicUntilIdle(connections.kafka, config.topics.actions, new WireCodec<PlaybookAction>(connections.registry, contracts.action, valueSubject(config.topics.actions)), `${config.kafka.groupId}-actions`);
}, 300_000);

afterAll(async () => {
  await connections?.clickhouse.command({ query: `DROP DATABASE IF EXISTS ${config.clickhouse.database}` });
  await connections?.close();
});

describe('a list price change through the real pipeline', () => {
  it('publishes price_change on the alerts topic in the window the first line at the new price arrived in, with both prices', () => {
    const firing = alerts.find((a) => a.status === 'firing');
    expect(firing, JSON.stringify(alerts)).toMatchObject({ key: 'aws|us-east-1|SKU-GPU|Hours|USD', severity: 'warning', observed: 127.82, baseline: 98.32, window_start: start + 4 * HOUR });
    expect(firing!.dimensions).toMatchObject({ provider: 'aws', region: 'us-east-1', sku_id: 'SKU-GPU', pricing_unit: 'Hours' });
    expect(firing!.evidence).toContain('up ×1.30 (98.32 → 127.82 USD/hour), +$29.50/h at current usage');
  });

  it('resolves the episode once the new price is established, under the same alert id', () => {
    const resolved = alerts.find((a) => a.status === 'resolved');
    expect(resolved, JSON.stringify(alerts)).toMatchObject({ alert_id: alerts.find((a) => a.status === 'firing')!.alert_id, window_start: start + 6 * HOUR });
    expect(resolved!.evidence).toContain('the new price is established');
  });

  it('counts every line as price evidence: none refused, none late', async () => {
    const outcomes = (await metrics.billingPriceEvidence.get()).values.map((v) => [v.labels.outcome, v.value]);
    expect(outcomes).toEqual([['priced', PRICES.length]]);
  });

  it('opens a finops review of the SKU through the default playbook', () => {
    const review = actions.find((a) => a.alert_id === alerts.find((x) => x.status === 'firing')!.alert_id);
    expect(review, JSON.stringify(actions)).toMatchObject({ action: 'open_review', status: 'proposed' });
  });
});

describe('price baselines after a restart', () => {
  it('are the list unit prices the billing writer stored, per SKU, the latest charge period winning, usage lines only', async () => {
    const line = (sku: string, hour: number, list: string, quantity: number, extra: Partial<BillingCost> = {}): BillingCost => {
      const chargeStart = start + hour * HOUR;
      return { ...billingLineFor({ resourceId: `i-${sku}-${hour}`, start: chargeStart, end: chargeStart + HOUR, billed: list, row: 100 + hour }), SkuId: sku, ListCost: moneyToDecimalBytes(parseMoney(list)), PricingQuantity: quantity, ...extra };
    };
    const lines = [
      line('SKU-W-GPU', 0, '98.32', 1),
      line('SKU-W-GPU', 1, '49.16', 0.5),
      line('SKU-W-GPU', 2, '127.82', 1),
      line('SKU-W-GPU', 3, '-5', 1, { ChargeCategory: 'Credit' }),
      line('SKU-W-EGRESS', 2, '0.5', 5, { PricingUnit: 'GB' }),
    ];
    const writer = new BillingAttribution(connections.clickhouse, config, () => undefined);
    for (const l of lines) writer.remember(l);
    await writer.allocate(lines.map(toBillingLine));
    const history = (await priceHistory(connections.clickhouse, config, Date.now())).filter((w) => w.key.includes('SKU-W-'));
    expect(history.map((w) => [w.key, w.listUnitPrice, w.windowStart]).sort()).toEqual([
      ['aws|us-east-1|SKU-W-EGRESS|GB|USD', 0.1, start + 3 * HOUR],
      ['aws|us-east-1|SKU-W-GPU|Hours|USD', 127.82, start + 3 * HOUR],
    ]);
  });
});

describe('the internal topic while stage-1 instances upgrade to unit prices', () => {
  it('the registry takes the partial-rollup schema with unit_prices over the one without, and each side reads the other', async () => {
    const registry = new SchemaRegistryClient(config.schemaRegistry);
    const fields = contracts.partialRollup.schema.fields as { name: string }[];
    const olderSchema = { ...contracts.partialRollup.schema, fields: fields.filter((f) => f.name !== 'unit_prices') };
    const older = { name: contracts.partialRollup.name, schema: olderSchema, type: avro.Type.forSchema(olderSchema as avro.Schema) };
    const subject = valueSubject(`${config.topics.partials}.upgrade`);
    await registry.registerWithCompatibility(subject, olderSchema, 'BACKWARD');
    const current = new WireCodec<PartialRollup>(registry, contracts.partialRollup, subject);
    const previous = new WireCodec<PartialRollup>(new SchemaRegistryClient(config.schemaRegistry), older, subject);
    const a = emptyRollup();
    a.pricesToFold().set('x', { skuId: 'SKU-GPU', pricingUnit: 'Hours', currency: 'USD', instanceType: '', lines: 1, pricingQuantity: 1, listCostNanos: 98_320_000_000, effectiveCostNanos: 98_320_000_000, chargePeriodStart: start, chargePeriodEnd: start + HOUR });
    const partial = toPartialRollup(0, start, { kind: 'provider_region', dimensions: { provider: 'aws', region: 'us-east-1' } }, start, start + MIN, 1, a);
    const fromCurrent = await previous.decode(await current.encode(partial));
    expect(fromCurrent.ok && (fromCurrent.value as unknown as Record<string, unknown>).unit_prices).toBeUndefined();
    const fromPrevious = await current.decode(await previous.encode(partial));
    expect(fromPrevious.ok && fromPrevious.value.unit_prices).toEqual([]);
  });
});
