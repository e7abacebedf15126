import { readFileSync, existsSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { configSchema, type CostlineConfig } from './schema.js';

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

/** Where a configuration value came from, so an error can point at the line to fix. */
type Origin = Map<string, string>;

/** Reads a secret from VAR, or from the file named by VAR_FILE (Kubernetes and Docker secrets). */
export function readSecret(env: Env, name: string): string | undefined {
  const direct = env[name];
  if (direct !== undefined && direct !== '') return direct;
  const file = env[`${name}_FILE`];
  if (file) {
    if (!existsSync(file)) throw new ConfigError([`${name}_FILE points at ${file}, which does not exist. Fix: mount the secret there or unset ${name}_FILE.`]);
    return readFileSync(file, 'utf8').trim();
  }
  return undefined;
}

function setPath(target: Record<string, unknown>, path: string[], value: unknown): void {
  let node = target;
  for (const key of path.slice(0, -1)) {
    const next = node[key];
    if (typeof next !== 'object' || next === null || Array.isArray(next)) node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  node[path[path.length - 1]!] = value;
}

function parseEnvValue(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return raw;
  }
}

/**
 * Environment overrides, on top of the file. The well-known names (KAFKA_BROKERS,
 * SCHEMA_REGISTRY_URL, CLICKHOUSE_URL and the credentials) plus a generic form for any key:
 * COSTLINE__windows__sizeMs=30000 sets windows.sizeMs.
 */
function applyEnv(raw: Record<string, unknown>, env: Env, origin: Origin): void {
  const set = (path: string, value: unknown, from: string) => {
    setPath(raw, path.split('.'), value);
    origin.set(path, `environment variable ${from}`);
  };
  if (env.KAFKA_BROKERS) set('kafka.brokers', env.KAFKA_BROKERS.split(',').map((b) => b.trim()).filter(Boolean), 'KAFKA_BROKERS');
  if (env.KAFKA_SSL) set('kafka.ssl', env.KAFKA_SSL === 'true' || env.KAFKA_SSL === '1', 'KAFKA_SSL');
  const saslPassword = readSecret(env, 'KAFKA_SASL_PASSWORD');
  if (env.KAFKA_SASL_MECHANISM || env.KAFKA_SASL_USERNAME || saslPassword) {
    set('kafka.sasl', { mechanism: env.KAFKA_SASL_MECHANISM?.toLowerCase(), username: env.KAFKA_SASL_USERNAME, password: saslPassword }, 'KAFKA_SASL_*');
  }
  if (env.SCHEMA_REGISTRY_URL) set('schemaRegistry.url', env.SCHEMA_REGISTRY_URL, 'SCHEMA_REGISTRY_URL');
  if (env.SCHEMA_REGISTRY_USERNAME) set('schemaRegistry.username', env.SCHEMA_REGISTRY_USERNAME, 'SCHEMA_REGISTRY_USERNAME');
  const registryPassword = readSecret(env, 'SCHEMA_REGISTRY_PASSWORD');
  if (registryPassword) set('schemaRegistry.password', registryPassword, 'SCHEMA_REGISTRY_PASSWORD');
  if (env.CLICKHOUSE_URL) set('clickhouse.url', env.CLICKHOUSE_URL, 'CLICKHOUSE_URL');
  if (env.CLICKHOUSE_USER) set('clickhouse.username', env.CLICKHOUSE_USER, 'CLICKHOUSE_USER');
  const chPassword = readSecret(env, 'CLICKHOUSE_PASSWORD');
  if (chPassword !== undefined) set('clickhouse.password', chPassword, 'CLICKHOUSE_PASSWORD');
  if (env.CLICKHOUSE_DATABASE) set('clickhouse.database', env.CLICKHOUSE_DATABASE, 'CLICKHOUSE_DATABASE');
  if (env.COSTLINE_LOG_LEVEL) set('observability.logLevel', env.COSTLINE_LOG_LEVEL, 'COSTLINE_LOG_LEVEL');
  if (env.COSTLINE_METRICS_PORT) set('observability.metricsPort', Number(env.COSTLINE_METRICS_PORT), 'COSTLINE_METRICS_PORT');
  if (env.COSTLINE_STAGE_ONE_WORKERS) set('pipeline.stageOneWorkers', parseEnvValue(env.COSTLINE_STAGE_ONE_WORKERS), 'COSTLINE_STAGE_ONE_WORKERS');
  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith('COSTLINE__') || value === undefined) continue;
    set(name.slice('COSTLINE__'.length).split('__').join('.'), parseEnvValue(value), name);
  }
}

function describeIssue(issue: z.core.$ZodIssue, raw: Record<string, unknown>, origin: Origin): string {
  const key = issue.path.join('.') || '(root)';
  let value: unknown = raw;
  for (const part of issue.path) value = (value as Record<PropertyKey, unknown> | undefined)?.[part as PropertyKey];
  const secret = /password/i.test(key);
  const got = value === undefined ? 'nothing' : secret ? '[redacted]' : JSON.stringify(value);
  const from = [...origin.entries()].find(([path]) => key === path || key.startsWith(`${path}.`))?.[1] ?? 'the config file';
  const fix =
    issue.code === 'unrecognized_keys'
      ? `remove or correct ${issue.keys.map((k) => `"${k}"`).join(', ')} (a typo of a known key?)`
      : `set ${key} to a valid value in ${from}`;
  return `${key}: ${issue.message} (got ${got}, from ${from}). Fix: ${fix}.`;
}

/** One key set by a command-line option: it wins over the file and the environment. */
export interface ConfigOverride {
  /** Dotted key, e.g. pipeline.stageOneWorkers. */
  path: string;
  value: unknown;
  /** Where it came from, for error messages, e.g. "the --stage-one-workers option". */
  from: string;
}

export interface LoadOptions {
  /** Path of a YAML or JSON config file; defaults to $COSTLINE_CONFIG when set. */
  file?: string;
  env?: Env;
  overrides?: ConfigOverride[];
}

/** The one config loader: file, then environment, then command-line overrides, validated; throws ConfigError naming key and fix. */
export function loadConfig(options: LoadOptions = {}): CostlineConfig {
  const env = options.env ?? process.env;
  const file = options.file ?? env.COSTLINE_CONFIG;
  const origin: Origin = new Map();
  let raw: Record<string, unknown> = {};
  if (file) {
    if (!existsSync(file)) throw new ConfigError([`config file ${file} does not exist. Fix: pass an existing file with --config, or unset COSTLINE_CONFIG.`]);
    let parsed: unknown;
    try {
      parsed = parseYaml(readFileSync(file, 'utf8'));
    } catch (error) {
      throw new ConfigError([`config file ${file} is not valid YAML or JSON: ${(error as Error).message}`]);
    }
    if (parsed !== null && parsed !== undefined) {
      if (typeof parsed !== 'object' || Array.isArray(parsed)) throw new ConfigError([`config file ${file} must hold a mapping of sections (kafka:, clickhouse:, ...).`]);
      raw = parsed as Record<string, unknown>;
    }
  }
  applyEnv(raw, env, origin);
  for (const { path, value, from } of options.overrides ?? []) {
    setPath(raw, path.split('.'), value);
    origin.set(path, from);
  }
  const result = configSchema.safeParse(raw);
  if (!result.success) throw new ConfigError(result.error.issues.map((issue) => describeIssue(issue, raw, origin)));
  return result.data;
}
