import { describe, expect, it } from 'vitest';
import { CanaryRegressionDetector, CANARY_REGRESSION_RULE, canaryRegressionSchema, alertId, type ModelWindow } from '../../../detectors/index.js';
import type { Alert } from '../../../schemas/index.js';
import { MIN, modelWindow, Random, T0 } from './builders.js';

const settings = canaryRegressionSchema.parse({ metrics: ['latency_p95_ms', 'tokens_per_gpu_second', 'error_rate'] });

/**
 * v1 serves from window 0; v2 starts at window 20 in the same region, shaped by `v2`. Windows of
 * one minute; in each, v1 arrives first (or v2 first when `v2First`).
 */
function rollout(v2: (i: number, random: Random) => Partial<ModelWindow>, windows = 60, detector = new CanaryRegressionDetector(settings), v2First = false): Alert[] {
  const random = new Random(42);
  const alerts: Alert[] = [];
  for (let i = 0; i < windows; i += 1) {
    const previous = modelWindow(i, { latencyP95Ms: 800 + 30 * random.normal(), outputTokens: 20_000 + 300 * random.normal() });
    const next = i >= 20 ? modelWindow(i, { modelVersion: 'v2', latencyP95Ms: 800 + 30 * random.normal(), outputTokens: 20_000 + 300 * random.normal(), ...v2(i, random) }) : undefined;
    for (const window of v2First ? [next, previous] : [previous, next]) if (window) alerts.push(...detector.observe(window));
  }
  alerts.push(...detector.advance(T0 + windows * MIN));
  return alerts;
}

describe('canary regression of a new version against the previous one', () => {
  it('fires when the new version is slower than the previous one over the same windows', () => {
    const alerts = rollout((_, random) => ({ latencyP95Ms: 1300 + 30 * random.normal() }));
    const firing = alerts.find((a) => a.status === 'firing')!;
    expect(firing).toMatchObject({ rule: CANARY_REGRESSION_RULE, metric: 'latency_p95_ms', key: 'llama-3.1-70b|v2|us-east-1|latency_p95_ms', severity: 'critical' });
    expect(firing.dimensions).toMatchObject({ model_version: 'v2', baseline_version: 'v1', region: 'us-east-1' });
    expect(firing.evidence).toMatch(/latency p95 of llama-3.1-70b v2 in us-east-1 is 1,\d{3} ms against \d{3} ms for v1 over the same \d+ windows/);
    expect(firing.evidence).toMatch(/roll back to v1/);
  });

  it('waits for the minimum number of windows of both versions before judging', () => {
    const alerts = rollout((_, random) => ({ latencyP95Ms: 1300 + 30 * random.normal() }));
    const firing = alerts.find((a) => a.status === 'firing')!;
    // v2's 8th window is window 27; two breaching windows are needed to fire.
    expect(firing.window_start).toBe(T0 + 28 * MIN);
  });

  it('stays quiet when the new version is faster', () => {
    expect(rollout((_, random) => ({ latencyP95Ms: 500 + 30 * random.normal() }))).toEqual([]);
  });

  it('stays quiet on a difference that is significant but too small to matter', () => {
    expect(rollout((_, random) => ({ latencyP95Ms: 815 + 3 * random.normal() }))).toEqual([]);
  });

  it('treats fewer tokens per GPU-second as worse', () => {
    const alerts = rollout((_, random) => ({ outputTokens: 12_000 + 300 * random.normal() }));
    expect(alerts.find((a) => a.status === 'firing')).toMatchObject({ metric: 'tokens_per_gpu_second', key: 'llama-3.1-70b|v2|us-east-1|tokens_per_gpu_second' });
  });

  it('fires on a higher error rate even when the previous version had almost none', () => {
    const alerts = rollout(() => ({ errors: 20 }));
    expect(alerts.find((a) => a.status === 'firing')).toMatchObject({ metric: 'error_rate', observed: 0.1 });
  });

  it('ignores windows with too few requests', () => {
    expect(rollout((_, random) => ({ latencyP95Ms: 3000 + 30 * random.normal(), requests: 5 }))).toEqual([]);
  });

  it('resolves an open episode when the new version stops serving (rolled back)', () => {
    const detector = new CanaryRegressionDetector(settings);
    const alerts = rollout((i, random) => ({ latencyP95Ms: 1300 + 30 * random.normal(), ...(i > 40 ? { requests: 0 } : {}) }), 40, detector);
    expect(alerts.map((a) => a.status)).toEqual(['firing']);
    const later = detector.advance(T0 + 40 * MIN + settings.staleAfterMs + MIN);
    expect(later).toHaveLength(1);
    expect(later[0]).toMatchObject({ status: 'resolved', alert_id: alerts[0]!.alert_id });
  });

  it('names the episode deterministically: a replay gives the same alert id', () => {
    const first = rollout((_, random) => ({ latencyP95Ms: 1300 + 30 * random.normal() }))[0]!;
    const replay = rollout((_, random) => ({ latencyP95Ms: 1300 + 30 * random.normal() }))[0]!;
    expect(replay.alert_id).toBe(first.alert_id);
    expect(first.alert_id).toBe(alertId(CANARY_REGRESSION_RULE, first.key, first.episode_start));
  });

  it('compares the same windows whatever order the versions arrive in', () => {
    const slower = (_: number, random: Random): Partial<ModelWindow> => ({ latencyP95Ms: 1300 + 30 * random.normal() });
    const forwards = rollout(slower);
    const backwards = rollout(slower, 60, new CanaryRegressionDetector(settings), true);
    expect(forwards.length).toBeGreaterThan(0);
    expect(backwards).toEqual(forwards);
  });

  it('holds state for a bounded number of versions per model and region', () => {
    const detector = new CanaryRegressionDetector(settings);
    for (let v = 0; v < 20; v += 1) for (let i = 0; i < 3; i += 1) detector.observe(modelWindow(v * 3 + i, { modelVersion: `v${v}` }));
    detector.advance(T0 + 60 * MIN);
    expect(detector.size).toBeLessThanOrEqual(settings.maxVersions);
  });

  it('compares only the windows both versions reported in: a previous version gone silent is no baseline', () => {
    const detector = new CanaryRegressionDetector(settings);
    const random = new Random(4);
    const alerts: Alert[] = [];
    for (let i = 0; i < 70; i += 1) {
      // v1 loses its replicas at window 35; v2 slows down from then on, with nothing to compare it with.
      if (i < 35) alerts.push(...detector.observe(modelWindow(i, { latencyP95Ms: 800 + 30 * random.normal() })));
      if (i >= 20) alerts.push(...detector.observe(modelWindow(i, { modelVersion: 'v2', latencyP95Ms: (i < 35 ? 800 : 1600) + 30 * random.normal() })));
    }
    expect(alerts).toEqual([]);
  });

  it('needs enough errors before an error rate can be worse: 0 → 1 error in a window of 20 requests is not a regression', () => {
    const alerts = rollout(() => ({ errors: 1, requests: 20 }));
    // v2's 8th window (27) would do for the rank test; 10 errors in the compared windows take until window 29.
    expect(alerts.find((a) => a.status === 'firing')).toMatchObject({ metric: 'error_rate', window_start: T0 + 30 * MIN });
  });

  it('does not page for a costlier canary whose extra cost is cents per hour, and does when it is dollars', () => {
    const costOnly = canaryRegressionSchema.parse({ metrics: ['cost_per_1k_tokens'] });
    // The previous version costs 0.8 per 60k tokens; the new one 1.5 times as much per token.
    const small = rollout(() => ({ inputTokens: 700, outputTokens: 300, cost: (1000 * 0.8 * 1.5) / 60_000 }), 60, new CanaryRegressionDetector(costOnly));
    const large = rollout(() => ({ cost: 0.8 * 1.5 }), 60, new CanaryRegressionDetector(costOnly));
    expect(small).toEqual([]);
    expect(large.find((a) => a.status === 'firing')).toMatchObject({ metric: 'cost_per_1k_tokens' });
  });
});

