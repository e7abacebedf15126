import { createHash } from 'node:crypto';
import type { BillingCost } from '../../schemas/index.js';
import { allocateExactly, moneyFromDecimalBytes, type MoneyUnits } from './money.js';
import { windowStartOf } from './tumbling-window.js';

/** A billing line as the attribution needs it: exact money, its charge period and how to find its usage. */
export interface BillingLine {
  id: string;
  resourceId: string;
  provider: string;
  region: string;
  currency: string;
  chargePeriodStart: number;
  chargePeriodEnd: number;
  billed: MoneyUnits;
  effective: MoneyUnits;
  tags: Record<string, string>;
}

/** GPU-seconds a resource spent on one model version and owner in one window (from gpu_usage_1m). */
export interface UsageShare {
  windowStart: number;
  modelName: string;
  modelVersion: string;
  region: string;
  team: string;
  experiment: string;
  environment: string;
  gpuSeconds: number;
}

export type AttributionKind = 'usage' | 'tag' | 'unattributed';

export interface Allocation {
  billingLineId: string;
  windowStart: number;
  attribution: AttributionKind;
  modelName: string;
  modelVersion: string;
  region: string;
  team: string;
  experiment: string;
  environment: string;
  billed: MoneyUnits;
  effective: MoneyUnits;
}

/** A stable id for a line: the same line imported twice (or replayed) is the same line. */
export function billingLineId(line: BillingCost): string {
  const parts = [line.ProviderName, line.BillingAccountId, line.SubAccountId ?? '', line.ResourceId ?? '', line.SkuId ?? '', line.SkuPriceId ?? '', line.ChargeCategory, line.ChargePeriodStart, line.ChargePeriodEnd, line.ChargeDescription ?? '', line.source.file, line.source.row];
  return createHash('sha256').update(parts.join('\u0000')).digest('hex').slice(0, 32);
}

export function toBillingLine(line: BillingCost): BillingLine {
  return {
    id: billingLineId(line),
    resourceId: line.ResourceId ?? '',
    provider: line.ProviderName,
    region: line.RegionId ?? line.RegionName ?? '',
    currency: line.BillingCurrency,
    chargePeriodStart: line.ChargePeriodStart,
    chargePeriodEnd: line.ChargePeriodEnd,
    billed: moneyFromDecimalBytes(line.BilledCost),
    effective: moneyFromDecimalBytes(line.EffectiveCost),
    tags: line.Tags,
  };
}

/** Tag names users put on resources, normalised: `costline:team`, `Team`, `team` all name the team. */
function tag(tags: Record<string, string>, ...names: string[]): string | undefined {
  for (const [key, value] of Object.entries(tags)) {
    const bare = key.toLowerCase().replace(/^(costline|user|aws|gcp|azure)[:_.-]/, '').replace(/-/g, '_');
    if (names.includes(bare) && value !== '') return value;
  }
  return undefined;
}

/** Splits [start, end) into the windows it overlaps, with the milliseconds of overlap as weights. */
function windowsOf(start: number, end: number, windowMs: number): { windowStart: number; overlapMs: number }[] {
  if (end <= start) return [{ windowStart: windowStartOf(start, windowMs), overlapMs: 1 }];
  const out: { windowStart: number; overlapMs: number }[] = [];
  for (let w = windowStartOf(start, windowMs); w < end; w += windowMs) {
    out.push({ windowStart: w, overlapMs: Math.min(end, w + windowMs) - Math.max(start, w) });
  }
  return out;
}

/**
 * Attributes one billing line: prorated over the windows its charge period covers, then in each
 * window allocated to what the resource served by share of its GPU-seconds, or directly by tags
 * when the line names a model version or team; what cannot be attributed goes to the explicit
 * unattributed bucket. Conservation holds exactly, per line: the allocations' billed (and
 * effective) amounts sum to the line's, to the smallest money unit.
 */
export function allocateBilledCost(line: BillingLine, usage: readonly UsageShare[], windowMs: number): Allocation[] {
  const windows = windowsOf(line.chargePeriodStart, line.chargePeriodEnd, windowMs);
  const weights = windows.map((w) => w.overlapMs);
  const billedByWindow = allocateExactly(line.billed, weights);
  const effectiveByWindow = allocateExactly(line.effective, weights);
  const tagged = {
    modelName: tag(line.tags, 'model_name', 'model'),
    modelVersion: tag(line.tags, 'model_version'),
    team: tag(line.tags, 'team', 'owner'),
    experiment: tag(line.tags, 'experiment'),
    environment: tag(line.tags, 'environment', 'env'),
  };
  const byTag = tagged.modelVersion !== undefined || tagged.team !== undefined;
  const base = (windowStart: number) => ({ billingLineId: line.id, windowStart, region: line.region, modelName: '', modelVersion: '', team: '', experiment: '', environment: '' });
  const out: Allocation[] = [];
  windows.forEach((window, i) => {
    const billed = billedByWindow[i]!;
    const effective = effectiveByWindow[i]!;
    if (byTag) {
      out.push({
        ...base(window.windowStart),
        attribution: 'tag',
        modelName: tagged.modelName ?? '',
        modelVersion: tagged.modelVersion ?? '',
        team: tagged.team ?? '',
        experiment: tagged.experiment ?? '',
        environment: tagged.environment ?? '',
        billed,
        effective,
      });
      return;
    }
    const shares = usage
      .filter((u) => u.windowStart === window.windowStart && u.gpuSeconds > 0)
      .sort((a, b) => [a.modelName, a.modelVersion, a.region, a.team, a.experiment, a.environment].join('|').localeCompare([b.modelName, b.modelVersion, b.region, b.team, b.experiment, b.environment].join('|')));
    if (shares.length === 0) {
      out.push({ ...base(window.windowStart), attribution: 'unattributed', billed, effective });
      return;
    }
    const gpuSeconds = shares.map((s) => s.gpuSeconds);
    const billedParts = allocateExactly(billed, gpuSeconds);
    const effectiveParts = allocateExactly(effective, gpuSeconds);
    shares.forEach((s, j) => {
      out.push({ billingLineId: line.id, windowStart: window.windowStart, attribution: 'usage', modelName: s.modelName, modelVersion: s.modelVersion, region: s.region, team: s.team, experiment: s.experiment, environment: s.environment, billed: billedParts[j]!, effective: effectiveParts[j]! });
    });
  });
  return out;
}
