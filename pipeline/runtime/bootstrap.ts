import { Kafka } from 'kafkajs';
import type { CostlineConfig } from '../config/schema.js';
import { kafkaOptions } from '../config/kafka-options.js';
import { silentLogger, type Logger } from '../observability/logger.js';
import { contracts, SchemaRegistryClient, valueSubject } from '../../schemas/index.js';
import { createClickHouse, migrate, serverVersion, type ClickHouseClient } from '../../sinks/clickhouse/index.js';
import { ensureTopics } from '../../sinks/kafka/index.js';
import { familySources } from '../sources/index.js';

export interface Connections {
  kafka: Kafka;
  clickhouse: ClickHouseClient;
  registry: SchemaRegistryClient;
  close(): Promise<void>;
}

/** Clients for the three services; KafkaJS logs go through `logger` (silent unless given). */
export function connect(config: CostlineConfig, clientSuffix = '', logger: Logger = silentLogger): Connections {
  const clickhouse = createClickHouse(config.clickhouse);
  return {
    kafka: new Kafka(kafkaOptions(config.kafka, clientSuffix, logger)),
    clickhouse,
    registry: new SchemaRegistryClient(config.schemaRegistry),
    close: () => clickhouse.close(),
  };
}

/** Migrations; missing topics; the contracts' subjects registered with BACKWARD compatibility. Idempotent. */
export async function prepare(config: CostlineConfig, connections: Connections, logger: Logger): Promise<void> {
  const version = await serverVersion(connections.clickhouse).catch((error: Error) => {
    throw new Error(`ClickHouse at ${config.clickhouse.url} did not answer: ${error.message}. Check CLICKHOUSE_URL and that the server runs (costline stack status).`);
  });
  const applied = await migrate(connections.clickhouse, config.clickhouse.database, (m) => logger.info({ version: m.version, name: m.name }, 'migration applied'));
  logger.debug({ clickhouse: version.text, applied }, 'clickhouse schema up to date');
  const admin = connections.kafka.admin();
  try {
    await admin.connect().catch((error: Error) => {
      throw new Error(`Kafka at ${config.kafka.brokers.join(',')} did not answer: ${error.message}. Check KAFKA_BROKERS and that the broker runs (costline stack status).`);
    });
    const created = await ensureTopics(admin, Object.values(config.topics), config.kafka.partitions);
    if (created.length > 0) logger.info({ topics: created }, 'topics created');
  } finally {
    await admin.disconnect();
  }
  const subjects: [string, Record<string, unknown>][] = [
    ...familySources.map((source): [string, Record<string, unknown>] => [source.topic(config), source.contract.schema]),
    [config.topics.alerts, contracts.alert.schema],
    [config.topics.actions, contracts.action.schema],
    [config.topics.partials, contracts.partialRollup.schema],
  ];
  for (const [topic, schema] of subjects) await connections.registry.registerWithCompatibility(valueSubject(topic), schema, 'BACKWARD');
}
