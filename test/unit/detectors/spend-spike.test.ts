import { describe, expect, it } from 'vitest';
import { SpendSpikeDetector, SPEND_SPIKE_RULE, spendSpikeSchema, type SpendWindow } from '../../../detectors/index.js';
import type { Alert } from '../../../schemas/index.js';
import { HOUR, MIN, Random, spendWindow, statuses, T0 } from './builders.js';

const settings = spendSpikeSchema.parse({});

/** Five-minute spend windows around $2 ($24/h), then whatever `costOf` says. */
function run(costOf: (i: number, random: Random) => number | undefined, windows: number, detector = new SpendSpikeDetector(settings), shape?: (i: number) => Partial<SpendWindow>): Alert[] {
  const random = new Random(9);
  const alerts: Alert[] = [];
  for (let i = 0; i < windows; i += 1) {
    const cost = costOf(i, random) ?? 2 + 0.1 * random.normal();
    alerts.push(...detector.observe(spendWindow(i, cost, shape?.(i), 5 * MIN)));
  }
  return alerts;
}

const spike = (from: number, to: number, cost: number) => (i: number) => (i >= from && i < to ? cost : undefined);

describe('spend spike against a robust baseline', () => {
  it('fires on the second window of a spike, with the ratio, the duration and who spends it', () => {
    const breakdown = [
      { dimensions: { experiment: 'exp-42', region: 'us-east-1' }, cost: 5.2 },
      { dimensions: { experiment: 'exp-42', region: 'eu-west-1' }, cost: 1.2 },
    ];
    const alerts = run(spike(30, 40, 6.4), 40, undefined, (i) => (i >= 30 ? { breakdown } : {}));
    expect(alerts).toHaveLength(1);
    const alert = alerts[0]!;
    expect(alert).toMatchObject({ rule: SPEND_SPIKE_RULE, status: 'firing', key: 'ml-research|exp-42|prod', metric: 'cost_per_hour', window_start: T0 + 31 * 5 * MIN });
    expect(alert.observed).toBeCloseTo(76.8, 5);
    expect(alert.evidence).toMatch(/^spend ×3\.\d over 10 min for experiment exp-42, team ml-research \(prod\): \$76\.80\/h against its recent baseline of \$2\d\.\d\d\/h, 81% from experiment exp-42 in us-east-1$/);
  });

  it('neither fires on one noisy window nor resolves on one clean window', () => {
    expect(run(spike(30, 31, 8), 40)).toEqual([]);
    const alerts = run((i) => (i >= 30 && i < 50 && i !== 40 ? 8 : undefined), 60);
    expect(statuses(alerts)).toEqual(['firing:warning', 'resolved:warning']);
    expect(alerts[1]!.window_start).toBe(T0 + 52 * 5 * MIN);
  });

  it('does not learn a sustained spike as its new baseline', () => {
    expect(statuses(run((i) => (i >= 30 ? 8 : undefined), 200))).toEqual(['firing:warning']);
  });

  it('escalates to critical from five times the baseline', () => {
    expect(statuses(run((i) => (i >= 30 && i < 32 ? 8 : i >= 32 && i < 40 ? 20 : undefined), 40))).toEqual(['firing:warning', 'updated:critical']);
  });

  it('stays quiet when the excess is below the minimum money per hour', () => {
    const detector = new SpendSpikeDetector(spendSpikeSchema.parse({ minExcessPerHour: 100 }));
    expect(run(spike(30, 40, 6.4), 40, detector)).toEqual([]);
  });

  it('learns a daily peak: once there are days of history, the same hour on past days is the baseline', () => {
    // Hourly windows: $10/h, but $60/h from 14:00 to 16:00 every day.
    const detector = new SpendSpikeDetector(settings);
    const random = new Random(10);
    const alerts: Alert[] = [];
    for (let hour = 0; hour < 24 * 8; hour += 1) {
      const hourOfDay = hour % 24;
      const cost = (hourOfDay >= 14 && hourOfDay < 16 ? 60 : 10) * (1 + 0.02 * random.normal());
      alerts.push(...detector.observe(spendWindow(hour, cost, {}, HOUR)));
    }
    const afterHistory = alerts.filter((a) => a.window_start >= T0 + 4 * 24 * HOUR);
    expect(afterHistory).toEqual([]);
  });

  it('sees each window once: a re-emitted window changes nothing', () => {
    const detector = new SpendSpikeDetector(settings);
    run(spike(30, 31, 8), 31, detector);
    expect(detector.observe(spendWindow(30, 8, {}, 5 * MIN))).toEqual([]);
    expect(detector.observe(spendWindow(31, 8, {}, 5 * MIN))[0]?.status).toBe('firing');
  });

  it('closes the episode of an owner that stops reporting', () => {
    const detector = new SpendSpikeDetector(settings);
    const alerts = run(spike(30, 40, 8), 40, detector);
    expect(statuses(alerts)).toEqual(['firing:warning']);
    const closed = detector.advance(T0 + 40 * 5 * MIN + settings.staleAfterMs + MIN);
    expect(closed[0]).toMatchObject({ status: 'resolved', alert_id: alerts[0]!.alert_id });
    expect(closed[0]!.evidence).toMatch(/stopped reporting/);
    expect(detector.size).toBe(0);
  });

  it('judges egress per model and region, all versions together: a rollout moving traffic between versions is no surge', () => {
    const detector = new SpendSpikeDetector(settings);
    const alerts: Alert[] = [];
    for (let i = 0; i < 120; i += 1) {
      // $0.60/h of egress in all; v2 takes over from v1 in steps from window 40.
      const v2Share = i < 40 ? 0 : Math.min(1, 0.25 * Math.floor((i - 40) / 10 + 1));
      for (const [version, share] of [['v1', 1 - v2Share], ['v2', v2Share]] as const) {
        if (share > 0) alerts.push(...detector.observe(egressWindow(i, version, (0.6 / 60) * share)));
      }
    }
    alerts.push(...detector.advance(T0 + 120 * MIN));
    expect(alerts).toEqual([]);
  });

  it('fires on an egress surge of a model in a region, naming no version', () => {
    const detector = new SpendSpikeDetector(settings);
    const alerts: Alert[] = [];
    const random = new Random(3);
    for (let i = 0; i < 60; i += 1) {
      for (const version of ['v1', 'v2']) alerts.push(...detector.observe(egressWindow(i, version, ((i >= 40 ? 0.4 : 0.05) / 60) * (1 + 0.02 * random.normal()))));
    }
    alerts.push(...detector.advance(T0 + 60 * MIN));
    expect(alerts.map((a) => [a.status, a.key, a.metric])).toEqual([['firing', 'llama-3.1-70b|us-east-1|egress', 'egress_cost_per_hour']]);
    expect(alerts[0]!.dimensions).toEqual({ model_name: 'llama-3.1-70b', region: 'us-east-1' });
  });
});

/** One minute of a version's internet egress, as the pipeline keys it. */
function egressWindow(i: number, version: string, cost: number): SpendWindow {
  const dimensions = { model_name: 'llama-3.1-70b', model_version: version, region: 'us-east-1' };
  return spendWindow(i, cost, { scope: 'egress', key: `llama-3.1-70b|${version}|us-east-1|egress`, dimensions, breakdown: [{ dimensions, cost }] });
}

