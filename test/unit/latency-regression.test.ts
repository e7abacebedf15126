import { describe, expect, it } from 'vitest';
import { LatencyRegressionDetector, LATENCY_REGRESSION_RULE, alertId, type LatencyObservation } from '../../detectors/index.js';
import type { Alert } from '../../schemas/index.js';

const settings = { historyWindows: 10, minHistory: 5, ratio: 1.5, minDeltaMs: 50, minRequests: 20, fireAfter: 2, resolveAfter: 3 };
const MIN = 60_000;
const window = (i: number, p95: number, requests = 100): LatencyObservation => ({
  key: 'm|v2|eu-west-1',
  dimensions: { model_name: 'm', model_version: 'v2', region: 'eu-west-1' },
  windowStart: i * MIN,
  windowEnd: (i + 1) * MIN,
  requests,
  latencyP95Ms: p95,
});

function run(p95s: number[], detector = new LatencyRegressionDetector(settings)): { alerts: Alert[]; at: number[] } {
  const alerts: Alert[] = [];
  const at: number[] = [];
  p95s.forEach((p95, i) => {
    const alert = detector.observe(window(i, p95));
    if (alert) {
      alerts.push(alert);
      at.push(i);
    }
  });
  return { alerts, at };
}

/** Ten windows around 510 ms that swing by a tenth, as a p95 over a hundred requests does. */
const healthy = [460, 560, 510, 480, 540, 510, 470, 550, 500, 520];

describe('latency p95 regression against the trailing median', () => {
  it('fires after two breaching windows, naming the key, the values and the baseline', () => {
    const { alerts, at } = run([...healthy, 1200, 1250]);
    expect(at).toEqual([11]);
    expect(alerts[0]).toMatchObject({ rule: LATENCY_REGRESSION_RULE, status: 'firing', key: 'm|v2|eu-west-1', observed: 1250, baseline: 510, sequence: 0 });
    expect(alerts[0]!.evidence).toContain('m v2 in eu-west-1');
    expect(alerts[0]!.evidence).toContain('×2.5');
  });

  it('counts a first window showing half the jump as the onset: fires on the next, the full one', () => {
    const { alerts, at } = run([...healthy, 700, 1250]);
    expect(at).toEqual([11]);
    expect(alerts[0]).toMatchObject({ status: 'firing', episode_start: alerts[0]!.window_start - 60_000 });
  });

  it('stays quiet on a window showing half a jump next to one showing none', () => {
    expect(run([...healthy, 700, 520, 510]).alerts).toHaveLength(0);
  });

  it('stays quiet on one noisy window', () => {
    expect(run([...healthy, 1200, 510, 505]).alerts).toHaveLength(0);
  });

  it('gives no verdict before the minimum history', () => {
    expect(run([500, 510, 505, 3000, 3000, 3000]).alerts).toHaveLength(0);
  });

  it('ignores windows with too few requests for a meaningful p95', () => {
    const detector = new LatencyRegressionDetector(settings);
    run(healthy, detector);
    expect(detector.observe({ ...window(10, 5000), requests: 5 })).toBeUndefined();
    expect(detector.observe({ ...window(11, 5000), requests: 5 })).toBeUndefined();
  });

  it('resolves after three clean windows, under the same alert id', () => {
    const { alerts } = run([...healthy, 1200, 1250, 1300, 505, 500, 510]);
    expect(alerts.map((a) => a.status)).toEqual(['firing', 'resolved']);
    expect(alerts[1]!.alert_id).toBe(alerts[0]!.alert_id);
    expect(alerts[1]!.sequence).toBe(1);
  });

  it('does not learn a sustained regression as its new baseline', () => {
    const { alerts } = run([...healthy, ...Array(30).fill(1200)]);
    expect(alerts.map((a) => a.status)).toEqual(['firing']);
  });

  it('re-notifies when severity rises, and steps down only after a sustained lower level', () => {
    const { alerts } = run([...healthy, 1200, 1250, 2000, 1200, 2100, 1200, 1200, 1200]);
    expect(alerts.map((a) => `${a.status}:${a.severity}`)).toEqual(['firing:warning', 'updated:critical', 'updated:warning']);
  });

  it('derives the alert id from rule, key and the first breaching window, so a replay gives the same id', () => {
    const first = run([...healthy, 1200, 1250]).alerts[0]!;
    const replay = run([...healthy, 1200, 1250]).alerts[0]!;
    expect(replay.alert_id).toBe(first.alert_id);
    expect(first.alert_id).toBe(alertId(LATENCY_REGRESSION_RULE, 'm|v2|eu-west-1', 10 * MIN));
  });

  it('sees each window once: a re-emitted window changes nothing', () => {
    const detector = new LatencyRegressionDetector(settings);
    run([...healthy, 1200], detector);
    expect(detector.observe(window(10, 1200))).toBeUndefined();
    expect(detector.observe(window(11, 1250))?.status).toBe('firing');
  });
});
