import { describe, expect, it } from 'vitest';
import { BudgetBurnDetector, BUDGET_BURN_RULE, budgetBurnSchema, budgetPeriod } from '../../../detectors/index.js';
import type { Alert } from '../../../schemas/index.js';
import { DAY, HOUR, spendWindow, statuses, T0 } from './builders.js';

// A $10,000 November budget for team ml-research; T0 is 2026-11-02, so 29 days remain.
const settings = budgetBurnSchema.parse({ budgets: [{ name: 'ml-research monthly', match: { team: 'ml-research' }, amount: 10_000, period: 'month' }] });
const FIFTEEN_MIN = 15 * 60_000;

/** Fifteen-minute spend windows of the team's two experiments, at `perHour(i)` dollars per hour in total. */
function run(perHour: (i: number) => number, windows: number, detector = new BudgetBurnDetector(settings)): Alert[] {
  const alerts: Alert[] = [];
  for (let i = 0; i < windows; i += 1) {
    const cost = perHour(i) / 4;
    for (const experiment of ['exp-1', 'exp-2']) {
      alerts.push(...detector.observe(spendWindow(i, cost / 2, { key: `ml-research|${experiment}|prod`, dimensions: { team: 'ml-research', experiment, environment: 'prod' } }, FIFTEEN_MIN)));
    }
  }
  alerts.push(...detector.advance(T0 + windows * FIFTEEN_MIN));
  return alerts;
}

describe('budget burn: projected overrun before it happens', () => {
  it('stays quiet while the spend rate ends the period within budget', () => {
    expect(run(() => 10, 48)).toEqual([]); // $10/h × 29 days ≈ $7,000
  });

  it('fires on the projected overrun with the projected date, long before the money is gone', () => {
    const alerts = run(() => 40, 48); // $40/h: $10,000 gone in about 10 days
    expect(alerts).toHaveLength(1);
    const alert = alerts[0]!;
    expect(alert).toMatchObject({ rule: BUDGET_BURN_RULE, status: 'firing', key: 'budget:ml-research monthly', metric: 'projected_spend', baseline: 10_000, severity: 'warning' });
    expect(alert.dimensions).toEqual({ team: 'ml-research', budget: 'ml-research monthly', period: 'month' });
    expect(alert.window_start).toBe(T0 + 4 * FIFTEEN_MIN); // the fast window (1 h) of data, then a second window for hysteresis
    expect(alert.evidence).toMatch(/^team ml-research has spent \$50\.00 of its \$10,000 budget "ml-research monthly" for the month starting 2026-11-01 \(1%\); at \$40\.00\/h over the last 6 h, \$40\.00\/h over the last 1 h, burn rate ×2\.9, it runs out on 2026-11-12 \d\d:\d\d UTC, 18 d \d+ h before the period ends/);
  });

  it('needs both windows: a burst in the last hour alone does not page', () => {
    // $5/h for a day, then $40/h for an hour: the 1-hour rate projects an overrun, the 6-hour one does not.
    expect(run((i) => (i >= 96 && i < 100 ? 40 : 5), 100)).toEqual([]);
  });

  it('goes critical when the projected overrun is within three days', () => {
    // $9,000 spent in the first hour, then $40/h: the rest is gone in a day.
    const alerts = run((i) => (i < 4 ? 9_000 : 40), 16);
    expect(alerts[0]).toMatchObject({ status: 'firing', severity: 'critical' });
  });

  it('counts each window of each owner once, however often it is re-emitted', () => {
    const detector = new BudgetBurnDetector(settings);
    run(() => 10, 8, detector);
    const replayed = run(() => 10_000, 8, detector); // the same windows again, with other values: ignored
    expect(replayed).toEqual([]);
  });

  it('resolves when the spend slows down enough to end the period within budget', () => {
    expect(statuses(run((i) => (i < 24 ? 40 : 1), 80))).toEqual(['firing:warning', 'resolved:warning']);
  });

  it('computes calendar periods in UTC, weeks from Monday', () => {
    const wednesday = Date.UTC(2026, 10, 4, 15);
    expect(budgetPeriod('day', wednesday)).toEqual({ start: Date.UTC(2026, 10, 4), end: Date.UTC(2026, 10, 5) });
    expect(budgetPeriod('week', wednesday)).toEqual({ start: Date.UTC(2026, 10, 2), end: Date.UTC(2026, 10, 9) });
    expect(budgetPeriod('month', wednesday)).toEqual({ start: Date.UTC(2026, 10, 1), end: Date.UTC(2026, 11, 1) });
    expect(budgetPeriod('week', Date.UTC(2026, 10, 1, 23)).start).toBe(Date.UTC(2026, 9, 26));
  });

  it('rejects budgets with the same name, and a fast window not shorter than the slow one', () => {
    const budget = { name: 'a', match: { team: 't' }, amount: 1 };
    expect(budgetBurnSchema.safeParse({ budgets: [budget, budget] }).error?.issues[0]?.message).toMatch(/unique/);
    expect(budgetBurnSchema.safeParse({ fastWindowMs: 6 * HOUR }).error?.issues[0]?.message).toMatch(/shorter than slowWindowMs/);
    expect(budgetBurnSchema.safeParse({ budgets: [{ ...budget, match: {} }] }).error?.issues[0]?.message).toMatch(/at least one dimension/);
    void DAY;
  });
});

describe('budget burn with owners reporting at different paces', () => {
  it('still counts the money of an owner whose window arrives after the budget judged that window', () => {
    const detector = new BudgetBurnDetector(settings);
    const window = (owner: string, i: number, cost: number) => spendWindow(i, cost, { key: `ml-research|${owner}|prod`, dimensions: { team: 'ml-research', experiment: owner, environment: 'prod' } }, FIFTEEN_MIN);
    // exp-1 reports windows 0-7 first; exp-2's windows arrive afterwards, each $600.
    for (let i = 0; i < 8; i += 1) detector.observe(window('exp-1', i, 1));
    const alerts: Alert[] = [];
    for (let i = 0; i < 8; i += 1) alerts.push(...detector.observe(window('exp-2', i, 600)));
    alerts.push(...detector.observe(window('exp-1', 8, 1)), ...detector.observe(window('exp-2', 8, 600)));
    alerts.push(...detector.observe(window('exp-1', 9, 1)), ...detector.observe(window('exp-2', 9, 600)));
    expect(alerts.map((a) => a.status)).toEqual(['firing']);
    expect(alerts[0]!.evidence).toMatch(/has spent \$5,409 of its \$10,000 budget/);
  });
});
