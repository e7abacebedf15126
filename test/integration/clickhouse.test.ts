import { afterAll, describe, expect, it } from 'vitest';
import { createClickHouse, literal, migrate, migrations, qualified } from '../../sinks/clickhouse/index.js';
import { isolatedConfig } from '../support/services.js';

const config = isolatedConfig('clickhouse');
const client = createClickHouse(config.clickhouse);
const db = config.clickhouse.database;

afterAll(async () => {
  await client.command({ query: `DROP DATABASE IF EXISTS ${db}` });
  await client.close();
});

describe('ClickHouse (the real server)', () => {
  it('applies the migrations once: a second run applies nothing and changes nothing', async () => {
    expect(await migrate(client, db)).toEqual(migrations.map((m) => m.version));
    expect(await migrate(client, db)).toEqual([]);
    const tables = await (await client.query({ query: `SELECT name FROM system.tables WHERE database = ${literal(db)} ORDER BY name`, format: 'JSONEachRow' })).json<{ name: string }>();
    expect(tables.map((t) => t.name)).toEqual(['actions', 'alerts', 'billing_lines', 'cost_allocation_1m', 'gpu_usage_1m', 'learned_gpu_rates', 'model_rollup_1h', 'model_rollup_1m', 'owner_spend_1h', 'owner_spend_1m', 'provider_spend_1h', 'provider_spend_1m', 'schema_migrations']);
  });

  it('lets instances that start together migrate one database at once: every table and column lands, none fails', async () => {
    // A scale-out rollout starts several pipelines at the same moment, and each migrates at start.
    await migrate(client, db);
    const concurrent = `${db}_concurrent`;
    const clients = [createClickHouse(config.clickhouse), createClickHouse(config.clickhouse), createClickHouse(config.clickhouse)];
    try {
      const results = await Promise.allSettled(clients.map((c) => migrate(c, concurrent)));
      expect(results.filter((r) => r.status === 'rejected')).toEqual([]);
      expect(await migrate(client, concurrent)).toEqual([]);
      const columns = await (await client.query({ query: `SELECT table, name FROM system.columns WHERE database = ${literal(concurrent)} AND table = 'model_rollup_1m' ORDER BY name`, format: 'JSONEachRow' })).json<{ name: string }>();
      const reference = await (await client.query({ query: `SELECT table, name FROM system.columns WHERE database = ${literal(db)} AND table = 'model_rollup_1m' ORDER BY name`, format: 'JSONEachRow' })).json<{ name: string }>();
      expect(columns).toEqual(reference);
    } finally {
      await client.command({ query: `DROP DATABASE IF EXISTS ${concurrent}` });
      await Promise.all(clients.map((c) => c.close()));
    }
  });

  it.each([["o'brien"], ['back\\slash'], ["x'); DROP TABLE t; --"], ['new\nline\ttab'], ['\\\''], ['ünïcødé 🚀'], ['\0nul']])('reads back the hostile string %j exactly through literal()', async (hostile) => {
    const rows = await (await client.query({ query: `SELECT ${literal(hostile)} AS v`, format: 'JSONEachRow' })).json<{ v: string }>();
    expect(rows[0]!.v).toBe(hostile);
  });

  it('replaces a re-emitted rollup window instead of adding to it (ReplacingMergeTree by version)', async () => {
    await migrate(client, db);
    const row = { window_start: 1_795_000_000, window_end: 1_795_000_060, model_name: 'm', model_version: 'v1', region: 'r', requests: 10, version: 10 };
    const table = qualified(db, 'model_rollup_1m');
    await client.insert({ table, values: [row], format: 'JSONEachRow' });
    await client.insert({ table, values: [{ ...row, requests: 12, version: 12 }, { ...row, requests: 10, version: 10 }], format: 'JSONEachRow' });
    const final = await (await client.query({ query: `SELECT sum(requests) AS n FROM ${table} FINAL`, format: 'JSONEachRow' })).json<{ n: string }>();
    expect(Number(final[0]!.n)).toBe(12);
    const argMax = await (await client.query({ query: `SELECT argMax(requests, version) AS n FROM ${table} GROUP BY model_name, model_version, region, window_start`, format: 'JSONEachRow' })).json<{ n: string }>();
    expect(Number(argMax[0]!.n)).toBe(12);
  });
});
