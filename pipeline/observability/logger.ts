import { pino, type Logger, type LoggerOptions } from 'pino';

export type { Logger };

/** Paths redacted from every log line: credentials must never reach a log, whatever logs them. */
const REDACTED_PATHS = [
  'password',
  '*.password',
  '*.*.password',
  'sasl.password',
  'config.kafka.sasl.password',
  'config.clickhouse.password',
  'config.schemaRegistry.password',
  'authorization',
  '*.authorization',
];

export interface LoggerSettings {
  level?: string;
  /** Pretty, human-oriented output; defaults to on when stdout is a terminal and not in CI. */
  pretty?: boolean;
  name?: string;
}

/** The one logger factory: JSON in production, pretty on a terminal. */
export function createLogger(settings: LoggerSettings = {}): Logger {
  const level = settings.level ?? process.env.COSTLINE_LOG_LEVEL ?? 'info';
  const pretty = settings.pretty ?? (process.stdout.isTTY === true && !process.env.CI);
  const options: LoggerOptions = {
    name: settings.name ?? 'costline',
    level,
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    base: undefined,
  };
  if (pretty) {
    return pino({
      ...options,
      transport: { target: 'pino-pretty', options: { colorize: true, translateTime: 'HH:MM:ss', ignore: 'name' } },
    });
  }
  return pino(options);
}

/** A logger that drops everything, for tests and for library callers that pass none. */
export const silentLogger: Logger = pino({ level: 'silent' });
