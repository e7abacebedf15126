import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { allocateBilledCost, type BillingLine, type UsageShare } from '../../pipeline/core/cost-attribution.js';
import { parseMoney, sumMoney } from '../../pipeline/core/money.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
const line = (over: Partial<BillingLine> = {}): BillingLine => ({
  id: 'line-1',
  resourceId: 'i-1',
  provider: 'aws',
  region: 'us-east-1',
  currency: 'USD',
  chargePeriodStart: 0,
  chargePeriodEnd: HOUR,
  billed: parseMoney('98.32'),
  effective: parseMoney('61.5'),
  tags: {},
  ...over,
});
const usage = (windowStart: number, modelVersion: string, gpuSeconds: number): UsageShare => ({ windowStart, modelName: 'llama', modelVersion, region: 'us-east-1', team: 't', experiment: '', environment: 'prod', gpuSeconds });

describe('allocating a billing line to model versions', () => {
  it('prorates an hourly charge over its sixty minutes', () => {
    const allocations = allocateBilledCost(line(), [], MIN);
    expect(allocations).toHaveLength(60);
    expect(new Set(allocations.map((a) => a.billed)).size).toBeLessThanOrEqual(2);
    expect(allocations.every((a) => a.attribution === 'unattributed')).toBe(true);
  });

  it('splits a window by the resource\'s GPU-seconds per model version', () => {
    const allocations = allocateBilledCost(line({ chargePeriodEnd: MIN, billed: parseMoney('3'), effective: parseMoney('3') }), [usage(0, 'v1', 240), usage(0, 'v2', 240 * 2)], MIN);
    expect(allocations.map((a) => [a.modelVersion, a.billed])).toEqual([
      ['v1', parseMoney('1')],
      ['v2', parseMoney('2')],
    ]);
  });

  it('attributes directly by tags when the line names a model version or team', () => {
    const allocations = allocateBilledCost(line({ tags: { 'costline:team': 'search', model_version: 'v9' } }), [usage(0, 'v1', 10)], MIN);
    expect(allocations.every((a) => a.attribution === 'tag' && a.team === 'search' && a.modelVersion === 'v9')).toBe(true);
  });

  it('puts what no usage explains into the unattributed bucket', () => {
    const allocations = allocateBilledCost(line({ chargePeriodEnd: 2 * MIN }), [usage(0, 'v1', 60)], MIN);
    expect(allocations.map((a) => a.attribution)).toEqual(['usage', 'unattributed']);
  });

  it('conserves money exactly per line: attributed plus unattributed equals billed (property)', () => {
    const amount = fc.bigInt({ min: -(10n ** 20n), max: 10n ** 20n });
    fc.assert(
      fc.property(
        amount,
        amount,
        fc.integer({ min: 0, max: 3 * HOUR }),
        fc.integer({ min: 0, max: 3 * HOUR }),
        fc.array(fc.record({ minute: fc.integer({ min: 0, max: 240 }), version: fc.constantFrom('v1', 'v2', 'v3'), gpuSeconds: fc.double({ min: 0, max: 10_000, noNaN: true }) }), { maxLength: 60 }),
        (billed, effective, start, length, shares) => {
          const theLine = line({ billed, effective, chargePeriodStart: start, chargePeriodEnd: start + length });
          const allocations = allocateBilledCost(theLine, shares.map((s) => usage(s.minute * MIN, s.version, s.gpuSeconds)), MIN);
          return sumMoney(allocations.map((a) => a.billed)) === billed && sumMoney(allocations.map((a) => a.effective)) === effective;
        },
      ),
    );
  });
});
