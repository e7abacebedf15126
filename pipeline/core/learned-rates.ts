import { canonicalProvider } from './rate-card.js';
import { parseMoney, UNITS_PER_CURRENCY_UNIT, type MoneyUnits } from './money.js';

/**
 * Rates learned from billing: what a GPU-hour of an instance type in a region really cost, after
 * discounts, commitments and credits (FOCUS EffectiveCost), measured over the time the GPUs were
 * seen. Pure: the inputs are read from ClickHouse by sinks/clickhouse/learned-rates.ts.
 *
 * The evidence per resource is its usage-attributed effective cost (billing lines allocated to the
 * windows in which it reported GPU-seconds, so the hours nobody watched are not in the
 * denominator) over the GPU-seconds it reported in those same windows.
 */
export interface ResourceRateEvidence {
  resourceId: string;
  provider: string;
  instanceType: string;
  region: string;
  currency: string;
  /** Effective cost attributed to the resource's usage, exact decimal text. */
  effectiveCost: string;
  gpuSeconds: number;
}

export interface LearnedGpuRate {
  provider: string;
  instanceType: string;
  region: string;
  currency: string;
  /** Effective cost of one GPU-hour, currency units (a rate, never summed into money). */
  perGpuHour: number;
  /** The evidence behind it: GPU-hours observed and resources that contributed. */
  gpuHours: number;
  resources: number;
}

export interface LearnRatesSettings {
  /** Only rates in this currency are learned (the rate card's). */
  currency: string;
  /** A rate needs at least this many GPU-hours of evidence: a few minutes of one GPU say little. */
  minGpuHours: number;
}

/** Why some evidence taught nothing, counted so the command can say so. */
export interface LearnRatesOutcome {
  rates: LearnedGpuRate[];
  skipped: { otherCurrency: number; noInstanceType: number; tooLittleEvidence: number };
}

const rateKey = (provider: string, instanceType: string, region: string) => `${provider}|${instanceType}|${region}`;

/** Effective cost per GPU-hour per (provider, instance type, region), from per-resource evidence. */
export function learnGpuRates(evidence: readonly ResourceRateEvidence[], settings: LearnRatesSettings): LearnRatesOutcome {
  const skipped = { otherCurrency: 0, noInstanceType: 0, tooLittleEvidence: 0 };
  const groups = new Map<string, { provider: string; instanceType: string; region: string; cost: MoneyUnits; gpuSeconds: number; resources: number }>();
  for (const e of evidence) {
    if (e.currency !== settings.currency) {
      skipped.otherCurrency += 1;
      continue;
    }
    if (e.instanceType === '') {
      skipped.noInstanceType += 1;
      continue;
    }
    if (!(e.gpuSeconds > 0)) continue;
    const provider = canonicalProvider(e.provider);
    const key = rateKey(provider, e.instanceType, e.region);
    const group = groups.get(key) ?? { provider, instanceType: e.instanceType, region: e.region, cost: 0n, gpuSeconds: 0, resources: 0 };
    group.cost += parseMoney(e.effectiveCost);
    group.gpuSeconds += e.gpuSeconds;
    group.resources += 1;
    groups.set(key, group);
  }
  const rates: LearnedGpuRate[] = [];
  for (const g of groups.values()) {
    const gpuHours = g.gpuSeconds / 3600;
    if (gpuHours < settings.minGpuHours) {
      skipped.tooLittleEvidence += 1;
      continue;
    }
    // A rate, so a float: the exact sum divided once (the bigint keeps sums of many lines exact).
    const perGpuHour = (Number(g.cost) / Number(UNITS_PER_CURRENCY_UNIT)) * (3600 / g.gpuSeconds);
    rates.push({ provider: g.provider, instanceType: g.instanceType, region: g.region, currency: settings.currency, perGpuHour, gpuHours, resources: g.resources });
  }
  rates.sort((a, b) => rateKey(a.provider, a.instanceType, a.region).localeCompare(rateKey(b.provider, b.instanceType, b.region)));
  return { rates, skipped };
}

/** A set of learned rates and the event time from which the estimate uses them. */
export interface LearnedRateVersion {
  effectiveFrom: number;
  rates: readonly LearnedGpuRate[];
}

/**
 * When rates learned now take effect: the start of the hour `leadMs` from now. Only events at or
 * after it are priced with them, and every running pipeline reloads rates more often than `leadMs`,
 * so no window is priced one way in a first pass and another in a replay.
 */
export function effectiveFromFor(nowMs: number, leadMs: number): number {
  const hour = 3_600_000;
  return Math.ceil((nowMs + leadMs) / hour) * hour;
}
