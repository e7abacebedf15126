import type { ClickHouseClient } from '@clickhouse/client';
import { identifier, literal, qualified } from './sql.js';

/**
 * Versioned migrations. Each runs once, in order, and is idempotent on its own (IF NOT EXISTS),
 * so a crash between a statement and its bookkeeping row is harmless. All SQL here runs on
 * ClickHouse 18.16 and on current releases: no TTL, LowCardinality, Map, DateTime64 or query parameters.
 */
export interface Migration {
  version: number;
  name: string;
  statements: (db: string) => string[];
  /** Columns added to existing tables, each only when missing (18.16 has no ADD COLUMN IF NOT EXISTS). */
  addColumns?: Array<{ table: string; column: string; definition: string }>;
}

/** Money: exact decimals at 12 places (pipeline/core/money.ts MONEY_SCALE); Decimal works on 18.16 and current releases. */
const MONEY = 'Decimal(38, 12)';

const SPEND_METRICS = [
  'gpu_count UInt32',
  'gpu_seconds Float64',
  'idle_gpu_seconds Float64',
  'gpu_utilization_mean Float64',
  'requests UInt64',
  'output_tokens UInt64',
  `estimated_cost ${MONEY}`,
  `egress_cost ${MONEY}`,
];

const MODEL_METRICS = [
  'requests UInt64',
  'successes UInt64',
  'errors UInt64',
  'retries UInt64',
  'success_rate Float64',
  'retry_rate Float64',
  'input_tokens UInt64',
  'output_tokens UInt64',
  'cached_input_tokens UInt64',
  'egress_bytes UInt64',
  'tokens_per_second Float64',
  'latency_p50_ms Float64',
  'latency_p95_ms Float64',
  'latency_p99_ms Float64',
  'ttft_p95_ms Float64',
  'queue_samples UInt32',
  'queue_depth_mean Float64',
  'queue_depth_max Float64',
  'queue_running_mean Float64',
  'queue_wait_mean_ms Float64',
  'queue_wait_p95_ms Float64',
  'kv_cache_mean Float64',
  'kv_cache_max Float64',
  'preemptions UInt64',
  'gpu_count UInt32',
  'gpu_seconds Float64',
  'idle_gpu_seconds Float64',
  'gpu_utilization_mean Float64',
  'sm_active_mean Float64',
  'memory_saturation_mean Float64',
  'memory_saturation_max Float64',
  'dram_active_mean Float64',
  'power_watts_mean Float64',
  'xid_errors UInt64',
  `estimated_cost ${MONEY}`,
  `egress_cost ${MONEY}`,
  'cost_per_1k_tokens Float64',
  'tokens_per_dollar Float64',
  'cost_per_successful_request Float64',
  'tokens_per_second_per_gpu Float64',
  'latency_sketch String',
];

/** A rollup table: one row per key and window, replaced by a higher version (read with FINAL or argMax). */
function rollupTable(db: string, table: string, keyColumns: string[], metrics: string[]): string {
  const keyNames = keyColumns.map((c) => c.split(' ')[0]!);
  return `CREATE TABLE IF NOT EXISTS ${qualified(db, table)} (
        window_start DateTime,
        window_end DateTime,
        ${[...keyColumns, ...metrics, 'version UInt64'].join(',\n        ')}
      ) ENGINE = ReplacingMergeTree(version)
      PARTITION BY toYYYYMM(window_start)
      ORDER BY (${[...keyNames, 'window_start'].join(', ')})`;
}

export const migrations: Migration[] = [
  {
    version: 1,
    name: 'token rollups and alerts',
    statements: (db) => [
      `CREATE TABLE IF NOT EXISTS ${qualified(db, 'token_rollup_1m')} (
        window_start DateTime,
        window_end DateTime,
        model_name String,
        model_version String,
        region String,
        requests UInt64,
        successes UInt64,
        errors UInt64,
        retries UInt64,
        input_tokens UInt64,
        output_tokens UInt64,
        cached_input_tokens UInt64,
        egress_bytes UInt64,
        tokens_per_second Float64,
        latency_p50_ms Float64,
        latency_p95_ms Float64,
        latency_p99_ms Float64,
        ttft_p95_ms Float64,
        latency_sketch String,
        version UInt64
      ) ENGINE = ReplacingMergeTree(version)
      PARTITION BY toYYYYMM(window_start)
      ORDER BY (model_name, model_version, region, window_start)`,
      `CREATE TABLE IF NOT EXISTS ${qualified(db, 'alerts')} (
        alert_id String,
        sequence UInt32,
        rule String,
        severity Enum8('info' = 0, 'warning' = 1, 'critical' = 2),
        status Enum8('firing' = 0, 'updated' = 1, 'resolved' = 2),
        key String,
        dimension_names Array(String),
        dimension_values Array(String),
        window_start DateTime,
        window_end DateTime,
        episode_start DateTime,
        metric String,
        observed Float64,
        baseline Float64,
        score Float64,
        evidence String
      ) ENGINE = ReplacingMergeTree()
      PARTITION BY toYYYYMM(window_start)
      ORDER BY (rule, key, alert_id, sequence)`,
    ],
  },
  {
    version: 2,
    name: 'rollups for every source, spend by owner and provider, usage and billing attribution',
    statements: (db) => [
      `DROP TABLE IF EXISTS ${qualified(db, 'token_rollup_1m')}`,
      ...(['1m', '1h'] as const).flatMap((grain) => [
        rollupTable(db, `model_rollup_${grain}`, ['model_name String', 'model_version String', 'region String'], MODEL_METRICS),
        rollupTable(db, `owner_spend_${grain}`, ['team String', 'experiment String', 'environment String'], SPEND_METRICS),
        rollupTable(db, `provider_spend_${grain}`, ['provider String', 'region String'], SPEND_METRICS),
      ]),
      `CREATE TABLE IF NOT EXISTS ${qualified(db, 'gpu_usage_1m')} (
        window_start DateTime,
        resource_id String,
        provider String,
        region String,
        model_name String,
        model_version String,
        team String,
        experiment String,
        environment String,
        gpu_seconds Float64,
        estimated_cost ${MONEY},
        version UInt64
      ) ENGINE = ReplacingMergeTree(version)
      PARTITION BY toYYYYMM(window_start)
      ORDER BY (resource_id, window_start, model_name, model_version, team, experiment, environment)`,
      `CREATE TABLE IF NOT EXISTS ${qualified(db, 'billing_lines')} (
        billing_line_id String,
        charge_period_start DateTime,
        charge_period_end DateTime,
        provider String,
        region String,
        resource_id String,
        resource_type String,
        service_category String,
        service_name String,
        sku_id String,
        charge_category String,
        billing_currency String,
        consumed_quantity Float64,
        consumed_unit String,
        billed_cost ${MONEY},
        effective_cost ${MONEY},
        tag_names Array(String),
        tag_values Array(String),
        source String,
        version UInt64
      ) ENGINE = ReplacingMergeTree(version)
      PARTITION BY toYYYYMM(charge_period_start)
      ORDER BY (billing_line_id)`,
      `CREATE TABLE IF NOT EXISTS ${qualified(db, 'cost_allocation_1m')} (
        billing_line_id String,
        window_start DateTime,
        attribution Enum8('usage' = 0, 'tag' = 1, 'unattributed' = 2),
        resource_id String,
        provider String,
        region String,
        model_name String,
        model_version String,
        team String,
        experiment String,
        environment String,
        billing_currency String,
        billed_cost ${MONEY},
        effective_cost ${MONEY},
        version UInt64
      ) ENGINE = ReplacingMergeTree(version)
      PARTITION BY toYYYYMM(window_start)
      ORDER BY (billing_line_id, window_start, attribution, model_name, model_version, region, team, experiment, environment)`,
    ],
  },
  {
    version: 3,
    name: 'playbook actions',
    statements: (db) => [
      `CREATE TABLE IF NOT EXISTS ${qualified(db, 'actions')} (
        action_id String,
        alert_id String,
        rule String,
        playbook String,
        playbook_rule String,
        action Enum8('shift_traffic' = 0, 'rollback_model_version' = 1, 'scale_down' = 2, 'scale_up' = 3, 'throttle_budget' = 4, 'open_review' = 5, 'page' = 6, 'unknown' = 7),
        status Enum8('proposed' = 0, 'suppressed_cooldown' = 1, 'suppressed_cap' = 2, 'unknown' = 3),
        target_key String,
        target_names Array(String),
        target_values Array(String),
        parameter_names Array(String),
        parameter_values Array(String),
        dry_run UInt8,
        requires_approval UInt8,
        reason String,
        window_start DateTime,
        window_end DateTime
      ) ENGINE = ReplacingMergeTree()
      PARTITION BY toYYYYMM(window_start)
      ORDER BY (action_id)`,
    ],
  },
  {
    version: 4,
    name: 'rates learned from billing',
    statements: (db) => [
      `CREATE TABLE IF NOT EXISTS ${qualified(db, 'learned_gpu_rates')} (
        effective_from DateTime,
        provider String,
        instance_type String,
        region String,
        currency String,
        per_gpu_hour Float64,
        gpu_hours Float64,
        resources UInt32,
        evidence_from DateTime,
        evidence_to DateTime,
        learned_at DateTime
      ) ENGINE = ReplacingMergeTree(learned_at)
      PARTITION BY toYYYYMM(effective_from)
      ORDER BY (effective_from, provider, instance_type, region, currency)`,
    ],
    addColumns: [{ table: 'gpu_usage_1m', column: 'instance_type', definition: "String DEFAULT ''" }],
  },
  {
    version: 5,
    name: 'list prices on billing lines',
    // The price_change rule warm-starts its established price per SKU from these after a restart.
    statements: () => [],
    addColumns: [
      { table: 'billing_lines', column: 'list_cost', definition: `${MONEY} DEFAULT 0` },
      { table: 'billing_lines', column: 'pricing_quantity', definition: 'Float64 DEFAULT 0' },
      { table: 'billing_lines', column: 'pricing_unit', definition: "String DEFAULT ''" },
    ],
  },
];

/** Applies what is missing, in order; returns the versions applied now. */
export async function migrate(client: ClickHouseClient, database: string, onApplied?: (m: Migration) => void): Promise<number[]> {
  const db = identifier(database);
  await client.command({ query: `CREATE DATABASE IF NOT EXISTS ${db}` });
  await client.command({
    query: `CREATE TABLE IF NOT EXISTS ${qualified(db, 'schema_migrations')} (version UInt32, name String, applied_at DateTime) ENGINE = MergeTree() ORDER BY version`,
  });
  const rows = await (await client.query({ query: `SELECT version FROM ${qualified(db, 'schema_migrations')}`, format: 'JSONEachRow' })).json<{ version: number | string }>();
  const applied = new Set(rows.map((r) => Number(r.version)));
  const done: number[] = [];
  for (const migration of [...migrations].sort((a, b) => a.version - b.version)) {
    if (applied.has(migration.version)) continue;
    for (const statement of migration.statements(db)) await client.command({ query: statement });
    for (const { table, column, definition } of migration.addColumns ?? []) {
      const hasColumn = async () =>
        Number((await (await client.query({ query: `SELECT count() AS n FROM system.columns WHERE database = ${literal(database)} AND table = ${literal(table)} AND name = ${literal(column)}`, format: 'JSONEachRow' })).json<{ n: string | number }>())[0]?.n ?? 0) > 0;
      if (await hasColumn()) continue;
      try {
        await client.command({ query: `ALTER TABLE ${qualified(db, table)} ADD COLUMN ${identifier(column)} ${definition}` });
      } catch (error) {
        // Instances that start together (a scale-out rollout) migrate at once: another may have
        // added the column between the check and the ALTER. Only a column still missing is a failure.
        if (!(await hasColumn())) throw error;
      }
    }
    await client.command({
      query: `INSERT INTO ${qualified(db, 'schema_migrations')} (version, name, applied_at) VALUES (${literal(migration.version)}, ${literal(migration.name)}, now())`,
    });
    done.push(migration.version);
    onApplied?.(migration);
  }
  return done;
}
