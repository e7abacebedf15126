import { describe, expect, it } from 'vitest';
import { CauseGrouping, DetectorSet, detectorSetSchema } from '../../../detectors/index.js';
import type { Alert } from '../../../schemas/index.js';
import { MIN, modelWindow, Random, T0 } from './builders.js';

let nextId = 0;

/** An alert message of a rule on one model version in one region. */
function alert(rule: string, status: Alert['status'], overrides: Partial<Alert> = {}, dimensions: Record<string, string> = {}): Alert {
  return {
    alert_id: `id-${nextId++}`,
    sequence: status === 'firing' ? 0 : 1,
    rule,
    severity: 'warning',
    status,
    key: `${rule}-key`,
    dimensions: { model_name: 'llama-3.1-70b', model_version: 'v2', region: 'us-east-1', ...dimensions },
    window_start: T0,
    window_end: T0 + MIN,
    episode_start: T0,
    metric: 'latency_p95_ms',
    observed: 2,
    baseline: 1,
    score: 1,
    evidence: '',
    ...overrides,
  };
}

const later = (a: Alert, status: Alert['status']): Alert => ({ ...a, status, sequence: a.sequence + 1 });

describe('cause grouping: one page per cause', () => {
  it('absorbs a later firing of a rule of the same rank on the same version, and every later message of it', () => {
    const grouping = new CauseGrouping();
    const latency = alert('latency_p95_regression', 'firing');
    const changePoint = alert('change_point', 'firing');
    expect(grouping.filter([latency])).toEqual([latency]);
    expect(grouping.filter([changePoint])).toEqual([]);
    expect(grouping.filter([later(changePoint, 'updated'), later(changePoint, 'resolved')])).toEqual([]);
  });

  it('publishes a canary regression on a version a generic rule already covers: it names the cause and drives the rollback', () => {
    const grouping = new CauseGrouping();
    const latency = alert('latency_p95_regression', 'firing');
    const canary = alert('canary_regression', 'firing', { metric: 'ttft_p95_ms' });
    const canaryLatency = alert('canary_regression', 'firing', { metric: 'latency_p95_ms' });
    grouping.filter([latency]);
    expect(grouping.filter([canary])).toEqual([canary]);
    expect(grouping.filter([canaryLatency])).toEqual([]);
  });

  it('lets the regional rule claim a subject first when rules of one rank fire in the same window', () => {
    const grouping = new CauseGrouping();
    const changePoint = alert('change_point', 'firing');
    const regional = alert('regional_latency', 'firing');
    expect(grouping.filter([changePoint, regional])).toEqual([regional]);
  });

  it('covers every version in a region while a regional degradation there is open', () => {
    const grouping = new CauseGrouping();
    grouping.filter([alert('regional_latency', 'firing')]);
    expect(grouping.filter([alert('change_point', 'firing', {}, { model_name: 'mixtral-8x7b', model_version: 'v7' })])).toEqual([]);
    const elsewhere = alert('change_point', 'firing', {}, { region: 'eu-west-1' });
    expect(grouping.filter([elsewhere])).toEqual([elsewhere]);
  });

  it('publishes a new firing once the alert that covered its subject has resolved', () => {
    const grouping = new CauseGrouping();
    const latency = alert('latency_p95_regression', 'firing');
    grouping.filter([latency]);
    grouping.filter([later(latency, 'resolved')]);
    const changePoint = alert('change_point', 'firing');
    expect(grouping.filter([changePoint])).toEqual([changePoint]);
  });

  it('never absorbs rules with remedies of their own: spend, waste, queue saturation', () => {
    const grouping = new CauseGrouping();
    grouping.filter([alert('regional_latency', 'firing')]);
    const others = [alert('queue_saturation', 'firing'), alert('spend_spike', 'firing'), alert('gpu_waste', 'firing')];
    expect(grouping.filter(others)).toEqual(others);
    expect(grouping.size).toBe(1);
  });

  it('turns a regression seen by several rules on one key into one page in the detector set', () => {
    const random = new Random(5);
    const inputs = Array.from({ length: 100 }, (_, i) => modelWindow(i, { latencyP95Ms: (i < 80 ? 800 : 2000) + 20 * random.normal(), ttftP95Ms: (i < 80 ? 250 : 900) + 10 * random.normal() }));
    const firing = (oneAlertPerCause: boolean) => {
      const set = new DetectorSet(detectorSetSchema.parse({ oneAlertPerCause, changePoint: { scorer: { historyPoints: 30, calibrationPoints: 60, minCalibrationPoints: 30, onsetHoldPoints: 15 } } }), {
        latencyRegression: { historyWindows: 30, minHistory: 10, ratio: 1.5, minDeltaMs: 50, minRequests: 20, minZ: 4, fireAfter: 2, resolveAfter: 3 },
      });
      return inputs.flatMap((input) => set.observe(input)).filter((a) => a.status === 'firing');
    };
    expect(firing(false).length).toBeGreaterThan(1);
    expect(firing(true).map((a) => a.rule)).toEqual(['latency_p95_regression']);
  });
});
