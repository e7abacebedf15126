import { describe, expect, it } from 'vitest';
import { RegionalLatencyDetector, REGIONAL_LATENCY_RULE, regionalLatencySchema, type ModelWindow } from '../../../detectors/index.js';
import type { Alert } from '../../../schemas/index.js';
import { MIN, modelWindow, Random, statuses, T0 } from './builders.js';

const settings = regionalLatencySchema.parse({});
const REGIONS = ['eu-west-1', 'us-east-1', 'us-west-2'];

function run(p95: (region: string, i: number) => number, windows = 20, order: string[] = REGIONS, shape?: (region: string, i: number) => Partial<ModelWindow>): Alert[] {
  const detector = new RegionalLatencyDetector(settings);
  const alerts: Alert[] = [];
  for (let i = 0; i < windows; i += 1) for (const region of order) alerts.push(...detector.observe(modelWindow(i, { region, latencyP95Ms: p95(region, i), ...shape?.(region, i) })));
  alerts.push(...detector.advance(T0 + windows * MIN));
  return alerts;
}

/** Windows of history before the regions' usual gaps are known and a latency verdict can be made. */
const LEARN = settings.usualGapMinHistory;
const slowEu = (region: string, i: number) => (region === 'eu-west-1' ? (i >= LEARN + 5 ? 2000 : 750) : region === 'us-west-2' ? 700 : 800);

describe('regional latency against the other regions serving the same version', () => {
  it("fires for the slow region, naming the peers' median and the fastest region to shift to", () => {
    const alerts = run(slowEu, LEARN + 15);
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatchObject({ rule: REGIONAL_LATENCY_RULE, status: 'firing', key: 'llama-3.1-70b|v1|eu-west-1', metric: 'latency_p95_ms', observed: 2000, baseline: 750, severity: 'critical', window_start: T0 + (LEARN + 6) * MIN });
    expect(alerts[0]!.dimensions.peer_region).toBe('us-west-2');
    expect(alerts[0]!.evidence).toBe('latency p95 of llama-3.1-70b v1 in eu-west-1 is 2,000 ms, ×2.7 the median of the other 2 regions serving it, 750 ms (us-east-1 800 ms, us-west-2 700 ms); us-west-2 is the fastest at 700 ms');
  });

  it('gives the same alerts whatever order the regions arrive in', () => {
    expect(run(slowEu, LEARN + 15, ['us-west-2', 'eu-west-1', 'us-east-1'])).toEqual(run(slowEu, LEARN + 15));
  });

  it('stays quiet when every region slows down together: that is the version, not a region', () => {
    expect(run((_, i) => (i >= LEARN + 5 ? 2000 : 800), LEARN + 15)).toEqual([]);
  });

  it('does not judge a region against peers with too few requests', () => {
    expect(run(slowEu, LEARN + 15, REGIONS, (region) => (region === 'eu-west-1' ? {} : { requests: 3 }))).toEqual([]);
  });

  it('resolves once the region is back in line for three windows', () => {
    expect(statuses(run((region, i) => (region === 'eu-west-1' && i >= LEARN + 5 && i < LEARN + 12 ? 1400 : 800), LEARN + 20))).toEqual(['firing:warning', 'resolved:warning']);
  });

  it("judges a region that is always a little slower against its usual gap, not against parity", () => {
    // eu-west-1 runs 1.25x its peers for 40 windows, then 1.75x (above the 1.5x threshold, but not 1.5x its usual gap).
    const usual = (region: string, i: number) => (region === 'eu-west-1' ? (i < 40 ? 1000 : 1400) : 800);
    expect(run(usual, 60)).toEqual([]);
  });

  it('still fires when such a region gets much worse than its usual gap', () => {
    const worse = (region: string, i: number) => (region === 'eu-west-1' ? (i < 40 ? 1000 : 2400) : 800);
    const alerts = run(worse, 60);
    expect(alerts.map((a) => a.status)).toEqual(['firing']);
    expect(alerts[0]!.evidence).toContain('its usual gap is ×1.3');
  });

  it('makes no latency verdict before the usual gap is known', () => {
    expect(run(slowEu, LEARN)).toEqual([]);
  });

  it("stays quiet on a low-traffic region whose p95 swings by half on its own: its spread is the yardstick", () => {
    const random = new Random(7);
    // Peers at 800 ms; eu-west-1's p95 over a few dozen requests wanders ×1.6 either way, now and then.
    const noisy = (region: string) => (region === 'eu-west-1' ? 800 * Math.exp(0.25 * random.normal()) : 800);
    expect(run(noisy, 240)).toEqual([]);
  });

  it('fires on a region whose error rate is far above its peers, pooled over the last windows', () => {
    const failing = (region: string, i: number): Partial<ModelWindow> => ({ requests: 60, errors: region === 'eu-west-1' && i >= 10 ? 4 : 0 });
    const alerts = run(() => 800, 20, REGIONS, failing);
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatchObject({ rule: REGIONAL_LATENCY_RULE, status: 'firing', key: 'llama-3.1-70b|v1|eu-west-1', metric: 'error_rate', severity: 'warning' });
    expect(alerts[0]!.evidence).toContain('error rate of llama-3.1-70b v1 in eu-west-1 is 6.7% over the last 3 min (12 of 180 requests)');
  });

  it('does not call one error in a few dozen requests a degraded region', () => {
    const oneError = (region: string, i: number): Partial<ModelWindow> => ({ requests: 40, errors: region === 'eu-west-1' && i % 10 === 0 ? 1 : 0 });
    expect(run(() => 800, 60, REGIONS, oneError)).toEqual([]);
  });
});
