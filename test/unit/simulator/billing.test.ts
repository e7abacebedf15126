import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { moneyFromDecimalBytes, parseMoney, sumMoney, UNITS_PER_CURRENCY_UNIT } from '../../../pipeline/core/money.js';
import { buildFleet, computeLine, costForSeconds, HOUR_MS } from '../../../pipeline/simulate/fleet/index.js';
import { HOUR, MINUTE, runFleet, START } from './support.js';

const amount = (bytes: Buffer) => moneyFromDecimalBytes(bytes);

describe('simulated billing export', () => {
  const delay = 2 * HOUR;
  const run = runFleet({ seed: 4, spanMs: 5 * HOUR, billingDelayMs: delay, peakRatePerSecond: 5, gpuSampleIntervalMs: 60_000, queueSampleIntervalMs: 60_000 });
  const compute = run.billing.filter((l) => l.ServiceCategory === 'Compute');

  it('bills every node once per charge hour, in FOCUS shape', () => {
    const hours = [...new Set(compute.map((l) => l.ChargePeriodStart))].sort();
    expect(hours.length).toBeGreaterThanOrEqual(3);
    for (const hour of hours) {
      const lines = compute.filter((l) => l.ChargePeriodStart === hour);
      expect(lines.map((l) => l.ResourceId).sort()).toEqual(run.fleet.nodes.map((n) => n.resourceId).sort());
      for (const line of lines) {
        expect(line.ChargePeriodEnd - line.ChargePeriodStart).toBe(HOUR_MS);
        expect(line.ChargeCategory).toBe('Usage');
        expect(line.ConsumedUnit).toBe('Hours');
        expect(line.BillingCurrency).toBe('USD');
      }
    }
  });

  it('delivers each line its configured delay after the charge hour ends, never earlier', () => {
    for (const line of run.billing) expect(line.event_time).toBe(line.ChargePeriodEnd + delay);
    expect(Math.min(...run.billing.map((l) => l.event_time))).toBeGreaterThanOrEqual(START);
    expect(Math.max(...run.billing.map((l) => l.event_time))).toBeLessThan(START + 5 * HOUR);
    // The last hours' lines are still in the export pipeline when the run ends.
    expect(run.simulation.stats.billingInTransit).toBeGreaterThan(0);
  });

  it('charges hourly price × hours exactly: a node’s lines sum to its price times the hours billed', () => {
    for (const node of run.fleet.nodes) {
      const lines = compute.filter((l) => l.ResourceId === node.resourceId);
      expect(sumMoney(lines.map((l) => amount(l.BilledCost)))).toBe(node.hourlyPrice * BigInt(lines.length));
    }
  });

  it('tags a dedicated node with its team and model, and discounts committed serving capacity in EffectiveCost', () => {
    const serving = compute.find((l) => l.Tags.endpoint !== undefined)!;
    expect(serving.Tags.team).toBeTruthy();
    expect(serving.Tags.model).toBeTruthy();
    expect(amount(serving.EffectiveCost) * 100n).toBe(amount(serving.BilledCost) * 72n);
    const training = compute.find((l) => l.Tags.experiment !== undefined)!;
    expect(amount(training.EffectiveCost)).toBe(amount(training.BilledCost));
  });

  it('keys a billing line by the same resource id as the GPU samples of that node', () => {
    const gpuResources = new Set(run.gpu.map((g) => g.resource_id));
    for (const line of compute) expect(gpuResources.has(line.ResourceId!)).toBe(true);
  });

  it('is exact for any list price and any whole number of hours', () => {
    const template = buildFleet({ seed: 1, gpus: 8, regions: 1 }).nodes[0]!;
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 500_000_000 }), fc.integer({ min: 1, max: 24 * 31 }), (micros, hours) => {
        const price = (BigInt(micros) * UNITS_PER_CURRENCY_UNIT) / 1_000_000n;
        const node = { ...template, hourlyPrice: price };
        const lines = Array.from({ length: hours }, (_, h) => computeLine(node, price, { chargeHourStartMs: START + h * HOUR_MS, arrivalMs: START + (h + 1) * HOUR_MS, seed: 1, row: h + 1 })!);
        expect(sumMoney(lines.map((l) => amount(l.BilledCost)))).toBe(price * BigInt(hours));
      }),
      { numRuns: 50 },
    );
  });
});

describe('billing of egress and of nodes that come and go', () => {
  const run = runFleet({
    seed: 8,
    spanMs: 3 * HOUR + MINUTE,
    billingDelayMs: 0,
    peakRatePerSecond: 10,
    gpuSampleIntervalMs: 60_000,
    incidents: [{ kind: 'runaway-experiment', start: '35m', end: '2h10m', scale: 2 }],
  });

  it('bills internet egress per endpoint and hour at the provider price per GB, from the bytes the requests sent', () => {
    const hourStart = START + HOUR; // a charge hour entirely inside the run
    const egress = run.billing.filter((l) => l.ServiceCategory === 'Networking' && l.ChargePeriodStart === hourStart);
    expect(egress.length).toBe(run.fleet.deployments.length);
    for (const deployment of run.fleet.deployments) {
      const line = egress.find((l) => l.ResourceId === deployment.egressResourceId)!;
      const bytes = run.tokens
        .filter((t) => t.endpoint === deployment.model.endpoint && t.region === deployment.region.id && t.event_time >= hourStart && t.event_time < hourStart + HOUR)
        .reduce((s, t) => s + BigInt(t.egress_bytes), 0n);
      expect(amount(line.BilledCost)).toBe((parseMoney('0.09') * bytes) / 1_000_000_000n);
    }
  });

  it('bills a node that came up mid-hour for the seconds it ran', () => {
    const extra = run.simulation.effects.extraNodes()[0]!;
    expect(run.simulation.truth()[0]!.resources).toContain(extra.resourceId);
    const lines = run.billing.filter((l) => l.ResourceId === extra.resourceId).sort((a, b) => a.ChargePeriodStart - b.ChargePeriodStart);
    // Up at 00:35, down at 02:10: 25 minutes, a full hour, 10 minutes.
    expect(lines.map((l) => l.ConsumedQuantity)).toEqual([25 / 60, 1, 10 / 60]);
    expect(lines.map((l) => amount(l.BilledCost))).toEqual([costForSeconds(extra.hourlyPrice, 25 * 60), extra.hourlyPrice, costForSeconds(extra.hourlyPrice, 10 * 60)]);
  });
});
