import 'vitest';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import type { TestProject } from 'vitest/node';
import { endpointsFromEnv, stackDown, stackStatus, stackUp, type StackEndpoints } from '../../deploy/stack/stack.js';

declare module 'vitest' {
  export interface ProvidedContext {
    endpoints: StackEndpoints;
  }
}

function dockerReachable(): boolean {
  if (!existsSync('/var/run/docker.sock') && !process.env.DOCKER_HOST) return false;
  try {
    execFileSync('docker', ['info'], { stdio: 'ignore', timeout: 5_000 });
    return true;
  } catch {
    return false;
  }
}

/**
 * Real services for the integration tests, in this order of preference: the endpoints in the
 * environment (KAFKA_BROKERS, SCHEMA_REGISTRY_URL, CLICKHOUSE_URL); Testcontainers when a Docker
 * engine answers; else the local stack, started for this run and stopped at its end (a stack that
 * was already running is left running).
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const log = (m: string) => process.stderr.write(`[integration setup] ${m}\n`);
  const fromEnv = endpointsFromEnv();
  if (fromEnv) {
    log(`using the services in the environment: ${JSON.stringify(fromEnv)}`);
    project.provide('endpoints', fromEnv);
    return async () => undefined;
  }
  if (process.env.COSTLINE_TEST_DOCKER !== '0' && dockerReachable()) {
    log('a Docker engine answers: starting Kafka, Schema Registry and ClickHouse with Testcontainers');
    // Loaded only here: the container runtime client is needed only when a Docker engine answers.
    const { startContainers } = await import('./containers.js');
    const containers = await startContainers();
    project.provide('endpoints', containers.endpoints);
    return containers.stop;
  }
  const wasRunning = (await stackStatus()).every((s) => s.state === 'healthy');
  log(wasRunning ? 'the local stack is already running: using it' : 'no Docker engine: starting the local stack (costline stack up)');
  const endpoints = await stackUp(log);
  project.provide('endpoints', endpoints);
  return async () => {
    if (wasRunning) return;
    log('stopping the local stack started for this run');
    await stackDown(log);
  };
}
