import { describe, expect, it } from 'vitest';
import { LatencyRegressionDetector, type LatencyObservation } from '../../../detectors/index.js';
import { MIN, Random, T0 } from './builders.js';

const settings = { historyWindows: 60, minHistory: 10, ratio: 1.5, minDeltaMs: 50, minRequests: 20, minZ: 4, fireAfter: 2, resolveAfter: 3 };

function observation(i: number, latencyP95Ms: number): LatencyObservation {
  return { key: 'm|v2|eu-west-1', dimensions: { model_name: 'm', model_version: 'v2', region: 'eu-west-1' }, windowStart: T0 + i * MIN, windowEnd: T0 + (i + 1) * MIN, requests: 40, latencyP95Ms };
}

/** Firing windows of a key whose p95 over ~40 requests wanders by `spread` (log scale) around 20 s, then jumps by `jump`. */
function firings(minZ: number, spread: number, jump = 1): number[] {
  const detector = new LatencyRegressionDetector({ ...settings, minZ });
  const random = new Random(11);
  const fired: number[] = [];
  for (let i = 0; i < 600; i += 1) {
    const alert = detector.observe(observation(i, 20_000 * Math.exp(spread * random.normal()) * (i >= 500 ? jump : 1)));
    if (alert?.status === 'firing') fired.push(i);
  }
  return fired;
}

describe('latency p95 regression: the key\'s own noise as a yardstick', () => {
  it('stays quiet on a low-traffic key whose p95 swings by half on its own', () => {
    expect(firings(0, 0.3).length).toBeGreaterThan(0);
    expect(firings(4, 0.3)).toEqual([]);
  });

  it('still fires on a regression well beyond that noise', () => {
    expect(firings(4, 0.3, 4).filter((i) => i >= 500)[0]).toBeLessThanOrEqual(503);
  });
});
