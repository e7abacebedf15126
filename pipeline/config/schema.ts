import { z } from 'zod';
import { detectorSetSchema } from '../../detectors/engine.js';

/**
 * The configuration contract. Every key has a default that works against the local stack
 * (`costline stack up`), so a config file only says what differs. Durations are milliseconds.
 */

const brokerList = z
  .array(z.string().regex(/^[^\s:]+:\d{1,5}$/, 'each broker is host:port, e.g. 127.0.0.1:9092'))
  .min(1, 'at least one broker is needed');

const httpUrl = z.string().url().refine((u) => /^https?:\/\//.test(u), 'must start with http:// or https://');

export const saslSchema = z.strictObject({
  mechanism: z.enum(['plain', 'scram-sha-256', 'scram-sha-512']),
  username: z.string().min(1),
  password: z.string().min(1),
});

export const kafkaSchema = z.strictObject({
  brokers: brokerList.default(['127.0.0.1:19092']),
  clientId: z.string().min(1).default('costline'),
  groupId: z.string().min(1).default('costline-pipeline'),
  ssl: z.boolean().default(false),
  sasl: saslSchema.optional(),
  /** Where a consumer group with no committed offset starts: the oldest record, or only new ones. */
  startFrom: z.enum(['earliest', 'latest']).default('earliest'),
  /** Partitions for topics costline creates itself (outputs, and inputs on the local stack). */
  partitions: z.number().int().min(1).max(1024).default(3),
});

export const schemaRegistrySchema = z.strictObject({
  url: httpUrl.default('http://127.0.0.1:18081/apis/ccompat/v7'),
  username: z.string().optional(),
  password: z.string().optional(),
});

export const clickhouseSchema = z.strictObject({
  url: httpUrl.default('http://127.0.0.1:18123'),
  username: z.string().default('default'),
  password: z.string().default(''),
  database: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_]{0,62}$/, 'letters, digits and underscores, not starting with a digit')
    .default('costline'),
});

export const topicsSchema = z.strictObject({
  tokens: z.string().min(1).default('telemetry.tokens'),
  gpu: z.string().min(1).default('telemetry.gpu'),
  queue: z.string().min(1).default('telemetry.queue'),
  billing: z.string().min(1).default('billing.costs'),
  alerts: z.string().min(1).default('costline.alerts'),
  actions: z.string().min(1).default('costline.actions'),
  dlq: z.string().min(1).default('costline.dlq'),
  /** Internal: stage 1 partial rollups and watermarks, keyed by rollup key, read by stage 2. */
  partials: z.string().min(1).default('costline.internal.partials'),
});

export const lateness = z.strictObject({
  /** How far behind the newest event an event may arrive and still count as on time. */
  maxOutOfOrdernessMs: z.number().int().min(0),
  /** How long after a window's end (in event time) it still accepts events and re-emits. */
  allowedLatenessMs: z.number().int().min(0),
});

export const windowsSchema = z.strictObject({
  sizeMs: z.number().int().min(1000).max(3_600_000).default(60_000),
  telemetry: lateness.default({ maxOutOfOrdernessMs: 5_000, allowedLatenessMs: 30_000 }),
  /** Billing arrives hours or days late: a line whose charge period ended longer ago than this is dead-lettered as late. */
  billingAllowedLatenessMs: z.number().int().min(0).default(7 * 86_400_000),
  /** A partition silent this long (wall clock) stops holding the watermark back. */
  idlePartitionMs: z.number().int().min(100).default(10_000),
  /** Events further than this ahead of the broker's clock are rejected as from the future. */
  maxFutureSkewMs: z.number().int().min(0).default(3_600_000),
});

export const sinkSchema = z.strictObject({
  flushIntervalMs: z.number().int().min(50).max(60_000).default(1_000),
  maxBatchRows: z.number().int().min(1).max(1_000_000).default(50_000),
  retryMaxDelayMs: z.number().int().min(100).default(30_000),
});

export const latencyRegressionSchema = z.strictObject({
  /** Windows of the key's own history the trailing median is taken over. */
  historyWindows: z.number().int().min(3).max(1440).default(60),
  /** No verdict before this many windows of history: a new key has no baseline (nor spread) yet. */
  minHistory: z.number().int().min(2).default(10),
  /** Fire when p95 exceeds the trailing median by this factor ... */
  ratio: z.number().gt(1).default(1.5),
  /** ... and by at least this many milliseconds, so a fast endpoint's jitter stays quiet. */
  minDeltaMs: z.number().min(0).default(50),
  /** Requests a window needs for its p95 to count. */
  minRequests: z.number().int().min(1).default(20),
  /** ... and by this many robust standard deviations of the key's own log p95: its usual noise is not a regression. */
  minZ: z.number().min(0).default(4),
  /** Consecutive breaching windows before firing, and clean ones before resolving. */
  fireAfter: z.number().int().min(1).default(2),
  resolveAfter: z.number().int().min(1).default(3),
});

export const gpuRateSchema = z.strictObject({
  provider: z.string().min(1),
  instanceType: z.string().min(1),
  region: z.string().min(1).optional(),
  perGpuHour: z.number().min(0),
});

export const learnedRatesSchema = z
  .strictObject({
    /** Price GPUs with learned rates when there are any (a configured rate still wins). */
    enabled: z.boolean().default(true),
    /** Billing and telemetry of this many past days are the evidence. */
    lookbackDays: z.number().min(1).max(90).default(7),
    /** A rate needs at least this many GPU-hours of evidence for its instance type and region. */
    minGpuHours: z.number().min(0).default(1),
    /** Learned rates take effect at the start of the hour this far ahead, so every instance has them before they apply. */
    leadMs: z.number().int().min(60_000).default(2 * 3_600_000),
    /** How often a running pipeline re-reads the learned rates. */
    reloadEveryMs: z.number().int().min(10_000).default(5 * 60_000),
  })
  .refine((r) => r.reloadEveryMs < r.leadMs, { message: 'reloadEveryMs must be shorter than leadMs, or an instance could price a window before it has the rate that applies to it', path: ['reloadEveryMs'] });

export const costSchema = z.strictObject({
  /** On-demand prices per GPU-hour; they override the built-in table (pipeline/core/rate-card.ts). */
  gpuRates: z.array(gpuRateSchema).default([]),
  /** For GPUs whose instance type no rate names, so an estimate is never silently zero. */
  defaultPerGpuHour: z.number().min(0).default(2.5),
  egressPerGb: z.number().min(0).default(0.09),
  currency: z.string().regex(/^[A-Z]{3}$/, 'an ISO 4217 code such as USD').default('USD'),
  /** Rates learned from billing (`costline rates learn`): used where no configured rate names the instance type. */
  learnedRates: learnedRatesSchema.default(learnedRatesSchema.parse({})),
});

export const cardinalitySchema = z.strictObject({
  /** Distinct values per dimension (model_version, region, team, ...) before new ones fold into __overflow__. */
  maxValuesPerDimension: z.number().int().min(1).default(10_000),
});

export const detectorsSchema = detectorSetSchema.extend({
  latencyRegression: latencyRegressionSchema.default(latencyRegressionSchema.parse({})),
  /** Hours of stored rollups replayed through the detectors at start, so baselines have no blind period. */
  warmStartHours: z.number().min(0).max(24 * 14).default(6),
});

export const playbookSchema = z.strictObject({
  /** The YAML playbook (see deploy/playbooks/default.yaml); relative paths are from the working directory. */
  file: z.string().min(1).default('deploy/playbooks/default.yaml'),
  enabled: z.boolean().default(true),
});

export const pipelineSchema = z.strictObject({
  /**
   * Worker threads that run stage 1 (decode, validate, pre-aggregate), each a member of the
   * consumer group with its own input partitions; stage 2 stays on the main thread. 'auto': one per
   * available core, at most one per input partition, none on a single core. The default, 0, runs
   * stage 1 on the main thread: a worker warms up its own code and clients, so it spends more CPU
   * per event (measured here with two: 1.3 times over 600k events, 1.8 over 200k), which pays only
   * where cores would otherwise idle.
   */
  stageOneWorkers: z.union([z.literal('auto'), z.number().int().min(0).max(256)], { error: "a whole number of threads from 0 to 256, or 'auto'" }).default(0),
});

export const observabilitySchema = z.strictObject({
  /** Port of /metrics, /healthz and /readyz; 0 turns the HTTP endpoint off. */
  metricsPort: z.number().int().min(0).max(65535).default(9464),
  logLevel: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
});

export const configSchema = z.strictObject({
  kafka: kafkaSchema.default(kafkaSchema.parse({})),
  schemaRegistry: schemaRegistrySchema.default(schemaRegistrySchema.parse({})),
  clickhouse: clickhouseSchema.default(clickhouseSchema.parse({})),
  topics: topicsSchema.default(topicsSchema.parse({})),
  windows: windowsSchema.default(windowsSchema.parse({})),
  sink: sinkSchema.default(sinkSchema.parse({})),
  cost: costSchema.default(costSchema.parse({})),
  cardinality: cardinalitySchema.default(cardinalitySchema.parse({})),
  detectors: detectorsSchema.default(detectorsSchema.parse({})),
  playbook: playbookSchema.default(playbookSchema.parse({})),
  pipeline: pipelineSchema.default(pipelineSchema.parse({})),
  observability: observabilitySchema.default(observabilitySchema.parse({})),
});

export type CostlineConfig = z.infer<typeof configSchema>;
export type LatencyRegressionConfig = z.infer<typeof latencyRegressionSchema>;
