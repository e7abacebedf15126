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
    await client.command({
      query: `INSERT INTO ${qualified(db, 'schema_migrations')} (version, name, applied_at) VALUES (${literal(migration.version)}, ${literal(migration.name)}, now())`,
    });
    done.push(migration.version);
    onApplied?.(migration);
  }
  return done;
}
