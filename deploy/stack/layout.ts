import { fileURLToPath } from 'node:url';
import { dirname, join, resolve } from 'node:path';

/** The project root (this file lives at deploy/stack/layout.ts). */
export const projectRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Everything the local stack writes (installs, data, logs, pid files) lives under one git-ignored folder. */
export function stackDir(env: NodeJS.ProcessEnv = process.env): string {
  return resolve(env.COSTLINE_STACK_DIR ?? join(projectRoot, '.stack'));
}

export interface StackPorts {
  kafka: number;
  kafkaController: number;
  registry: number;
  clickhouseHttp: number;
  clickhouseTcp: number;
}

/** Ports of the local stack: off the well-known ones, so a Kafka or ClickHouse already on the machine does not collide. */
export function stackPorts(env: NodeJS.ProcessEnv = process.env): StackPorts {
  const port = (name: string, fallback: number) => {
    const raw = env[name];
    if (raw === undefined || raw === '') return fallback;
    const value = Number(raw);
    if (!Number.isInteger(value) || value < 1 || value > 65535) throw new Error(`${name}=${raw} is not a port number. Fix: set it to an integer from 1 to 65535, or unset it.`);
    return value;
  };
  return {
    kafka: port('COSTLINE_STACK_KAFKA_PORT', 19092),
    kafkaController: port('COSTLINE_STACK_KAFKA_CONTROLLER_PORT', 19093),
    registry: port('COSTLINE_STACK_REGISTRY_PORT', 18081),
    clickhouseHttp: port('COSTLINE_STACK_CLICKHOUSE_HTTP_PORT', 18123),
    clickhouseTcp: port('COSTLINE_STACK_CLICKHOUSE_TCP_PORT', 19000),
  };
}

export const HOST = '127.0.0.1';
