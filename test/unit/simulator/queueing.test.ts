import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { erlangC, nextBacklog, queueDepth, steadyState, type ReplicaSetCapacity } from '../../../pipeline/simulate/fleet/index.js';
import { MINUTE, runFleet } from './support.js';

const capacityArbitrary = fc.record({
  servers: fc.integer({ min: 1, max: 2_000 }),
  serviceMsEmpty: fc.double({ min: 50, max: 20_000, noNaN: true }),
  serviceMsFullExtra: fc.double({ min: 0, max: 20_000, noNaN: true }),
});

/** The arrival rate at which the replica set saturates (offered load 1). */
const saturation = (c: ReplicaSetCapacity) => c.servers / ((c.serviceMsEmpty + c.serviceMsFullExtra) / 1000);

describe('Erlang C', () => {
  it('matches the closed forms of M/M/1 (ρ) and M/M/2 at one erlang (1/3)', () => {
    expect(erlangC(1, 0.7)).toBeCloseTo(0.7, 12);
    expect(erlangC(2, 1)).toBeCloseTo(1 / 3, 12);
  });

  it('stays a probability for thousands of servers near saturation', () => {
    const p = erlangC(5_000, 4_990);
    expect(p).toBeGreaterThan(0);
    expect(p).toBeLessThanOrEqual(1);
  });
});

describe('replica-set queueing model', () => {
  it('gives more load more utilisation and never less queue wait', () => {
    fc.assert(
      fc.property(capacityArbitrary, fc.double({ min: 0, max: 1.5, noNaN: true }), fc.double({ min: 0, max: 1.5, noNaN: true }), (capacity, a, b) => {
        const [low, high] = a <= b ? [a, b] : [b, a];
        const light = steadyState(low * saturation(capacity), capacity);
        const heavy = steadyState(high * saturation(capacity), capacity);
        expect(heavy.offeredLoad).toBeGreaterThanOrEqual(light.offeredLoad);
        expect(heavy.slotUtilization).toBeGreaterThanOrEqual(light.slotUtilization);
        expect(heavy.meanQueueWaitMs).toBeGreaterThanOrEqual(light.meanQueueWaitMs * (1 - 1e-9));
        expect(heavy.waitProbability).toBeGreaterThanOrEqual(light.waitProbability - 1e-9);
      }),
    );
  });

  it('slows decode as the batch fills, so the service time grows with load', () => {
    const capacity = { servers: 48, serviceMsEmpty: 6_000, serviceMsFullExtra: 6_000 };
    expect(steadyState(0.1 * saturation(capacity), capacity).meanServiceMs).toBeLessThan(steadyState(0.9 * saturation(capacity), capacity).meanServiceMs);
  });

  it('grows a backlog without bound while offered load is at or above 1, and drains it when load falls', () => {
    fc.assert(
      fc.property(capacityArbitrary, fc.double({ min: 1.05, max: 3, noNaN: true }), (capacity, overload) => {
        const lambda = overload * saturation(capacity);
        const state = steadyState(lambda, capacity);
        expect(state.offeredLoad).toBeGreaterThanOrEqual(1);
        let backlog = 0;
        const depths: number[] = [];
        for (let second = 0; second < 5; second++) {
          backlog = nextBacklog(backlog, lambda, state, 1);
          depths.push(queueDepth(lambda, state, backlog));
        }
        for (let i = 1; i < depths.length; i++) expect(depths[i]!).toBeGreaterThan(depths[i - 1]!);
        const calm = steadyState(0.5 * saturation(capacity), capacity);
        for (let second = 0; second < 10_000 && backlog > 0; second++) backlog = nextBacklog(backlog, 0.5 * saturation(capacity), calm, 1);
        expect(backlog).toBe(0);
      }),
    );
  });
});

describe('the fleet under load', () => {
  it('shows more traffic as busier GPUs, fuller KV caches and longer queue waits', () => {
    const light = runFleet({ seed: 3, spanMs: 15 * MINUTE, peakRatePerSecond: 40, gpus: 64, regions: 1 });
    const heavy = runFleet({ seed: 3, spanMs: 15 * MINUTE, peakRatePerSecond: 400, gpus: 64, regions: 1 });
    const mean = (values: number[]) => values.reduce((s, v) => s + v, 0) / values.length;
    const servingUtil = (run: typeof light) => mean(run.gpu.filter((g) => g.workload === 'inference').map((g) => g.gpu_utilization));
    const kv = (run: typeof light) => mean(run.queue.map((q) => q.kv_cache_usage_perc));
    const wait = (run: typeof light) => run.queue.reduce((s, q) => s + q.queue_wait_ms_sum, 0) / Math.max(1, run.queue.reduce((s, q) => s + q.queue_wait_count, 0));
    const latency = (run: typeof light) => mean(run.tokens.filter((t) => t.status === 'ok').map((t) => t.latency_ms / Math.max(1, t.output_tokens)));
    expect(servingUtil(heavy)).toBeGreaterThan(servingUtil(light) + 20);
    expect(kv(heavy)).toBeGreaterThan(kv(light));
    expect(wait(heavy)).toBeGreaterThan(wait(light));
    expect(latency(heavy)).toBeGreaterThan(latency(light));
  });
});
