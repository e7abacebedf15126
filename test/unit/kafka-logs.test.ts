import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { logLevel } from 'kafkajs';
import { kafkaLogs } from '../../pipeline/config/kafka-options.js';

/** A costline logger whose lines land in an array, parsed. */
function capturedLogger() {
  const lines: { level: number; msg: string; kafkajs: string }[] = [];
  const logger = pino({ level: 'trace', base: undefined }, { write: (line: string) => lines.push(JSON.parse(line)) });
  return { lines, logger };
}

const PINO_INFO = 30;
const PINO_WARN = 40;

describe('KafkaJS log lines through the costline logger', () => {
  it('logs a rebalance in progress as info: a group settling after a member joins is not a fault', () => {
    const { lines, logger } = capturedLogger();
    const log = kafkaLogs(logger)(logLevel.WARN);
    log({ namespace: 'Connection', level: logLevel.ERROR, label: 'ERROR', log: { timestamp: '', message: 'Response Heartbeat(key: 12, version: 3)', error: 'The group is rebalancing, so a rejoin is needed' } });
    log({ namespace: 'Runner', level: logLevel.WARN, label: 'WARN', log: { timestamp: '', message: 'The group is rebalancing, re-joining', error: 'The group is rebalancing, so a rejoin is needed' } });
    expect(lines.map((l) => [l.level, l.kafkajs])).toEqual([
      [PINO_INFO, 'Connection'],
      [PINO_INFO, 'Runner'],
    ]);
  });

  it('still warns about the errors KafkaJS retries, such as a broker going away', () => {
    const { lines, logger } = capturedLogger();
    kafkaLogs(logger)(logLevel.WARN)({ namespace: 'Connection', level: logLevel.ERROR, label: 'ERROR', log: { timestamp: '', message: 'Connection error: connect ECONNREFUSED 127.0.0.1:19092', error: 'connect ECONNREFUSED 127.0.0.1:19092' } });
    expect(lines.map((l) => [l.level, l.msg])).toEqual([[PINO_WARN, 'Connection error: connect ECONNREFUSED 127.0.0.1:19092']]);
  });
});
