import type { ClickHouseClient } from '@clickhouse/client';
import type { LearnedGpuRate, LearnedRateVersion, ResourceRateEvidence } from '../../pipeline/core/learned-rates.js';
import { literal, qualified } from './sql.js';

const dateTime = (ms: number) => `toDateTime(${literal(Math.floor(ms / 1000))})`;

/**
 * Per resource over [fromMs, toMs): the effective cost billing attributed to its usage and the
 * GPU-seconds it reported in those same windows (a join on resource and window, so hours with a
 * charge but no telemetry do not dilute the rate). Runs on 18.16: grouping is by strings and
 * DateTime only (18.16 crashes grouping by a Decimal), decimals are only summed.
 */
export async function readRateEvidence(client: ClickHouseClient, database: string, fromMs: number, toMs: number): Promise<ResourceRateEvidence[]> {
  const span = `window_start >= ${dateTime(fromMs)} AND window_start < ${dateTime(toMs)}`;
  const query = `
    SELECT resource_id, currency, toString(sum(cost)) AS effective_cost, sum(gpu_seconds) AS gpu_seconds,
           any(provider) AS provider, any(region) AS region, any(instance_type) AS instance_type
    FROM (
      SELECT resource_id, window_start, billing_currency AS currency, sum(effective_cost) AS cost
      FROM ${qualified(database, 'cost_allocation_1m')} FINAL
      WHERE attribution = 'usage' AND resource_id != '' AND ${span}
      GROUP BY resource_id, window_start, currency
    ) ANY INNER JOIN (
      SELECT resource_id, window_start, sum(gpu_seconds) AS gpu_seconds,
             any(provider) AS provider, any(region) AS region, any(instance_type) AS instance_type
      FROM ${qualified(database, 'gpu_usage_1m')} FINAL
      WHERE ${span}
      GROUP BY resource_id, window_start
    ) USING (resource_id, window_start)
    GROUP BY resource_id, currency
    ORDER BY resource_id`;
  const rows = await (await client.query({ query, format: 'JSONEachRow' })).json<{ resource_id: string; currency: string; effective_cost: string; gpu_seconds: number | string; provider: string; region: string; instance_type: string }>();
  return rows.map((r) => ({
    resourceId: r.resource_id,
    currency: r.currency,
    effectiveCost: r.effective_cost,
    gpuSeconds: Number(r.gpu_seconds),
    provider: r.provider,
    region: r.region,
    instanceType: r.instance_type,
  }));
}

export async function writeLearnedRates(client: ClickHouseClient, database: string, version: LearnedRateVersion, evidence: { fromMs: number; toMs: number }, learnedAtMs: number): Promise<void> {
  if (version.rates.length === 0) return;
  const seconds = (ms: number) => Math.floor(ms / 1000);
  await client.insert({
    table: qualified(database, 'learned_gpu_rates'),
    format: 'JSONEachRow',
    values: version.rates.map((r) => ({
      effective_from: seconds(version.effectiveFrom),
      provider: r.provider,
      instance_type: r.instanceType,
      region: r.region,
      currency: r.currency,
      per_gpu_hour: r.perGpuHour,
      gpu_hours: r.gpuHours,
      resources: r.resources,
      evidence_from: seconds(evidence.fromMs),
      evidence_to: seconds(evidence.toMs),
      learned_at: seconds(learnedAtMs),
    })),
  });
}

/**
 * The learned versions a pipeline needs to price events from `sinceMs` on: every version that
 * takes effect after it, and the one in effect at it. Oldest first.
 */
export async function readLearnedRates(client: ClickHouseClient, database: string, currency: string, sinceMs: number): Promise<LearnedRateVersion[]> {
  const table = qualified(database, 'learned_gpu_rates');
  const query = `
    SELECT toUInt32(effective_from) AS effective_from, provider, instance_type, region, per_gpu_hour, gpu_hours, resources
    FROM ${table} FINAL
    WHERE currency = ${literal(currency)}
      AND effective_from >= (SELECT max(effective_from) FROM ${table} WHERE currency = ${literal(currency)} AND effective_from <= ${dateTime(sinceMs)})
    ORDER BY effective_from, provider, instance_type, region`;
  const rows = await (await client.query({ query, format: 'JSONEachRow' })).json<{ effective_from: number | string; provider: string; instance_type: string; region: string; per_gpu_hour: number | string; gpu_hours: number | string; resources: number | string }>();
  const versions = new Map<number, LearnedGpuRate[]>();
  for (const r of rows) {
    const effectiveFrom = Number(r.effective_from) * 1000;
    const rates = versions.get(effectiveFrom) ?? [];
    rates.push({ provider: r.provider, instanceType: r.instance_type, region: r.region, currency, perGpuHour: Number(r.per_gpu_hour), gpuHours: Number(r.gpu_hours), resources: Number(r.resources) });
    versions.set(effectiveFrom, rates);
  }
  return [...versions].map(([effectiveFrom, rates]) => ({ effectiveFrom, rates }));
}
