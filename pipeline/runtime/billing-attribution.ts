import type { ClickHouseClient } from '@clickhouse/client';
import type { BillingCost } from '../../schemas/index.js';
import type { CostlineConfig } from '../config/schema.js';
import { allocateBilledCost, billingLineId, type Allocation, type BillingLine, type UsageShare } from '../core/cost-attribution.js';
import { moneyFromDecimalBytes } from '../core/money.js';
import { literal, qualified, TableWriter } from '../../sinks/clickhouse/index.js';
import { money } from '../../sinks/clickhouse/rows.js';

const seconds = (ms: number) => Math.floor(ms / 1000);

/**
 * The I/O around allocateBilledCost: reads the resource's GPU usage over the charge period from
 * gpu_usage_1m (written by stage 1 as windows closed), writes the allocations and the line itself.
 * Rows are keyed by the line id, so a replay rewrites the same rows: nothing is counted twice.
 */
export class BillingAttribution {
  private readonly lines = new Map<string, BillingCost>();
  private readonly allocationWriter: TableWriter<{ line: BillingLine; allocation: Allocation }>;
  private readonly lineWriter: TableWriter<BillingCost>;

  constructor(
    private readonly clickhouse: ClickHouseClient,
    private readonly config: CostlineConfig,
    onInsert: (table: string, rows: number, seconds: number) => void,
  ) {
    const db = config.clickhouse.database;
    this.allocationWriter = new TableWriter(clickhouse, db, 'cost_allocation_1m', ({ line, allocation: a }) => ({
      billing_line_id: a.billingLineId,
      window_start: seconds(a.windowStart),
      attribution: a.attribution,
      resource_id: line.resourceId,
      provider: line.provider,
      region: a.region,
      model_name: a.modelName,
      model_version: a.modelVersion,
      team: a.team,
      experiment: a.experiment,
      environment: a.environment,
      billing_currency: line.currency,
      billed_cost: money(a.billed),
      effective_cost: money(a.effective),
      version: 1,
    }), config.sink.maxBatchRows, onInsert);
    this.lineWriter = new TableWriter(clickhouse, db, 'billing_lines', (l) => {
      const tagNames = Object.keys(l.Tags).sort();
      return {
        billing_line_id: billingLineId(l),
        charge_period_start: seconds(l.ChargePeriodStart),
        charge_period_end: seconds(l.ChargePeriodEnd),
        provider: l.ProviderName,
        region: l.RegionId ?? l.RegionName ?? '',
        resource_id: l.ResourceId ?? '',
        resource_type: l.ResourceType ?? '',
        service_category: l.ServiceCategory,
        service_name: l.ServiceName,
        sku_id: l.SkuId ?? '',
        charge_category: l.ChargeCategory,
        billing_currency: l.BillingCurrency,
        consumed_quantity: l.ConsumedQuantity ?? 0,
        consumed_unit: l.ConsumedUnit ?? '',
        list_cost: money(l.ListCost === null ? 0n : moneyFromDecimalBytes(l.ListCost)),
        pricing_quantity: l.PricingQuantity ?? 0,
        pricing_unit: l.PricingUnit ?? '',
        billed_cost: money(moneyFromDecimalBytes(l.BilledCost)),
        effective_cost: money(moneyFromDecimalBytes(l.EffectiveCost)),
        tag_names: tagNames,
        tag_values: tagNames.map((n) => l.Tags[n]!),
        source: `${l.source.file}#${l.source.row}`,
        version: 1,
      };
    }, config.sink.maxBatchRows, onInsert);
  }

  /** Forgets lines not yet allocated (after a rebalance they are read again). */
  discard(): void {
    this.lines.clear();
    this.allocationWriter.discard();
    this.lineWriter.discard();
  }

  /** Keeps the full line until it is allocated, for the billing_lines table. */
  remember(line: BillingCost): void {
    this.lines.set(billingLineId(line), line);
  }

  private async usageOf(line: BillingLine): Promise<UsageShare[]> {
    if (line.resourceId === '') return [];
    const windowMs = this.config.windows.sizeMs;
    const from = Math.floor(line.chargePeriodStart / windowMs) * windowMs;
    const result = await this.clickhouse.query({
      query: `SELECT toUnixTimestamp(window_start) AS window_start, model_name, model_version, region, team, experiment, environment, sum(gpu_seconds) AS gpu_seconds
              FROM ${qualified(this.config.clickhouse.database, 'gpu_usage_1m')} FINAL
              WHERE resource_id = ${literal(line.resourceId)}
                AND window_start >= toDateTime(${literal(seconds(from))}) AND window_start < toDateTime(${literal(seconds(Math.max(line.chargePeriodEnd, line.chargePeriodStart + 1)))})
              GROUP BY window_start, model_name, model_version, region, team, experiment, environment`,
      format: 'JSONEachRow',
    });
    const rows = await result.json<{ window_start: number | string; model_name: string; model_version: string; region: string; team: string; experiment: string; environment: string; gpu_seconds: number }>();
    return rows.map((r) => ({ windowStart: Number(r.window_start) * 1000, modelName: r.model_name, modelVersion: r.model_version, region: r.region, team: r.team, experiment: r.experiment, environment: r.environment, gpuSeconds: Number(r.gpu_seconds) }));
  }

  /** Allocates lines whose usage is final and writes them; throws (keeping nothing half-done in memory) on failure. */
  async allocate(lines: BillingLine[]): Promise<void> {
    for (const line of lines) {
      const usage = await this.usageOf(line);
      for (const allocation of allocateBilledCost(line, usage, this.config.windows.sizeMs)) this.allocationWriter.add({ line, allocation });
      const full = this.lines.get(line.id);
      if (full) this.lineWriter.add(full);
    }
    await this.allocationWriter.flush();
    await this.lineWriter.flush();
    for (const line of lines) this.lines.delete(line.id);
  }
}
