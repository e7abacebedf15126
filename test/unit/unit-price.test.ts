import { describe, expect, it } from 'vitest';
import avro from 'avsc';
import fc from 'fast-check';
import { addPriceUsage, emptyRollup, priceUsageOf, RollupAggregate, type PriceUsage } from '../../pipeline/core/aggregates.js';
import { CardinalityGuard } from '../../pipeline/core/cardinality.js';
import { moneyToDecimalBytes, parseMoney } from '../../pipeline/core/money.js';
import { fromPartialRollup, toPartialRollup, watermarkRecord } from '../../pipeline/core/partial-rollup.js';
import { RateCard } from '../../pipeline/core/rate-card.js';
import { StageOneTask } from '../../pipeline/core/stage-one.js';
import { HOUR_MS, StageTwoMerger, type MergedRollup } from '../../pipeline/core/stage-two.js';
import { detectorInputs } from '../../pipeline/runtime/detector-inputs.js';
import { contracts, type BillingCost, type PartialRollup } from '../../schemas/index.js';
import { billingLineFor } from '../support/billing-samples.js';
import { inferenceGpuSample } from '../support/contract-samples.js';

const MIN = 60_000;
const T0 = Date.UTC(2026, 10, 2, 5);
const settings = { windowSizeMs: MIN, allowedLatenessMs: 30_000, maxOutOfOrdernessMs: 5_000, idlePartitionMs: 10_000 };
const rateCard = () => new RateCard({ gpuRates: [], defaultPerGpuHour: 2, egressPerGb: 0.09 });
const money = (text: string) => moneyToDecimalBytes(parseMoney(text));
const PROVIDER_KEY = { kind: 'provider_region', dimensions: { provider: 'aws', region: 'us-east-1' } } as const;

/** A compute line of charge hour [T0 - 1h, T0) delivered at `arrival`: `hours` instance-hours at `price` list, `share` of it paid. */
function computeLine(options: { resourceId?: string; hours: number; price: string; share?: string; arrival?: number; sku?: string; row?: number }): BillingCost {
  const list = parseMoney(options.price) * BigInt(Math.round(options.hours * 1e6)) / 1_000_000n;
  const effective = options.share === undefined ? list : (list * parseMoney(options.share)) / parseMoney('1');
  return {
    ...billingLineFor({ resourceId: options.resourceId ?? 'i-0a1b2c3d4e5f67890', start: T0 - HOUR_MS, end: T0, billed: '0', row: options.row ?? 1 }),
    event_time: options.arrival ?? T0 + 5_000,
    BilledCost: moneyToDecimalBytes(list),
    EffectiveCost: moneyToDecimalBytes(effective),
    ListCost: moneyToDecimalBytes(list),
    ListUnitPrice: Number(options.price),
    PricingQuantity: options.hours,
    ConsumedQuantity: options.hours,
    PricingCategory: options.share === undefined ? 'Standard' : 'Committed',
    SkuId: options.sku ?? 'E1BE45CB7F',
  };
}

function usage(overrides: Partial<PriceUsage> = {}): PriceUsage {
  return { skuId: 'E1BE45CB7F', pricingUnit: 'Hours', currency: 'USD', instanceType: '', lines: 1, pricingQuantity: 1, listCostNanos: 98_320_000_000, effectiveCostNanos: 98_320_000_000, chargePeriodStart: T0 - HOUR_MS, chargePeriodEnd: T0, ...overrides };
}

describe('a billing line as unit-price evidence', () => {
  it('carries its SKU, quantity and list cost exactly, in nano-units', () => {
    expect(priceUsageOf(computeLine({ hours: 0.25, price: '98.32', share: '0.72' }), 'p5.48xlarge')).toEqual(
      usage({ instanceType: 'p5.48xlarge', pricingQuantity: 0.25, listCostNanos: 24_580_000_000, effectiveCostNanos: 17_697_600_000 }),
    );
  });

  it('takes ListUnitPrice × PricingQuantity when the export has no ListCost', () => {
    expect(priceUsageOf({ ...computeLine({ hours: 2, price: '98.32' }), ListCost: null }, '')?.listCostNanos).toBe(196_640_000_000);
  });

  it('says nothing for charges that are not usage with a SKU, a quantity and a list price', () => {
    const line = computeLine({ hours: 1, price: '98.32' });
    for (const refused of [
      { ...line, ChargeCategory: 'Purchase' as const },
      { ...line, ChargeCategory: 'Credit' as const },
      { ...line, ChargeClass: 'Correction' },
      { ...line, SkuId: null },
      { ...line, PricingQuantity: 0 },
      { ...line, PricingQuantity: null },
      { ...line, ListCost: null, ListUnitPrice: null },
    ]) {
      expect(priceUsageOf(refused, '')).toBeUndefined();
    }
  });
});

describe('stage 1: billing lines into the provider region window of their arrival', () => {
  it('folds lines of one SKU into one entry, named by the instance type the resource reported', () => {
    const task = new StageOneTask(0, settings, rateCard(), new CardinalityGuard(100));
    task.assign('gpu:0', 0);
    // The resource's instance type is learned as its usage windows close, an hour before its billing lands.
    task.addGpuSample({ ...inferenceGpuSample, event_time: T0 - 5 * MIN }, { partition: 'gpu:0', offset: 0 }, 0);
    task.addGpuSample({ ...inferenceGpuSample, event_time: T0 - MIN }, { partition: 'gpu:0', offset: 1 }, 0);
    task.advance(0);
    expect(task.addBillingLine(computeLine({ hours: 1, price: '98.32' }), { partition: 'billing:0', offset: 0 })).toBe('priced');
    expect(task.addBillingLine(computeLine({ resourceId: 'i-other', hours: 0.5, price: '98.32', share: '0.72', row: 2 }), { partition: 'billing:0', offset: 1 })).toBe('priced');
    task.addGpuSample({ ...inferenceGpuSample, event_time: T0 + 2 * MIN }, { partition: 'gpu:0', offset: 2 }, 0);
    const partial = task.advance(0).partials.find((p) => p.rollup_kind === 'provider_region' && p.dimension_values[0] === 'aws')!;
    expect(partial.window_start).toBe(T0);
    expect(partial.dimension_values).toEqual(['aws', 'us-east-1']);
    expect(partial.unit_prices).toEqual([
      { sku_id: 'E1BE45CB7F', pricing_unit: 'Hours', currency: 'USD', instance_type: 'p5.48xlarge', lines: 2, pricing_quantity: 1.5, list_cost_nanos: 147_480_000_000, effective_cost_nanos: 133_715_200_000, charge_period_start: T0 - HOUR_MS, charge_period_end: T0 },
    ]);
  });

  it('holds the line back from commits until the window its price went into has closed', () => {
    const task = new StageOneTask(0, settings, rateCard(), new CardinalityGuard(100));
    task.assign('gpu:0', 0);
    task.addBillingLine(computeLine({ hours: 1, price: '98.32' }), { partition: 'billing:0', offset: 7 });
    expect(task.committableOffsets().get('billing:0')).toBe(7);
    task.addGpuSample({ ...inferenceGpuSample, event_time: T0 + 5 * MIN }, { partition: 'gpu:0', offset: 0 }, 0);
    task.advance(0);
    expect(task.committableOffsets().get('billing:0')).toBe(8);
  });

  it('does not price a SKU past the cardinality limit (a price mixed over SKUs means nothing), and says the line was not priced', () => {
    const task = new StageOneTask(0, settings, rateCard(), new CardinalityGuard(1));
    expect(task.addBillingLine(computeLine({ hours: 1, price: '98.32', sku: 'A' }), { partition: 'billing:0', offset: 0 })).toBe('priced');
    expect(task.addBillingLine(computeLine({ hours: 1, price: '4.10', sku: 'B' }), { partition: 'billing:0', offset: 1 })).toBe('not-priced');
  });

  it('refuses to price a line arriving in a window already past its lateness', () => {
    const task = new StageOneTask(0, settings, rateCard(), new CardinalityGuard(100));
    task.assign('gpu:0', 0);
    task.addGpuSample({ ...inferenceGpuSample, event_time: T0 + 10 * MIN }, { partition: 'gpu:0', offset: 0 }, 0);
    task.advance(0);
    expect(task.addBillingLine(computeLine({ hours: 1, price: '98.32' }), { partition: 'billing:0', offset: 0 })).toBe('late');
  });
});

describe('unit prices on the internal topic', () => {
  const withPrices = () => {
    const a = emptyRollup();
    addPriceUsage(a.pricesToFold(), usage({ instanceType: 'p5.48xlarge' }));
    addPriceUsage(a.pricesToFold(), usage({ skuId: 'EGRESS', pricingUnit: 'GB', pricingQuantity: 1234.5, listCostNanos: 111_105_000_000, effectiveCostNanos: 111_105_000_000 }));
    return toPartialRollup(0, T0, PROVIDER_KEY, T0, T0 + MIN, 2, a);
  };

  it('survive the Avro round trip and the compact state layout unchanged', () => {
    const p = withPrices();
    const decoded = contracts.partialRollup.type.fromBuffer(contracts.partialRollup.type.toBuffer(p)) as PartialRollup;
    const aggregate = fromPartialRollup(decoded);
    expect(toPartialRollup(0, T0, PROVIDER_KEY, T0, T0 + MIN, 2, RollupAggregate.unpack(aggregate.pack())).unit_prices).toEqual(p.unit_prices);
  });

  it('read as none from a writer before unit_prices, and are skipped by a reader before them', () => {
    const fields = contracts.partialRollup.schema.fields as { name: string }[];
    const olderType = avro.Type.forSchema({ ...contracts.partialRollup.schema, fields: fields.filter((f) => f.name !== 'unit_prices') } as avro.Schema);
    const p = withPrices();
    const fromOlderWriter = contracts.partialRollup.type.fromBuffer(olderType.toBuffer(p), contracts.partialRollup.type.createResolver(olderType)) as PartialRollup;
    expect(fromOlderWriter.unit_prices).toEqual([]);
    expect(fromPartialRollup(fromOlderWriter).prices.size).toBe(0);
    const byOlderReader = olderType.fromBuffer(contracts.partialRollup.type.toBuffer(p), olderType.createResolver(contracts.partialRollup.type)) as Record<string, unknown>;
    expect(byOlderReader.estimated_cost_nanos).toBe(p.estimated_cost_nanos);
    expect(byOlderReader.unit_prices).toBeUndefined();
  });

  it('cost a window without billing nothing on the wire', () => {
    expect(toPartialRollup(0, T0, PROVIDER_KEY, T0, T0 + MIN, 1, emptyRollup()).unit_prices).toEqual([]);
    expect(watermarkRecord(0, T0, false).unit_prices).toEqual([]);
  });
});

/** One SKU's evidence of a line, for the property: small integer-ish values so float sums compare exactly. */
const arbitraryUsage = fc.record({
  skuId: fc.constantFrom('A', 'B', 'C'),
  pricingUnit: fc.constantFrom('Hours', 'GB'),
  currency: fc.constant('USD'),
  instanceType: fc.constantFrom('', 'p5.48xlarge'),
  lines: fc.constant(1),
  pricingQuantity: fc.integer({ min: 1, max: 3600 }).map((s) => s / 16),
  listCostNanos: fc.integer({ min: 1, max: 1e12 }),
  effectiveCostNanos: fc.integer({ min: 0, max: 1e12 }),
  chargePeriodStart: fc.integer({ min: 0, max: 48 }).map((h) => T0 - h * HOUR_MS),
  chargePeriodEnd: fc.integer({ min: 0, max: 48 }).map((h) => T0 + h * HOUR_MS),
});

describe('stage 2: merging the tasks’ unit prices', () => {
  it('gives the same sums, charge periods and labels as one pass over all lines, however they are spread over tasks', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(arbitraryUsage, fc.nat(3)), { minLength: 1, maxLength: 40 }), (lines) => {
        const onePass = new Map<string, PriceUsage>();
        for (const [u] of lines) addPriceUsage(onePass, u);
        const merger = new StageTwoMerger({ windowSizeMs: MIN, allowedLatenessMs: 30_000, expectedTasks: 4 });
        let offset = 0;
        for (let task = 0; task < 4; task++) {
          const a = emptyRollup();
          for (const [u, t] of lines) if (t === task) addPriceUsage(a.pricesToFold(), u);
          if (a.prices.size > 0) merger.add(toPartialRollup(task, T0, PROVIDER_KEY, T0, T0 + MIN, 1, a), { partition: 'internal:0', offset: offset++ });
          merger.add(watermarkRecord(task, T0 + 2 * MIN, false), { partition: 'internal:0', offset: offset++ });
        }
        const [minute] = merger.advance().minutes;
        const merged = minute!.aggregate.prices;
        expect([...merged.keys()].sort()).toEqual([...onePass.keys()].sort());
        for (const [id, expected] of onePass) {
          const got = merged.get(id)!;
          expect({ ...got, instanceType: '', pricingQuantity: 0 }).toEqual({ ...expected, instanceType: '', pricingQuantity: 0 });
          expect(got.pricingQuantity).toBeCloseTo(expected.pricingQuantity, 9);
          // The label is the first one known; which one depends on task order, but one is known when any line had it.
          expect(got.instanceType !== '').toBe(expected.instanceType !== '');
        }
      }),
    );
  });

  it('maps a provider region window onto one unit_price input per SKU, with the list price, discount share and usage per hour', () => {
    const a = new RollupAggregate();
    addPriceUsage(a.pricesToFold(), usage({ instanceType: 'p5.48xlarge', pricingQuantity: 4, listCostNanos: 4 * 98_320_000_000, effectiveCostNanos: 0.72 * 4 * 98_320_000_000 }));
    const r: MergedRollup = { key: PROVIDER_KEY, keyId: 'provider_region|aws|us-east-1', windowStart: T0, windowEnd: T0 + MIN, aggregate: a, version: 1, onTime: true };
    expect(detectorInputs(r, 'USD')).toEqual([
      {
        kind: 'unit_price',
        key: 'aws|us-east-1|E1BE45CB7F|Hours|USD',
        dimensions: { provider: 'aws', region: 'us-east-1', sku_id: 'E1BE45CB7F', pricing_unit: 'Hours', instance_type: 'p5.48xlarge' },
        windowStart: T0,
        windowEnd: T0 + MIN,
        product: 'p5.48xlarge',
        currency: 'USD',
        pricingUnit: 'Hours',
        listUnitPrice: 98.32,
        effectiveShare: 0.72,
        quantityPerHour: 4,
        chargePeriodStart: T0 - HOUR_MS,
      },
    ]);
  });
});
