import { mkdirSync, existsSync } from 'node:fs';
import { HOST, stackDir, stackPorts } from './layout.js';
import { isAlive, isPortFree, readPid, stopProcess, waitUntil } from './processes.js';
import type { Progress } from './commands.js';
import type { LocalService } from './services/service.js';
import { kafkaService } from './services/kafka.js';
import { clickhouseService } from './services/clickhouse.js';
import { registryService } from './services/registry.js';

export interface StackEndpoints {
  kafkaBrokers: string;
  schemaRegistryUrl: string;
  clickhouseUrl: string;
}

export class StackError extends Error {
  constructor(readonly service: string, message: string, readonly logFile?: string, readonly hint?: string) {
    super(`${service}: ${message}${logFile ? `\n  log: ${logFile}` : ''}${hint ? `\n  fix: ${hint}` : ''}`);
    this.name = 'StackError';
  }
}

/** The three endpoints, when the environment already names them all: then the stack starts nothing. */
export function endpointsFromEnv(env: NodeJS.ProcessEnv = process.env): StackEndpoints | undefined {
  const { KAFKA_BROKERS, SCHEMA_REGISTRY_URL, CLICKHOUSE_URL } = env;
  if (KAFKA_BROKERS && SCHEMA_REGISTRY_URL && CLICKHOUSE_URL) return { kafkaBrokers: KAFKA_BROKERS, schemaRegistryUrl: SCHEMA_REGISTRY_URL, clickhouseUrl: CLICKHOUSE_URL };
  return undefined;
}

/** Services in start order: the registry is independent of Kafka in this setup, but Kafka is the slowest to install. */
export function localServices(env: NodeJS.ProcessEnv = process.env): LocalService[] {
  const dir = stackDir(env);
  const ports = stackPorts(env);
  return [kafkaService(dir, ports), registryService(dir, ports), clickhouseService(dir, ports)];
}

export function localEndpoints(env: NodeJS.ProcessEnv = process.env): StackEndpoints {
  const [kafka, registry, clickhouse] = localServices(env);
  return { kafkaBrokers: kafka!.endpoint(), schemaRegistryUrl: registry!.endpoint(), clickhouseUrl: clickhouse!.endpoint() };
}

async function startOne(service: LocalService, progress: Progress): Promise<'started' | 'already-running'> {
  const pid = readPid(service.pidFile);
  if (pid !== undefined && isAlive(pid)) {
    if (await waitUntil(() => service.healthy(), service.startTimeoutMs, 500, () => isAlive(pid))) return 'already-running';
    throw new StackError(service.name, `process ${pid} runs but is not healthy after ${service.startTimeoutMs / 1000}s`, service.logFile, `run \`costline stack down\` and \`costline stack up\` again; ${service.hint}`);
  }
  for (const port of service.ports) {
    if (!(await isPortFree(HOST, port))) {
      throw new StackError(service.name, `port ${HOST}:${port} is taken by another process`, undefined, `stop whatever listens there (\`ss -ltnp | grep :${port}\`), or move this service; ${service.hint}`);
    }
  }
  const started = Date.now();
  progress(`${service.name}: starting`);
  const newPid = await service.start(progress).catch((error: Error) => {
    throw new StackError(service.name, `could not start: ${error.message}`, service.logFile, service.hint);
  });
  const healthy = await waitUntil(() => service.healthy(), service.startTimeoutMs, 250, () => isAlive(newPid));
  if (!healthy) {
    const reason = isAlive(newPid) ? `did not become healthy within ${service.startTimeoutMs / 1000}s` : 'exited during start-up';
    throw new StackError(service.name, reason, service.logFile, service.hint);
  }
  progress(`${service.name}: healthy at ${service.endpoint()} after ${((Date.now() - started) / 1000).toFixed(1)}s`);
  return 'started';
}

/** Installs (first use) and starts every local service; idempotent. */
export async function stackUp(progress: Progress, env: NodeJS.ProcessEnv = process.env): Promise<StackEndpoints> {
  const external = endpointsFromEnv(env);
  if (external) {
    progress('KAFKA_BROKERS, SCHEMA_REGISTRY_URL and CLICKHOUSE_URL are set: using those endpoints, starting nothing');
    return external;
  }
  mkdirSync(stackDir(env), { recursive: true });
  const services = localServices(env);
  // Installs run one at a time (they compete for the same two cores and network); starts overlap.
  for (const service of services) {
    const pid = readPid(service.pidFile);
    if (pid === undefined || !isAlive(pid)) {
      await service.install(progress).catch((error: Error) => {
        throw new StackError(service.name, `install failed: ${error.message}`, undefined, service.hint);
      });
    }
  }
  const results = await Promise.allSettled(services.map((service) => startOne(service, progress)));
  const failures = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as Error] : []));
  if (failures.length > 0) throw failures.length === 1 ? failures[0]! : new Error(failures.map((f) => f.message).join('\n'));
  results.forEach((r, i) => {
    if (r.status === 'fulfilled' && r.value === 'already-running') progress(`${services[i]!.name}: already running at ${services[i]!.endpoint()}`);
  });
  return localEndpoints(env);
}

/** Stops every process the stack started, and checks that none is left. */
export async function stackDown(progress: Progress, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const services = localServices(env).reverse();
  const leftovers: string[] = [];
  await Promise.all(
    services.map(async (service) => {
      const pid = readPid(service.pidFile);
      const outcome = await stopProcess(service.pidFile, 30_000);
      if (outcome === 'not-running') progress(`${service.name}: not running`);
      else progress(`${service.name}: ${outcome}${outcome === 'killed' ? ' (did not stop within 30s of SIGTERM)' : ''}`);
      if (pid !== undefined && isAlive(pid)) leftovers.push(`${service.name} (pid ${pid})`);
    }),
  );
  if (leftovers.length > 0) throw new Error(`still running after stop: ${leftovers.join(', ')}`);
}

export interface ServiceStatus {
  name: string;
  state: 'healthy' | 'unhealthy' | 'stopped' | 'external';
  endpoint: string;
  pid?: number;
  logFile?: string;
}

export async function stackStatus(env: NodeJS.ProcessEnv = process.env): Promise<ServiceStatus[]> {
  const external = endpointsFromEnv(env);
  if (external) {
    return [
      { name: 'kafka', state: 'external', endpoint: external.kafkaBrokers },
      { name: 'schema-registry', state: 'external', endpoint: external.schemaRegistryUrl },
      { name: 'clickhouse', state: 'external', endpoint: external.clickhouseUrl },
    ];
  }
  return Promise.all(
    localServices(env).map(async (service): Promise<ServiceStatus> => {
      const pid = readPid(service.pidFile);
      const logFile = existsSync(service.logFile) ? service.logFile : undefined;
      if (pid === undefined || !isAlive(pid)) return { name: service.name, state: 'stopped', endpoint: service.endpoint(), logFile };
      const healthy = await service.healthy().catch(() => false);
      return { name: service.name, state: healthy ? 'healthy' : 'unhealthy', endpoint: service.endpoint(), pid, logFile };
    }),
  );
}

export function envLines(endpoints: StackEndpoints): string[] {
  return [`export KAFKA_BROKERS=${endpoints.kafkaBrokers}`, `export SCHEMA_REGISTRY_URL=${endpoints.schemaRegistryUrl}`, `export CLICKHOUSE_URL=${endpoints.clickhouseUrl}`];
}
