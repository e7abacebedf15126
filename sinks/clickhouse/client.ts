import { createClient, type ClickHouseClient } from '@clickhouse/client';
import type { CostlineConfig } from '../../pipeline/config/schema.js';
import { stringifyForClickHouse } from './json.js';

export type { ClickHouseClient };

/** A client at the server level (no database selected), so migrations can create the database. */
export function createClickHouse(config: CostlineConfig['clickhouse']): ClickHouseClient {
  return createClient({
    url: config.url,
    username: config.username,
    password: config.password,
    request_timeout: 30_000,
    max_open_connections: 4,
    compression: { request: false, response: true },
    json: { parse: JSON.parse, stringify: stringifyForClickHouse },
  });
}

/** The server's major.minor, for features newer than 18.16 that must sit behind a version check. */
export async function serverVersion(client: ClickHouseClient): Promise<{ major: number; minor: number; text: string }> {
  const rows = await (await client.query({ query: 'SELECT version() AS v', format: 'JSONEachRow' })).json<{ v: string }>();
  const text = rows[0]?.v ?? '0.0';
  const [major, minor] = text.split('.').map(Number);
  return { major: major ?? 0, minor: minor ?? 0, text };
}
