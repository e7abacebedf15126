import { logLevel, type KafkaConfig, type SASLOptions } from 'kafkajs';
import type { CostlineConfig } from './schema.js';

/** KafkaJS client options from costline's config: TLS and SASL/SCRAM when configured. */
export function kafkaOptions(config: CostlineConfig['kafka'], clientSuffix = ''): KafkaConfig {
  const sasl: SASLOptions | undefined = config.sasl ? ({ mechanism: config.sasl.mechanism, username: config.sasl.username, password: config.sasl.password } as SASLOptions) : undefined;
  return {
    clientId: `${config.clientId}${clientSuffix}`,
    brokers: config.brokers,
    ssl: config.ssl,
    sasl,
    logLevel: logLevel.ERROR,
    connectionTimeout: 5_000,
    retry: { initialRetryTime: 300, retries: 8, maxRetryTime: 30_000 },
  };
}
