import { describe, expect, it } from 'vitest';
import { RegionalLatencyDetector, REGIONAL_LATENCY_RULE, regionalLatencySchema, type ModelWindow } from '../../../detectors/index.js';
import type { Alert } from '../../../schemas/index.js';
import { MIN, modelWindow, statuses, T0 } from './builders.js';

const settings = regionalLatencySchema.parse({});
const REGIONS = ['eu-west-1', 'us-east-1', 'us-west-2'];

function run(p95: (region: string, i: number) => number, windows = 20, order: string[] = REGIONS, shape?: (region: string, i: number) => Partial<ModelWindow>): Alert[] {
  const detector = new RegionalLatencyDetector(settings);
  const alerts: Alert[] = [];
  for (let i = 0; i < windows; i += 1) for (const region of order) alerts.push(...detector.observe(modelWindow(i, { region, latencyP95Ms: p95(region, i), ...shape?.(region, i) })));
  alerts.push(...detector.advance(T0 + windows * MIN));
  return alerts;
}

const slowEu = (region: string, i: number) => (region === 'eu-west-1' && i >= 10 ? 2000 : region === 'us-west-2' ? 700 : 800);

describe('regional latency against the other regions serving the same version', () => {
  it("fires for the slow region, naming the peers' median and the fastest region to shift to", () => {
    const alerts = run(slowEu);
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatchObject({ rule: REGIONAL_LATENCY_RULE, status: 'firing', key: 'llama-3.1-70b|v1|eu-west-1', observed: 2000, baseline: 750, severity: 'critical', window_start: T0 + 11 * MIN });
    expect(alerts[0]!.dimensions.peer_region).toBe('us-west-2');
    expect(alerts[0]!.evidence).toBe('latency p95 of llama-3.1-70b v1 in eu-west-1 is 2,000 ms, ×2.7 the median of the other 2 regions serving it, 750 ms (us-east-1 800 ms, us-west-2 700 ms); us-west-2 is the fastest at 700 ms');
  });

  it('gives the same alerts whatever order the regions arrive in', () => {
    expect(run(slowEu, 20, ['us-west-2', 'eu-west-1', 'us-east-1'])).toEqual(run(slowEu));
  });

  it('stays quiet when every region slows down together: that is the version, not a region', () => {
    expect(run((_, i) => (i >= 10 ? 2000 : 800))).toEqual([]);
  });

  it('does not judge a region against peers with too few requests', () => {
    expect(run(slowEu, 20, REGIONS, (region) => (region === 'eu-west-1' ? {} : { requests: 3 }))).toEqual([]);
  });

  it('resolves once the region is back in line for three windows', () => {
    expect(statuses(run((region, i) => (region === 'eu-west-1' && i >= 5 && i < 12 ? 1400 : 800)))).toEqual(['firing:warning', 'resolved:warning']);
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
});
