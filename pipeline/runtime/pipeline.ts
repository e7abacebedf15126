import { EventEmitter } from 'node:events';
import type { Consumer, ConsumerConfig, Kafka, Producer } from 'kafkajs';
import type { Logger } from '../observability/logger.js';
import { CombinedRegistry, type Metrics } from '../observability/metrics.js';
import type { CostlineConfig } from '../config/schema.js';
import type { Alert, PlaybookAction, SchemaRegistryClient } from '../../schemas/index.js';
import type { MergedRollup } from '../core/stage-two.js';
import { idempotentProducer, type DeadLetter } from '../../sinks/kafka/index.js';
import type { ClickHouseClient } from '../../sinks/clickhouse/index.js';
import { CoPartitionedAssigner } from './co-partition-assigner.js';
import { familyTopics } from '../sources/index.js';
import { StageOneRunner } from './stage-one-runner.js';
import { StageTwoRunner } from './stage-two-runner.js';
import { stageOneWorkerCount, StageOneWorkers } from './stage-one-workers.js';

export interface PipelineDeps {
  config: CostlineConfig;
  logger: Logger;
  metrics: Metrics;
  kafka: Kafka;
  clickhouse: ClickHouseClient;
  registry: SchemaRegistryClient;
  /** The wall clock, for idle partitions and flush pacing only; never for event time. Stage-1 worker threads read Date.now. */
  now?: () => number;
}

export interface PipelineEvents {
  rollups: [minutes: MergedRollup[]];
  alert: [alert: Alert];
  action: [action: PlaybookAction];
  deadLetter: [letter: DeadLetter];
  sinkFailure: [error: Error, retryInMs: number];
  /** A stage-1 worker thread died: its partitions are no longer consumed. Unhandled, it ends the process. */
  error: [error: Error];
}

/**
 * How stage 1 fetches the input topics: up to this much per partition per fetch, answered as soon
 * as any data is there. Larger fetches mean fewer round trips but more records alive at once
 * (KafkaJS decodes a whole fetch before handing out its batches). The throughput benchmark's
 * raw-consume ceiling uses the same settings, so its ratio compares like with like.
 */
export const stageOneFetch = { maxBytesPerPartition: 4 * 1024 * 1024, minBytes: 1, maxBytes: 10 * 1024 * 1024, maxWaitTimeInMs: 5_000 } as const satisfies Partial<ConsumerConfig>;

/** Stage 1's consumer, on the main thread or a worker thread alike: the pipeline's group, co-partitioned. */
export function stageOneConsumer(kafka: Kafka, config: CostlineConfig): Consumer {
  return kafka.consumer({ groupId: config.kafka.groupId, sessionTimeout: 30_000, heartbeatInterval: 3_000, ...stageOneFetch, partitionAssigners: [CoPartitionedAssigner] });
}

/** Partition counts of the input topics: they must agree (co-partitioning), and are stage 2's task count. */
export async function inputTaskCount(kafka: Kafka, config: CostlineConfig): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const inputs = familyTopics(config);
    const { topics } = await admin.fetchTopicMetadata({ topics: inputs });
    const counts = new Map(topics.map((t) => [t.name, t.partitions.length]));
    const distinct = new Set(counts.values());
    if (distinct.size !== 1) {
      throw new Error(`the input topics must have the same number of partitions (GPU samples and billing lines are co-partitioned by resource id); found ${[...counts].map(([t, n]) => `${t}=${n}`).join(', ')}. Fix: add partitions so they match (kafka-topics --alter --partitions N)`);
    }
    return [...distinct][0]!;
  } finally {
    await admin.disconnect();
  }
}

/**
 * The running pipeline: stage 1 (per input partition: decode, validate, pre-aggregate) and stage 2
 * (per rollup key: merge, write, detect) in one process. Stage 1 runs on worker threads
 * (`pipeline.stageOneWorkers`), each one more member of the consumer group, or on the main thread.
 * Several processes in the same consumer groups split both stages by partition and produce the
 * same results as one.
 */
export class Pipeline extends EventEmitter<PipelineEvents> {
  private stageOne: StageOneRunner | StageOneWorkers | undefined;
  private stageTwo: StageTwoRunner | undefined;
  private producer: Producer | undefined;
  /** Every thread's metrics: serve this one on /metrics. */
  readonly registry: CombinedRegistry;

  constructor(private readonly deps: PipelineDeps) {
    super();
    this.registry = new CombinedRegistry(deps.metrics.registry, (name) => (this.stageOne instanceof StageOneWorkers ? this.stageOne.metrics(name) : Promise.resolve([])));
  }

  /** Stage-1 worker threads running (0: stage 1 runs on the main thread). */
  get stageOneWorkers(): number {
    return this.stageOne instanceof StageOneWorkers ? this.stageOne.size : 0;
  }

  /** Windows and merge state held in memory, both stages. */
  get stateSize(): number {
    return (this.stageOne?.stateSize ?? 0) + (this.stageTwo?.stateSize ?? 0);
  }

  get ready(): boolean {
    return (this.stageOne?.ready ?? false) && (this.stageTwo?.ready ?? false);
  }

  async start(): Promise<void> {
    const { config, kafka, logger } = this.deps;
    const now = this.deps.now ?? Date.now;
    const tasks = await inputTaskCount(kafka, config);
    const admin = kafka.admin();
    await admin.connect();
    const [internal] = (await admin.fetchTopicMetadata({ topics: [config.topics.partials] })).topics;
    await admin.disconnect();
    this.producer = idempotentProducer(kafka);
    await this.producer.connect();
    const common = { config, producer: this.producer, clickhouse: this.deps.clickhouse, registry: this.deps.registry, logger, metrics: this.deps.metrics, now, onDeadLetter: (l: DeadLetter) => this.emit('deadLetter', l), onFlushFailure: (e: Error, d: number) => this.emit('sinkFailure', e, d) };
    this.stageTwo = new StageTwoRunner({
      ...common,
      consumer: kafka.consumer({ groupId: `${config.kafka.groupId}-merge`, sessionTimeout: 30_000, heartbeatInterval: 3_000 }),
      expectedTasks: tasks,
      onRollups: (minutes) => this.emit('rollups', minutes),
      onAlert: (alert) => this.emit('alert', alert),
      onAction: (action) => this.emit('action', action),
    });
    const warm = await this.stageTwo.warmStart();
    logger.info({ windows: warm.windows, hours: config.detectors.warmStartHours }, 'detector baselines warm-started from ClickHouse');
    const internalPartitions = internal?.partitions.length ?? config.kafka.partitions;
    const workers = stageOneWorkerCount(config.pipeline.stageOneWorkers, tasks);
    this.stageOne =
      workers === 0
        ? new StageOneRunner({ ...common, consumer: stageOneConsumer(kafka, config), internalPartitions })
        : new StageOneWorkers({ config, logger, workers, internalPartitions, onDeadLetter: common.onDeadLetter, onFlushFailure: common.onFlushFailure, onFailure: (error) => this.emit('error', error) });
    await this.stageTwo.start();
    await this.stageOne.start();
    logger.info({ tasks, group: config.kafka.groupId, stageOneWorkers: workers }, 'pipeline consuming');
  }

  /** Graceful: stage 1 first (its last partials reach the internal topic), then stage 2. */
  async stop(): Promise<void> {
    await this.stageOne?.stop();
    await this.stageTwo?.stop();
    await this.producer?.disconnect();
  }
}
