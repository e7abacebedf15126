import { logLevel, type KafkaConfig, type logCreator, type SASLOptions } from 'kafkajs';
import type { CostlineConfig } from './schema.js';
import { silentLogger, type Logger } from '../observability/logger.js';

/** KafkaJS's message for REBALANCE_IN_PROGRESS, the `error` of its lines about a group rebalancing. */
const REBALANCE_IN_PROGRESS = 'The group is rebalancing, so a rejoin is needed';

/**
 * KafkaJS's own log lines through costline's logger. KafkaJS logs as errors what it retries
 * (a broker restarting): they are warnings here, never console noise. A rebalance in progress is
 * how a consumer group works (every start, every member joining or leaving: stage-1 workers
 * join one by one), not a fault: KafkaJS says so on every heartbeat until the group settles, a
 * dozen lines per start, so those are info.
 */
export function kafkaLogs(logger: Logger): logCreator {
  return () => ({ namespace, level, log }) => {
    const { message, ...extra } = log;
    const fields = { kafkajs: namespace, ...extra };
    if (level === logLevel.ERROR || level === logLevel.WARN) {
      if (extra.error === REBALANCE_IN_PROGRESS) logger.info(fields, message);
      else logger.warn(fields, message);
    } else if (level === logLevel.INFO) logger.debug(fields, message);
    else logger.trace(fields, message);
  };
}

/** KafkaJS client options from costline's config: TLS and SASL/SCRAM when configured. */
export function kafkaOptions(config: CostlineConfig['kafka'], clientSuffix = '', logger: Logger = silentLogger): KafkaConfig {
  const sasl: SASLOptions | undefined = config.sasl ? ({ mechanism: config.sasl.mechanism, username: config.sasl.username, password: config.sasl.password } as SASLOptions) : undefined;
  return {
    clientId: `${config.clientId}${clientSuffix}`,
    brokers: config.brokers,
    ssl: config.ssl,
    sasl,
    logLevel: logLevel.WARN,
    logCreator: kafkaLogs(logger),
    connectionTimeout: 5_000,
    retry: { initialRetryTime: 300, retries: 8, maxRetryTime: 30_000 },
  };
}
