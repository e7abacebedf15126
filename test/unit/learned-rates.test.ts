import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { effectiveFromFor, learnGpuRates, type ResourceRateEvidence } from '../../pipeline/core/learned-rates.js';
import { RateCard } from '../../pipeline/core/rate-card.js';
import { inferenceGpuSample } from '../support/contract-samples.js';

const HOUR = 3_600_000;
const settings = { currency: 'USD', minGpuHours: 1 };
const evidence = (resourceId: string, effectiveCost: string, gpuSeconds: number, over: Partial<ResourceRateEvidence> = {}): ResourceRateEvidence => ({
  resourceId,
  provider: 'AWS',
  instanceType: 'p5.48xlarge',
  region: 'us-east-1',
  currency: 'USD',
  effectiveCost,
  gpuSeconds,
  ...over,
});

describe('learning GPU rates from billing', () => {
  it('pools the resources of one instance type and region: total effective cost over total GPU-hours', () => {
    const { rates } = learnGpuRates([evidence('a', '10', 7200), evidence('b', '2', 3600)], settings);
    expect(rates).toEqual([{ provider: 'aws', instanceType: 'p5.48xlarge', region: 'us-east-1', currency: 'USD', perGpuHour: 4, gpuHours: 3, resources: 2 }]);
  });

  it('keeps regions apart and skips other currencies, unnamed instance types and thin evidence, counting each', () => {
    const outcome = learnGpuRates(
      [evidence('a', '10', 3600), evidence('b', '30', 3600, { region: 'eu-west-1' }), evidence('c', '5', 3600, { currency: 'EUR' }), evidence('d', '5', 3600, { instanceType: '' }), evidence('e', '5', 60, { instanceType: 'g5.12xlarge' })],
      settings,
    );
    expect(outcome.rates.map((r) => [r.region, r.perGpuHour])).toEqual([
      ['eu-west-1', 30],
      ['us-east-1', 10],
    ]);
    expect(outcome.skipped).toEqual({ otherCurrency: 1, noInstanceType: 1, tooLittleEvidence: 1 });
  });

  it('does not depend on the order the evidence comes in', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 10_000_000 }), fc.integer({ min: 1, max: 100_000 })), { minLength: 1, maxLength: 20 }), (parts) => {
        const items = parts.map(([cents, seconds], i) => evidence(`r${i}`, (cents / 100).toFixed(2), seconds * 36));
        const forward = learnGpuRates(items, { ...settings, minGpuHours: 0 }).rates;
        const backward = learnGpuRates([...items].reverse(), { ...settings, minGpuHours: 0 }).rates;
        expect(backward).toEqual(forward);
        const cost = parts.reduce((s, [c]) => s + c / 100, 0);
        const hours = parts.reduce((s, [, sec]) => s + (sec * 36) / 3600, 0);
        expect(forward[0]!.perGpuHour).toBeCloseTo(cost / hours, 6);
      }),
    );
  });

  it('takes effect at the start of the hour after the lead time, never sooner', () => {
    expect(effectiveFromFor(Date.UTC(2026, 0, 1, 10, 0, 0), 2 * HOUR)).toBe(Date.UTC(2026, 0, 1, 12, 0, 0));
    expect(effectiveFromFor(Date.UTC(2026, 0, 1, 10, 0, 1), 2 * HOUR)).toBe(Date.UTC(2026, 0, 1, 13, 0, 0));
  });
});

describe('the rate card with learned rates', () => {
  const sample = { ...inferenceGpuSample, provider: 'aws', instance_type: 'p5.48xlarge', region: 'us-east-1', sample_interval_ms: HOUR };
  const learned = (effectiveFrom: number, perGpuHour: number) => ({ effectiveFrom, rates: [{ provider: 'aws', instanceType: 'p5.48xlarge', region: 'us-east-1', currency: 'USD', perGpuHour, gpuHours: 10, resources: 1 }] });
  const base = { gpuRates: [], defaultPerGpuHour: 2.5, egressPerGb: 0.09 };

  it('prices each sample with the version in effect at its event time, the built-in list price before the first', () => {
    const card = new RateCard(base);
    card.setLearnedRates([learned(10 * HOUR, 7), learned(5 * HOUR, 6)]);
    expect(card.gpuSampleNanos({ ...sample, event_time: 4 * HOUR })).toBe(Math.round((98.32 / 8) * 1e9));
    expect(card.gpuSampleNanos({ ...sample, event_time: 5 * HOUR })).toBe(6e9);
    expect(card.gpuSampleNanos({ ...sample, event_time: 10 * HOUR })).toBe(7e9);
  });

  it('lets a configured rate win over a learned one', () => {
    const card = new RateCard({ ...base, gpuRates: [{ provider: 'aws', instanceType: 'p5.48xlarge', perGpuHour: 3 }] });
    card.setLearnedRates([learned(0, 7)]);
    expect(card.gpuSampleNanos({ ...sample, event_time: HOUR })).toBe(3e9);
  });

  it('falls back to the list price for an instance type the learned version does not name', () => {
    const card = new RateCard(base);
    card.setLearnedRates([learned(0, 7)]);
    expect(card.gpuSampleNanos({ ...sample, instance_type: 'p4d.24xlarge', event_time: HOUR })).toBe(Math.round((32.77 / 8) * 1e9));
  });
});
