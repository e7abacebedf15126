import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DetectorSet, detectorSetSchema, parsePlaybook, PlaybookEngine, PriceChangeDetector, priceChangeSchema, PRICE_CHANGE_RULE, type UnitPriceWindow } from '../../../detectors/index.js';
import type { Alert } from '../../../schemas/index.js';
import { HOUR, MIN, T0 } from './builders.js';

const settings = priceChangeSchema.parse({});

/** The billing of charge hour `hour` as delivered an hour later: one minute window of the SKU's list price. */
function priceWindow(hour: number, listUnitPrice: number, overrides: Partial<UnitPriceWindow> = {}): UnitPriceWindow {
  const delivered = T0 + (hour + 1) * HOUR;
  return {
    kind: 'unit_price',
    key: 'aws|us-east-1|E1BE45CB7F|Hours|USD',
    dimensions: { provider: 'aws', region: 'us-east-1', sku_id: 'E1BE45CB7F', pricing_unit: 'Hours', instance_type: 'p5.48xlarge' },
    windowStart: delivered,
    windowEnd: delivered + MIN,
    product: 'p5.48xlarge',
    currency: 'USD',
    pricingUnit: 'Hours',
    listUnitPrice,
    effectiveShare: 1,
    quantityPerHour: 4,
    chargePeriodStart: T0 + hour * HOUR,
    ...overrides,
  };
}

function run(detector: PriceChangeDetector, windows: UnitPriceWindow[]): Alert[] {
  return windows.flatMap((w) => detector.observe(w));
}

const hours = (from: number, to: number, price: number, overrides: Partial<UnitPriceWindow> = {}) => Array.from({ length: to - from }, (_, i) => priceWindow(from + i, price, overrides));

describe('price change', () => {
  it('fires once on a step of the list price, naming the SKU, both prices and the money at stake per hour', () => {
    const alerts = run(new PriceChangeDetector(settings), [...hours(0, 4, 98.32), priceWindow(4, 127.82)]);
    expect(alerts).toHaveLength(1);
    const [alert] = alerts;
    expect(alert).toMatchObject({ rule: PRICE_CHANGE_RULE, status: 'firing', severity: 'critical', metric: 'list_unit_price', observed: 127.82, baseline: 98.32, window_start: T0 + 5 * HOUR });
    expect(alert!.score).toBeCloseTo(127.82 / 98.32, 9);
    expect(alert!.evidence).toBe('list price of p5.48xlarge in us-east-1 up ×1.30 (98.32 → 127.82 USD/hour), +$118/h at current usage (4.0 hours per hour, after discounts), for charge periods from 2026-11-02 04:00 UTC');
  });

  it('states the money at stake after discounts: a commitment paying 72% of list moves 72% of the difference', () => {
    const [alert] = run(new PriceChangeDetector(settings), [priceWindow(0, 10, { effectiveShare: 0.72 }), priceWindow(1, 12, { effectiveShare: 0.72, quantityPerHour: 10 })]);
    expect(alert!.evidence).toContain('+$14.40/h at current usage');
    expect(alert!.severity).toBe('warning');
  });

  it('stays quiet on lines of one price over partial hours and varying usage', () => {
    const windows = [1, 0.25, 3.5, 0.01, 12, 2].map((quantity, hour) => priceWindow(hour, (98.32 * quantity) / quantity, { quantityPerHour: quantity }));
    expect(run(new PriceChangeDetector(settings), windows)).toEqual([]);
  });

  it('stays quiet when a commitment discount comes or goes: the list price did not move', () => {
    const windows = [1, 1, 0.72, 0.72, 1, 0.5].map((effectiveShare, hour) => priceWindow(hour, 98.32, { effectiveShare }));
    expect(run(new PriceChangeDetector(settings), windows)).toEqual([]);
  });

  it('stays quiet on a change below minRelativeChange', () => {
    expect(run(new PriceChangeDetector(settings), [...hours(0, 3, 100), ...hours(3, 6, 104)])).toEqual([]);
  });

  it('does not notify a new price of a SKU hardly used, and takes it as the baseline after establishAfterWindows', () => {
    const detector = new PriceChangeDetector(settings);
    const tiny = { quantityPerHour: 0.01 };
    expect(run(detector, [priceWindow(0, 10, tiny), ...hours(1, 4, 13, tiny)])).toEqual([]);
    // 13 is established now: back at 10 is the change, and with usage it is notified.
    expect(run(detector, [priceWindow(4, 10, { quantityPerHour: 100 })]).map((a) => a.status)).toEqual(['firing']);
  });

  it('resolves once the new price has held for establishAfterWindows windows, saying it is the new baseline', () => {
    const alerts = run(new PriceChangeDetector(settings), [...hours(0, 3, 98.32), ...hours(3, 8, 127.82)]);
    expect(alerts.map((a) => [a.status, a.window_start])).toEqual([
      ['firing', T0 + 4 * HOUR],
      ['resolved', T0 + 6 * HOUR],
    ]);
    expect(alerts[1]!.evidence).toBe('list price of p5.48xlarge in us-east-1 is 127.82 USD/hour for charge periods from 2026-11-02 03:00 UTC on (was 98.32 USD/hour): the new price is established');
    expect(alerts[1]!.alert_id).toBe(alerts[0]!.alert_id);
  });

  it('resolves when the price returns, and fires a new episode on the next step', () => {
    const alerts = run(new PriceChangeDetector(settings), [...hours(0, 3, 50), priceWindow(3, 60), priceWindow(4, 50), priceWindow(5, 50), priceWindow(6, 60)]);
    expect(alerts.map((a) => a.status)).toEqual(['firing', 'resolved', 'firing']);
    expect(alerts[1]!.evidence).toBe('list price of p5.48xlarge in us-east-1 back at 50.00 USD/hour');
    expect(alerts[2]!.alert_id).not.toBe(alerts[0]!.alert_id);
  });

  it('keeps the episode open through a window of little usage at the new price', () => {
    const alerts = run(new PriceChangeDetector(priceChangeSchema.parse({ establishAfterWindows: 5 })), [...hours(0, 3, 50), priceWindow(3, 60), priceWindow(4, 60, { quantityPerHour: 0.001 })]);
    expect(alerts.map((a) => a.status)).toEqual(['firing']);
  });

  it('reports a price decrease as info', () => {
    const [alert] = run(new PriceChangeDetector(settings), [...hours(0, 2, 100), priceWindow(2, 80)]);
    expect(alert).toMatchObject({ status: 'firing', severity: 'info' });
    expect(alert!.evidence).toContain('down ×0.80 (100.00 → 80.00 USD/hour), −$80.00/h');
  });

  it('sees each window once: a replayed window changes nothing', () => {
    const detector = new PriceChangeDetector(settings);
    run(detector, hours(0, 3, 50));
    expect(run(detector, [priceWindow(3, 60), priceWindow(3, 60)])).toHaveLength(1);
  });

  it('keeps constant state per SKU and forgets SKUs silent for staleAfterMs, resolving their open episode', () => {
    const detector = new PriceChangeDetector(settings);
    for (let sku = 0; sku < 50; sku++) run(detector, hours(0, 20, 10 + sku).map((w) => ({ ...w, key: `aws|us-east-1|SKU-${sku}|Hours|USD` })));
    expect(detector.size).toBe(50);
    run(detector, [priceWindow(0, 10), priceWindow(1, 20)]);
    const closed = detector.advance(T0 + 21 * HOUR + settings.staleAfterMs + MIN);
    expect(detector.size).toBe(0);
    expect(closed.map((a) => [a.status, a.key])).toEqual([['resolved', 'aws|us-east-1|E1BE45CB7F|Hours|USD']]);
  });

  it('runs in the detector set on unit_price windows, and can be turned off', () => {
    const set = new DetectorSet(detectorSetSchema.parse({}));
    expect(set.rules).toContain(PRICE_CHANGE_RULE);
    const alerts = [...hours(0, 3, 98.32), priceWindow(3, 127.82)].flatMap((w) => set.observe(w));
    expect(alerts.map((a) => a.rule)).toEqual([PRICE_CHANGE_RULE]);
    expect(new DetectorSet(detectorSetSchema.parse({ priceChange: { enabled: false } })).rules).not.toContain(PRICE_CHANGE_RULE);
  });

  it('starts from a warm-started price: a change during a restart fires on the first delivery after it', () => {
    const set = new DetectorSet(detectorSetSchema.parse({}));
    set.warmStart([priceWindow(0, 98.32, { quantityPerHour: 0, chargePeriodStart: T0 })]);
    expect(set.observe(priceWindow(1, 127.82)).map((a) => a.status)).toEqual(['firing']);
  });

  it('opens a finops review of an increase through the default playbook, and nothing for a decrease', () => {
    const engine = new PlaybookEngine(parsePlaybook(readFileSync(new URL('../../../deploy/playbooks/default.yaml', import.meta.url), 'utf8'), 'default.yaml'));
    const [increase] = run(new PriceChangeDetector(settings), [priceWindow(0, 98.32), priceWindow(1, 127.82)]);
    expect(engine.decide(increase!).map((d) => [d.action, d.target_key, d.parameters])).toEqual([['open_review', 'aws|us-east-1|E1BE45CB7F', { queue: 'finops', list_price: '127.82', previous_list_price: '98.32' }]]);
    const [decrease] = run(new PriceChangeDetector(settings), [priceWindow(0, 98.32), priceWindow(1, 80)]);
    expect(engine.decide(decrease!)).toEqual([]);
  });
});
