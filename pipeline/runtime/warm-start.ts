import type { ClickHouseClient } from '@clickhouse/client';
import type { CostlineConfig } from '../config/schema.js';
import type { DetectorInput, UnitPriceWindow } from '../../detectors/index.js';
import { canonicalProvider } from '../core/rate-card.js';
import { literal, qualified } from '../../sinks/clickhouse/index.js';

interface ModelRow {
  window_start: string;
  window_end: string;
  model_name: string;
  model_version: string;
  region: string;
  requests: string;
  errors: string;
  latency_p95_ms: number;
  ttft_p95_ms: number;
  input_tokens: string;
  output_tokens: string;
  gpu_seconds: number;
  gpu_count: number;
  gpu_utilization_mean: number;
  queue_samples: number;
  queue_depth_mean: number;
  queue_running_mean: number;
  queue_wait_mean_ms: number;
  queue_wait_p95_ms: number;
  kv_cache_mean: number;
  preemptions: string;
  cost: number;
  egress: number;
}

interface OwnerRow {
  window_start: string;
  window_end: string;
  team: string;
  experiment: string;
  environment: string;
  cost: number;
}

interface PriceRow {
  provider: string;
  region: string;
  sku_id: string;
  pricing_unit: string;
  billing_currency: string;
  charge_start: string;
  charge_end: string;
  list_unit_price: number;
}

/**
 * The last known list unit price of each SKU billed within the price_change rule's memory
 * (staleAfterMs), from billing_lines, as one unit_price window at the end of its last charge
 * period: the detector takes it as the established price, so a change during the downtime is
 * seen on the first delivery after the restart. Money as Float64: a price, not a sum.
 */
export async function priceHistory(client: ClickHouseClient, config: CostlineConfig, nowMs: number): Promise<UnitPriceWindow[]> {
  const db = config.clickhouse.database;
  const since = literal(Math.floor((nowMs - config.detectors.priceChange.staleAfterMs) / 1000));
  // Grouped by strings only (never by a Decimal: ClickHouse 18.16 crashes on Decimal group keys).
  const rows = await (
    await client.query({
      query: `SELECT provider, region, sku_id, pricing_unit, billing_currency,
                     toUnixTimestamp(max(charge_period_start)) AS charge_start, toUnixTimestamp(max(charge_period_end)) AS charge_end,
                     argMax(toFloat64(list_cost) / pricing_quantity, charge_period_end) AS list_unit_price
              FROM ${qualified(db, 'billing_lines')} FINAL
              WHERE charge_category = 'Usage' AND sku_id != '' AND pricing_quantity > 0 AND toFloat64(list_cost) > 0 AND charge_period_end >= toDateTime(${since})
              GROUP BY provider, region, sku_id, pricing_unit, billing_currency`,
      format: 'JSONEachRow',
    })
  ).json<PriceRow>();
  return rows.map((r) => {
    const provider = canonicalProvider(r.provider);
    const windowStart = Number(r.charge_end) * 1000;
    return {
      key: [provider, r.region, r.sku_id, r.pricing_unit, r.billing_currency].join('|'),
      dimensions: { provider, region: r.region, sku_id: r.sku_id, pricing_unit: r.pricing_unit },
      windowStart,
      windowEnd: windowStart + config.windows.sizeMs,
      kind: 'unit_price',
      product: `SKU ${r.sku_id}`,
      currency: r.billing_currency,
      pricingUnit: r.pricing_unit,
      listUnitPrice: r.list_unit_price,
      effectiveShare: 1,
      quantityPerHour: 0,
      chargePeriodStart: Number(r.charge_start) * 1000,
    };
  });
}

/**
 * The last hours of stored rollups as detector inputs, in the shape the live stream gives them,
 * for DetectorSet.warmStart. Money is read as Float64 (toFloat64): detection needs no cents.
 */
export async function warmStartHistory(client: ClickHouseClient, config: CostlineConfig, nowMs: number): Promise<DetectorInput[]> {
  const db = config.clickhouse.database;
  const since = literal(Math.floor(nowMs / 1000 - config.detectors.warmStartHours * 3600));
  const currency = config.cost.currency;
  const models = await (
    await client.query({
      query: `SELECT toUnixTimestamp(window_start) AS window_start, toUnixTimestamp(window_end) AS window_end, model_name, model_version, region,
                     requests, errors, latency_p95_ms, ttft_p95_ms, input_tokens, output_tokens, gpu_seconds, gpu_count, gpu_utilization_mean,
                     queue_samples, queue_depth_mean, queue_running_mean, queue_wait_mean_ms, queue_wait_p95_ms, kv_cache_mean, preemptions,
                     toFloat64(estimated_cost) + toFloat64(egress_cost) AS cost, toFloat64(egress_cost) AS egress
              FROM ${qualified(db, 'model_rollup_1m')} FINAL WHERE window_start >= toDateTime(${since}) ORDER BY window_start`,
      format: 'JSONEachRow',
    })
  ).json<ModelRow>();
  const owners = await (
    await client.query({
      query: `SELECT toUnixTimestamp(window_start) AS window_start, toUnixTimestamp(window_end) AS window_end, team, experiment, environment,
                     toFloat64(estimated_cost) + toFloat64(egress_cost) AS cost
              FROM ${qualified(db, 'owner_spend_1m')} FINAL WHERE window_start >= toDateTime(${since}) ORDER BY window_start`,
      format: 'JSONEachRow',
    })
  ).json<OwnerRow>();
  const inputs: DetectorInput[] = [];
  for (const r of models) {
    const dimensions = { model_name: r.model_name, model_version: r.model_version, region: r.region };
    const window = { key: `${r.model_name}|${r.model_version}|${r.region}`, dimensions, windowStart: Number(r.window_start) * 1000, windowEnd: Number(r.window_end) * 1000 };
    inputs.push({
      ...window,
      kind: 'model',
      modelName: r.model_name,
      modelVersion: r.model_version,
      region: r.region,
      requests: Number(r.requests),
      errors: Number(r.errors),
      latencyP95Ms: r.latency_p95_ms,
      ttftP95Ms: r.ttft_p95_ms > 0 ? r.ttft_p95_ms : null,
      inputTokens: Number(r.input_tokens),
      outputTokens: Number(r.output_tokens),
      gpuSeconds: r.gpu_seconds,
      cost: r.cost,
    });
    if (r.queue_samples > 0) {
      inputs.push({ ...window, kind: 'queue', queueDepth: r.queue_depth_mean, running: r.queue_running_mean, dequeued: 0, queueWaitMeanMs: r.queue_wait_mean_ms, queueWaitP95Ms: r.queue_wait_p95_ms, kvCacheUsage: r.kv_cache_mean, preemptions: Number(r.preemptions) });
    }
    if (r.cost > 0) inputs.push({ ...window, kind: 'spend', scope: 'model', cost: r.cost, currency, breakdown: [{ dimensions, cost: r.cost }] });
    if (r.egress > 0) inputs.push({ ...window, key: `${window.key}|egress`, kind: 'spend', scope: 'egress', cost: r.egress, currency, breakdown: [{ dimensions, cost: r.egress }] });
  }
  for (const r of owners) {
    if (r.cost <= 0) continue;
    const dimensions = { team: r.team, experiment: r.experiment, environment: r.environment };
    inputs.push({ key: `${r.team}|${r.experiment}|${r.environment}`, dimensions, windowStart: Number(r.window_start) * 1000, windowEnd: Number(r.window_end) * 1000, kind: 'spend', scope: 'owner', cost: r.cost, currency, breakdown: [{ dimensions, cost: r.cost }] });
  }
  inputs.push(...(await priceHistory(client, config, nowMs)));
  return inputs;
}
