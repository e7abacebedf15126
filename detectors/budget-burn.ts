import { z } from 'zod';
import type { Alert } from '../schemas/index.js';
import { AlertEpisode, type Verdict } from './alert-episode.js';
import { WindowAligner } from './aligned-windows.js';
import { DAY_MS } from './daily-profile.js';
import { describeDimensions, formatDuration, formatMoney, formatPercent, formatRatio, formatUtc } from './evidence.js';
import type { SpendWindow } from './inputs.js';
import { episodeSettingsShape, silenceVerdict } from './series-table.js';

export const BUDGET_BURN_RULE = 'budget_burn';
const HOUR_MS = 3_600_000;

export const budgetSchema = z.strictObject({
  /** Names the budget in alerts, e.g. "ml-research monthly". */
  name: z.string().min(1),
  /** The owner dimensions a spend window must carry to count, e.g. { team: ml-research } or { experiment: exp-42 }. */
  match: z.record(z.string(), z.string()).refine((m) => Object.keys(m).length > 0, 'name at least one dimension, e.g. { team: ml-research }'),
  amount: z.number().positive(),
  currency: z.string().min(1).default('USD'),
  /** Calendar period the amount is for, in UTC; weeks start on Monday. */
  period: z.enum(['day', 'week', 'month']).default('month'),
});

export type Budget = z.infer<typeof budgetSchema>;

export const budgetBurnSchema = z
  .strictObject({
    enabled: z.boolean().default(true),
    budgets: z.array(budgetSchema).default([]),
    /** The fast and the slow burn-rate windows: both must project an overrun, like SRE multi-window burn alerts. */
    fastWindowMs: z.number().int().min(60_000).default(HOUR_MS),
    slowWindowMs: z.number().int().min(60_000).default(6 * HOUR_MS),
    /** Critical when the projected overrun is this close (or the budget is already spent). */
    criticalWithinMs: z.number().int().min(0).default(3 * DAY_MS),
    ...episodeSettingsShape({ fireAfter: 2, resolveAfter: 3, staleAfterMs: 6 * HOUR_MS }),
  })
  .refine((s) => s.fastWindowMs < s.slowWindowMs, { message: 'fastWindowMs must be shorter than slowWindowMs (e.g. 1 h and 6 h)', path: ['fastWindowMs'] })
  .refine((s) => new Set(s.budgets.map((b) => b.name)).size === s.budgets.length, { message: 'budget names must be unique', path: ['budgets'] });

export type BudgetBurnSettings = z.infer<typeof budgetBurnSchema>;

/** The calendar period (UTC) containing the timestamp: [start, end). */
export function budgetPeriod(period: Budget['period'], timestamp: number): { start: number; end: number } {
  const date = new Date(timestamp);
  const year = date.getUTCFullYear();
  const month = date.getUTCMonth();
  const day = date.getUTCDate();
  switch (period) {
    case 'day': {
      const start = Date.UTC(year, month, day);
      return { start, end: start + DAY_MS };
    }
    case 'week': {
      const mondayOffset = (date.getUTCDay() + 6) % 7;
      const start = Date.UTC(year, month, day - mondayOffset);
      return { start, end: start + 7 * DAY_MS };
    }
    case 'month':
      return { start: Date.UTC(year, month, 1), end: Date.UTC(year, month + 1, 1) };
  }
}

interface BudgetState {
  budget: Budget;
  key: string;
  dimensions: Record<string, string>;
  period: { start: number; end: number } | undefined;
  spent: number;
  /** Cost per window start over the slow window, oldest first: bounded by slowWindowMs / window size. */
  recent: Array<{ windowStart: number; windowEnd: number; cost: number }>;
  /** Start of the data this period (burn rates need at least the fast window of it). */
  observedSince: number;
  lastWindowStart: number;
  lastWindowEnd: number;
  episode: AlertEpisode;
}

/**
 * Spend per team or experiment against its budget from configuration, with a fast and a slow
 * burn-rate window (1 h and 6 h by default). It alerts on the projected overrun before it happens:
 * when, at the slow window's rate and at the fast one's, what is spent so far plus what the rest of
 * the period would cost exceeds the budget; the evidence gives the projected date of the overrun.
 * Windows of several owners can feed one budget (a team's experiments): they are lined up per
 * window start, so each budget is judged once per window.
 */
export class BudgetBurnDetector {
  private readonly budgets: BudgetState[];
  private readonly aligner = new WindowAligner<SpendWindow>();
  /** Last window start seen per owner key: each window counts once. */
  private readonly seen = new Map<string, number>();

  constructor(private readonly settings: BudgetBurnSettings) {
    this.budgets = settings.budgets.map((budget) => ({
      budget,
      key: `budget:${budget.name}`,
      dimensions: { ...budget.match, budget: budget.name, period: budget.period },
      period: undefined,
      spent: 0,
      recent: [],
      observedSince: Number.POSITIVE_INFINITY,
      lastWindowStart: Number.NEGATIVE_INFINITY,
      lastWindowEnd: Number.NEGATIVE_INFINITY,
      episode: new AlertEpisode(settings),
    }));
  }

  /** Budgets and owner keys with state held. */
  get size(): number {
    return this.budgets.length + this.seen.size;
  }

  observe(window: SpendWindow): Alert[] {
    if (window.scope !== 'owner') return [];
    const last = this.seen.get(window.key);
    if (last !== undefined && window.windowStart <= last) return [];
    this.seen.set(window.key, window.windowStart);
    const alerts: Alert[] = [];
    for (const state of this.budgets) {
      if (!Object.entries(state.budget.match).every(([name, value]) => window.dimensions[name] === value)) continue;
      for (const aligned of this.aligner.add(state.budget.name, window.key, window.windowStart, window.windowEnd, window)) alerts.push(...this.judgeWindow(state, aligned.windowStart, aligned.windowEnd, aligned.members.map(([, w]) => w)));
    }
    return alerts;
  }

  advance(watermark: number): Alert[] {
    const alerts: Alert[] = [];
    for (const aligned of this.aligner.flush(watermark)) {
      const state = this.budgets.find((b) => b.budget.name === aligned.group);
      if (state) alerts.push(...this.judgeWindow(state, aligned.windowStart, aligned.windowEnd, aligned.members.map(([, w]) => w)));
    }
    for (const [key, lastStart] of [...this.seen]) if (lastStart < watermark - this.settings.staleAfterMs) this.seen.delete(key);
    for (const state of this.budgets) {
      if (state.lastWindowEnd >= watermark - this.settings.staleAfterMs || !state.episode.isOpen) continue;
      const alert = state.episode.resolveNow(
        { rule: BUDGET_BURN_RULE, key: state.key, dimensions: state.dimensions, windowStart: state.lastWindowStart, windowEnd: state.lastWindowEnd },
        silenceVerdict('projected_spend', state.lastWindowEnd),
      );
      if (alert) alerts.push(alert);
    }
    return alerts;
  }

  private judgeWindow(state: BudgetState, windowStart: number, windowEnd: number, windows: SpendWindow[]): Alert[] {
    const cost = windows.reduce((sum, w) => sum + w.cost, 0);
    // An owner lagging behind the others: its window is released after the budget judged that
    // window. Its money still counts; the budget is not judged twice for one window.
    if (windowStart <= state.lastWindowStart) {
      if (state.period && windowStart >= state.period.start) {
        state.spent += cost;
        const bucket = state.recent.find((r) => r.windowStart === windowStart);
        if (bucket) bucket.cost += cost;
      }
      return [];
    }
    state.lastWindowStart = windowStart;
    state.lastWindowEnd = windowEnd;
    const period = budgetPeriod(state.budget.period, windowStart);
    if (!state.period || state.period.start !== period.start) {
      state.period = period;
      state.spent = 0;
      state.recent = [];
      state.observedSince = windowStart;
    }
    state.spent += cost;
    state.recent.push({ windowStart, windowEnd, cost });
    while (state.recent.length > 0 && state.recent[0]!.windowStart < windowEnd - this.settings.slowWindowMs) state.recent.shift();
    const verdict = this.verdict(state, windowEnd, windows[0]?.currency ?? state.budget.currency);
    if (!verdict) return [];
    const alert = state.episode.step({ rule: BUDGET_BURN_RULE, key: state.key, dimensions: state.dimensions, windowStart, windowEnd }, verdict);
    return alert ? [alert] : [];
  }

  /** Spend rate (per ms) over the trailing `spanMs`, or over what has been observed if less. */
  private rate(state: BudgetState, now: number, spanMs: number): number {
    const from = Math.max(now - spanMs, state.observedSince);
    const cost = state.recent.filter((r) => r.windowStart >= from).reduce((sum, r) => sum + r.cost, 0);
    return now > from ? cost / (now - from) : 0;
  }

  /** Undefined until the fast window's worth of data is there: a burn rate from two minutes is noise. */
  private verdict(state: BudgetState, now: number, currency: string): Verdict | undefined {
    const { budget } = state;
    const period = state.period!;
    if (now - state.observedSince < this.settings.fastWindowMs) return undefined;
    const fast = this.rate(state, now, this.settings.fastWindowMs);
    const slow = this.rate(state, now, this.settings.slowWindowMs);
    const remaining = Math.max(0, period.end - now);
    const projectedSlow = state.spent + slow * remaining;
    const projectedFast = state.spent + fast * remaining;
    const alreadyOver = state.spent > budget.amount;
    const breaching = alreadyOver || (projectedSlow > budget.amount && projectedFast > budget.amount);
    const budgetRate = budget.amount / (period.end - period.start);
    const burnRate = slow / budgetRate;
    const overrunAt = alreadyOver ? now : slow > 0 ? now + (budget.amount - state.spent) / slow : Number.POSITIVE_INFINITY;
    const money = (amount: number): string => formatMoney(amount, currency);
    const perHour = (rate: number): string => `${money(rate * HOUR_MS)}/h`;
    const who = describeDimensions(budget.match);
    const periodName = `${budget.period} starting ${formatUtc(period.start).slice(0, 10)}`;
    const spentText = `${who} has spent ${money(state.spent)} of its ${money(budget.amount)} budget "${budget.name}" for the ${periodName} (${formatPercent(state.spent / budget.amount)})`;
    const rates = `${perHour(slow)} over the last ${formatDuration(this.settings.slowWindowMs)}, ${perHour(fast)} over the last ${formatDuration(this.settings.fastWindowMs)}, burn rate ${formatRatio(burnRate)}`;
    let evidence: string;
    if (alreadyOver) evidence = `${spentText}: over budget, still spending ${rates}`;
    else if (breaching) evidence = `${spentText}; at ${rates}, it runs out on ${formatUtc(overrunAt)}, ${formatDuration(period.end - overrunAt)} before the period ends: projected ${money(projectedSlow)}`;
    else evidence = `${spentText}; at ${rates} it is projected to end the period at ${money(projectedSlow)}, within budget`;
    return {
      breaching,
      severity: alreadyOver || overrunAt - now <= this.settings.criticalWithinMs ? 'critical' : 'warning',
      metric: 'projected_spend',
      observed: projectedSlow,
      baseline: budget.amount,
      score: burnRate,
      evidence,
    };
  }
}
