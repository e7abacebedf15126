import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ChangePointDetector,
  ChangePointScorer,
  CHANGE_POINT_RULE,
  changePointDetectorSchema,
  changePointScorerSchema,
  changePointStateSize,
  DEFAULT_CHANGE_POINT_SCORER,
  type PointScore,
} from '../../../detectors/index.js';
import { MIN, modelWindow, Random, T0 } from './builders.js';

const FIVE_MIN = 300_000;

/** Scores a series of 5-minute points from T0. */
function scoreSeries(values: number[], scorer = new ChangePointScorer()): PointScore[] {
  return values.map((value, i) => scorer.score(T0 + i * FIVE_MIN, value));
}

function noisy(length: number, seed: number, level = 100, sd = 5): number[] {
  const random = new Random(seed);
  return Array.from({ length }, () => level + sd * random.normal());
}

function alarmsAt(scores: PointScore[]): number[] {
  return scores.flatMap((s, i) => (s.alarm ? [i] : []));
}

describe('change-point scorer', () => {
  it('keeps every score within [0, 1], whatever the series', () => {
    fc.assert(
      fc.property(fc.array(fc.double({ min: -1e9, max: 1e9, noNaN: true, noDefaultInfinity: true }), { maxLength: 400 }), (values) => {
        for (const point of scoreSeries(values, new ChangePointScorer(changePointScorerSchema.parse({ historyPoints: 16, calibrationPoints: 64, minCalibrationPoints: 16 })))) {
          expect(point.score).toBeGreaterThanOrEqual(0);
          expect(point.score).toBeLessThanOrEqual(1);
        }
      }),
      { numRuns: 30 },
    );
  });

  it('holds bounded state: never more numbers than its settings allow, however long the series', () => {
    const scorer = new ChangePointScorer();
    scoreSeries(noisy(6000, 1), scorer);
    expect(scorer.storedValues()).toBeLessThanOrEqual(changePointStateSize(DEFAULT_CHANGE_POINT_SCORER));
    const before = scorer.storedValues();
    scoreSeries(noisy(3000, 2), scorer);
    expect(scorer.storedValues()).toBeLessThanOrEqual(changePointStateSize(DEFAULT_CHANGE_POINT_SCORER));
    expect(scorer.storedValues()).toBeLessThanOrEqual(before + 5 * 288 * 4);
  });

  it('is deterministic: the same points give the same scores', () => {
    const values = noisy(1500, 3);
    expect(scoreSeries(values).map((s) => s.score)).toEqual(scoreSeries(values).map((s) => s.score));
  });

  it('scores nothing while it warms up', () => {
    const values = noisy(200, 4);
    values[150] = 1e6;
    expect(scoreSeries(values).every((s) => s.score === 0)).toBe(true);
  });

  it('stays quiet on stationary noise', () => {
    const scores = scoreSeries(noisy(3000, 5));
    expect(alarmsAt(scores).length).toBeLessThanOrEqual(1);
  });

  it('alarms within a few points of a level shift, once', () => {
    const values = [...noisy(1200, 6), ...noisy(400, 7, 140)];
    const alarms = alarmsAt(scoreSeries(values));
    expect(alarms.length).toBe(1);
    expect(alarms[0]).toBeGreaterThanOrEqual(1200);
    expect(alarms[0]).toBeLessThanOrEqual(1206);
  });

  it('alarms on a single spike far outside anything seen, pointing up', () => {
    const values = noisy(1200, 8);
    values[1100] = 400;
    const scores = scoreSeries(values);
    expect(scores[1100]!.alarm).toBe(true);
    expect(scores[1100]!.direction).toBe(1);
  });

  it('holds its score at 0 after an alarm while the baseline adopts the new level', () => {
    const values = [...noisy(1200, 9), ...noisy(300, 10, 200)];
    const scores = scoreSeries(values);
    const first = alarmsAt(scores)[0]!;
    expect(scores.slice(first + 1, first + DEFAULT_CHANGE_POINT_SCORER.onsetHoldPoints + 1).every((s) => s.score === 0)).toBe(true);
  });

  it('scores an event once at any threshold: a later point less surprising than a recent one scores 0', () => {
    const values = noisy(1100, 8);
    values[1000]! += 60;
    values[1010]! += 40;
    const settings = changePointScorerSchema.parse({ onsetHoldPoints: 0 });
    const scores = scoreSeries(values, new ChangePointScorer(settings));
    expect(scores[1000]!.alarm).toBe(true);
    expect(scores[1010]!.surprise).toBeGreaterThan(settings.operatingSurprise);
    expect(scores[1010]!.score).toBe(0);
    // Without the rule the smaller spike would be a second detection.
    expect(scoreSeries(values, new ChangePointScorer({ ...settings, recordPoints: 0 }))[1010]!.alarm).toBe(true);
  });

  it('stops alarming on a spike the series keeps repeating every few days', () => {
    const values = noisy(9000, 7);
    const spikes = Array.from({ length: 12 }, (_, k) => 1000 + 700 * k);
    for (const at of spikes) values[at]! += 60;
    const alarms = alarmsAt(scoreSeries(values));
    expect(alarms).toContain(spikes[0]);
    for (const at of spikes.slice(-3)) expect(alarms).not.toContain(at);
    // Without the peaks memory each one is news again: the two-day calibration has forgotten the last.
    const forgetful = alarmsAt(scoreSeries(values, new ChangePointScorer({ ...DEFAULT_CHANGE_POINT_SCORER, peakBlocks: 0 })));
    for (const at of spikes.slice(-3)) expect(forgetful).toContain(at);
  });

  it('learns a daily pattern: the same daily peak is not an anomaly day after day', () => {
    const random = new Random(11);
    const day = 288;
    const values = Array.from({ length: 8 * day }, (_, i) => {
      const minuteOfDay = i % day;
      const peak = minuteOfDay >= 100 && minuteOfDay < 130 ? 80 : 0; // a 2.5-hour batch every day
      return 50 + peak + 2 * random.normal();
    });
    const atPeaks = alarmsAt(scoreSeries(values)).filter((i) => i >= 3 * day && [99, 100, 130, 131].some((edge) => Math.abs((i % day) - edge) <= 3));
    expect(atPeaks).toEqual([]);
  });

  it('judges a point with the raw baseline where the daily profile has no past days at that time of day', () => {
    const scorer = new ChangePointScorer();
    const random = new Random(9);
    const HOUR = 12 * FIVE_MIN;
    let last: PointScore | undefined;
    for (let i = 0; i < 4 * 288; i += 1) {
      const timestamp = T0 + i * FIVE_MIN;
      const hourOfDay = Math.floor(((timestamp % 86_400_000) + 86_400_000) % 86_400_000 / HOUR);
      // The first three days have no points between 12:00 and 13:00; the fourth has one, at 12:30.
      if (hourOfDay === 12 && (i < 3 * 288 || (timestamp % HOUR) !== 6 * FIVE_MIN)) continue;
      last = scorer.score(timestamp, 100 + 50 * Math.sin((2 * Math.PI * i) / 288) + random.normal());
      if (hourOfDay === 12) break;
      if (i >= 3 * 288) expect(last.model).toBe('seasonal');
    }
    expect(last?.model).toBe('raw');
  });

  it('explains a daily spike that comes back at about the same time of day', () => {
    const random = new Random(12);
    const day = 288;
    const values = Array.from({ length: 8 * day }, () => 10 + random.normal());
    for (let d = 0; d < 8; d += 1) values[d * day + 40 + ((d * 5) % 9) - 4] = 60; // a nightly job, ± 20 min of jitter
    const alarms = alarmsAt(scoreSeries(values)).filter((i) => i >= 3 * day);
    expect(alarms).toEqual([]);
  });

  it('rejects a value that is not finite, naming it', () => {
    expect(() => new ChangePointScorer().score(T0, Number.POSITIVE_INFINITY)).toThrow(/finite values, got Infinity/);
  });

  it('validates its settings with messages that name the fix', () => {
    const result = changePointScorerSchema.safeParse({ seasonalBucketMs: 7_000_000 });
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.message).toMatch(/must divide a day/);
  });
});

describe('change-point detector on model windows', () => {
  const settings = changePointDetectorSchema.parse({
    metrics: ['latency_p95_ms', 'tokens_per_gpu_second'],
    scorer: { historyPoints: 30, calibrationPoints: 60, minCalibrationPoints: 30, onsetHoldPoints: 15 },
  });

  function run(latency: (i: number) => number, tokens: (i: number) => number = () => 20_000, length = 160): ReturnType<ChangePointDetector['observe']> {
    const detector = new ChangePointDetector(settings);
    const random = new Random(21);
    const alerts = [];
    for (let i = 0; i < length; i += 1) alerts.push(...detector.observe(modelWindow(i, { latencyP95Ms: latency(i) + 10 * random.normal(), outputTokens: tokens(i) + 200 * random.normal() })));
    return alerts;
  }

  it('fires when latency p95 moves up and stays up, naming the metric in the key', () => {
    const alerts = run((i) => (i < 120 ? 800 : 1600));
    expect(alerts[0]).toMatchObject({ rule: CHANGE_POINT_RULE, status: 'firing', metric: 'latency_p95_ms', key: 'llama-3.1-70b|v1|us-east-1|latency_p95_ms' });
    expect(alerts[0]!.window_start).toBeLessThanOrEqual(T0 + 123 * MIN);
    expect(alerts[0]!.evidence).toMatch(/latency p95 of llama-3.1-70b v1 in us-east-1 moved to 1,6\d\d ms/);
  });

  it('stays quiet when latency improves: only the worse direction is a regression', () => {
    expect(run((i) => (i < 120 ? 800 : 400))).toEqual([]);
  });

  it('fires when tokens per GPU-second drop: lower is worse for throughput', () => {
    const alerts = run(() => 800, (i) => (i < 120 ? 20_000 : 8_000));
    expect(alerts[0]).toMatchObject({ status: 'firing', metric: 'tokens_per_gpu_second' });
  });

  it('skips windows with too few requests for their percentiles to mean anything', () => {
    const detector = new ChangePointDetector(settings);
    expect(detector.observe(modelWindow(0, { requests: 3 }))).toEqual([]);
    expect(detector.size).toBe(0);
  });

  it('does not call one error in a few dozen requests a regression of the error rate', () => {
    const oneError = (minErrors: number) => {
      const detector = new ChangePointDetector({ ...settings, metrics: ['error_rate'], minErrors, minAbsoluteChange: { ...settings.minAbsoluteChange, error_rate: 0 } });
      const alerts = [];
      for (let i = 0; i < 200; i += 1) alerts.push(...detector.observe(modelWindow(i, { requests: 40, errors: i >= 150 ? 1 : 0 })));
      return alerts;
    };
    expect(oneError(0).length).toBeGreaterThan(0);
    expect(oneError(settings.minErrors)).toEqual([]);
  });

  it('fires when errors rise by enough of them to matter', () => {
    const detector = new ChangePointDetector({ ...settings, metrics: ['error_rate'] });
    const alerts = [];
    for (let i = 0; i < 200; i += 1) alerts.push(...detector.observe(modelWindow(i, { requests: 200, errors: i >= 150 ? 12 : 0 })));
    expect(alerts[0]).toMatchObject({ status: 'firing', metric: 'error_rate' });
  });

  it('does not page for a p95 moving a few milliseconds, whatever its relative size', () => {
    const fastEndpoint = (minAbsoluteMs: number) => {
      const detector = new ChangePointDetector({ ...settings, metrics: ['latency_p95_ms'], minAbsoluteChange: { ...settings.minAbsoluteChange, latency_p95_ms: minAbsoluteMs } });
      const random = new Random(5);
      const alerts = [];
      for (let i = 0; i < 160; i += 1) alerts.push(...detector.observe(modelWindow(i, { latencyP95Ms: (i < 120 ? 20 : 26) + 0.3 * random.normal() })));
      return alerts;
    };
    expect(fastEndpoint(0).length).toBeGreaterThan(0);
    expect(fastEndpoint(settings.minAbsoluteChange.latency_p95_ms)).toEqual([]);
  });
});

