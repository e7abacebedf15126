import { inject } from 'vitest';
import { randomBytes } from 'node:crypto';
import { loadConfig } from '../../pipeline/config/load.js';
import type { CostlineConfig } from '../../pipeline/config/schema.js';

/**
 * A config pointing at the real services of this test run, with topics, consumer group and
 * ClickHouse database of its own, so tests never see each other's data.
 */
export function isolatedConfig(label: string, env: Record<string, string> = {}): CostlineConfig {
  const endpoints = inject('endpoints');
  const run = `${label}_${randomBytes(4).toString('hex')}`;
  const config = loadConfig({
    env: {
      KAFKA_BROKERS: endpoints.kafkaBrokers,
      SCHEMA_REGISTRY_URL: endpoints.schemaRegistryUrl,
      CLICKHOUSE_URL: endpoints.clickhouseUrl,
      CLICKHOUSE_DATABASE: `costline_test_${run}`,
      COSTLINE__kafka__groupId: `costline-test-${run}`,
      COSTLINE__observability__metricsPort: '0',
      ...env,
    },
  });
  for (const role of Object.keys(config.topics) as (keyof CostlineConfig['topics'])[]) config.topics[role] = `${config.topics[role]}.${run}`;
  return config;
}

/** Polls until check() returns a value that satisfies done, or fails with the last value seen. */
export async function eventually<T>(check: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 60_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  while (Date.now() < deadline) {
    last = await check();
    if (done(last)) return last;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last value: ${JSON.stringify(last)}`);
}

/** The environment that makes a `costline` child process use exactly this config's endpoints, topics, group and database. */
export function configEnv(config: CostlineConfig): Record<string, string> {
  const env: Record<string, string> = {
    KAFKA_BROKERS: config.kafka.brokers.join(','),
    SCHEMA_REGISTRY_URL: config.schemaRegistry.url,
    CLICKHOUSE_URL: config.clickhouse.url,
    CLICKHOUSE_DATABASE: config.clickhouse.database,
    COSTLINE__kafka__groupId: config.kafka.groupId,
    COSTLINE_METRICS_PORT: '0',
    COSTLINE_LOG_LEVEL: 'warn',
  };
  for (const [role, topic] of Object.entries(config.topics)) env[`COSTLINE__topics__${role}`] = topic;
  return env;
}
