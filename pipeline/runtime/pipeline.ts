import { EventEmitter } from 'node:events';
import type { Consumer, EachBatchPayload, Kafka, Producer } from 'kafkajs';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import type { CostlineConfig } from '../config/schema.js';
import { contracts, valueSubject, WireCodec, type Alert, type SchemaRegistryClient, type TokenUsage } from '../../schemas/index.js';
import { WindowStore } from '../core/window-store.js';
import { WatermarkTracker } from '../core/watermark.js';
import { emptyTokenAggregate, foldTokenUsage, tokenKeyOf, toTokenRollup, type TokenAggregate, type TokenRollup } from '../core/token-rollup.js';
import { modelKeyId, type ModelKey } from '../core/keys.js';
import { validateTokenUsage, defaultLimits } from '../sources/validate.js';
import { LatencyRegressionDetector } from '../../detectors/index.js';
import { AlertPublisher, DeadLetterPublisher, type DeadLetter } from '../../sinks/kafka/index.js';
import { TableWriter, tokenRollupRow, alertRow, type ClickHouseClient } from '../../sinks/clickhouse/index.js';
import { SerialQueue } from './serial.js';
import { backoffDelay } from './backoff.js';

export interface PipelineDeps {
  config: CostlineConfig;
  logger: Logger;
  metrics: Metrics;
  kafka: Kafka;
  clickhouse: ClickHouseClient;
  registry: SchemaRegistryClient;
  /** The wall clock, for idle-partition detection and flush pacing only; never for event time. */
  now?: () => number;
}

export interface PipelineEvents {
  rollups: [rollups: TokenRollup[]];
  alert: [alert: Alert];
  deadLetter: [letter: DeadLetter];
  flushed: [summary: { rollupRows: number; alertRows: number; committed: Map<string, number> }];
  sinkFailure: [error: Error, retryInMs: number];
  resumed: [];
}

const partitionId = (topic: string, partition: number) => `${topic}:${partition}`;

/**
 * The running pipeline: consumes token usage, decodes and validates it, folds it into event-time
 * windows, writes rollups to ClickHouse, runs detectors on closed windows and publishes alerts,
 * then commits offsets only as far as everything derived from them is durable.
 */
export class Pipeline extends EventEmitter<PipelineEvents> {
  private readonly consumer: Consumer;
  private readonly producer: Producer;
  private readonly tokenCodec: WireCodec<TokenUsage>;
  private readonly alertCodec: WireCodec<Alert>;
  private readonly store: WindowStore<ModelKey, TokenAggregate>;
  private readonly watermark: WatermarkTracker;
  private readonly detector: LatencyRegressionDetector;
  private readonly rollupWriter: TableWriter<TokenRollup>;
  private readonly alertWriter: TableWriter<Alert>;
  private readonly alertPublisher: AlertPublisher;
  private readonly deadLetters: DeadLetterPublisher;
  private readonly queue = new SerialQueue();
  private readonly now: () => number;
  private pendingAlerts: Alert[] = [];
  private committed = new Map<string, number>();
  private lastFlushAt = 0;
  private failures = 0;
  private paused = false;
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private assigned = new Set<string>();

  constructor(private readonly deps: PipelineDeps) {
    super();
    const { config, kafka, clickhouse, registry, metrics } = deps;
    this.now = deps.now ?? Date.now;
    this.consumer = kafka.consumer({ groupId: config.kafka.groupId, sessionTimeout: 30_000, heartbeatInterval: 3_000, maxBytesPerPartition: 4 * 1024 * 1024 });
    this.producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    this.tokenCodec = new WireCodec(registry, contracts.tokenUsage, valueSubject(config.topics.tokens));
    this.alertCodec = new WireCodec(registry, contracts.alert, valueSubject(config.topics.alerts));
    this.store = new WindowStore({ sizeMs: config.windows.sizeMs, allowedLatenessMs: config.windows.telemetry.allowedLatenessMs }, emptyTokenAggregate);
    this.watermark = new WatermarkTracker(config.windows.telemetry.maxOutOfOrdernessMs, config.windows.idlePartitionMs);
    this.detector = new LatencyRegressionDetector(config.detectors.latencyRegression);
    const onInsert = (table: string, rows: number, seconds: number) => {
      metrics.clickhouseRows.inc({ table }, rows);
      metrics.clickhouseInsertSeconds.observe({ table }, seconds);
    };
    this.rollupWriter = new TableWriter(clickhouse, config.clickhouse.database, 'token_rollup_1m', tokenRollupRow, config.sink.maxBatchRows, onInsert);
    this.alertWriter = new TableWriter(clickhouse, config.clickhouse.database, 'alerts', alertRow, config.sink.maxBatchRows, onInsert);
    this.alertPublisher = new AlertPublisher(this.producer, config.topics.alerts, this.alertCodec);
    this.deadLetters = new DeadLetterPublisher(this.producer, config.topics.dlq);
  }

  /** Ready: consuming, and the sinks took the last flush. */
  get ready(): boolean {
    return this.running && !this.paused;
  }

  async start(): Promise<void> {
    const { config, logger } = this.deps;
    await this.alertCodec.schemaId();
    await this.producer.connect();
    await this.consumer.connect();
    await this.consumer.subscribe({ topics: [config.topics.tokens], fromBeginning: true });
    this.consumer.on(this.consumer.events.GROUP_JOIN, ({ payload }) => {
      const assigned = new Set(Object.entries(payload.memberAssignment).flatMap(([topic, partitions]) => partitions.map((p) => partitionId(topic, p))));
      const now = this.now();
      for (const id of this.assigned) if (!assigned.has(id)) this.watermark.release(id);
      for (const id of assigned) this.watermark.assign(id, now);
      this.assigned = assigned;
      logger.info({ partitions: [...assigned] }, 'partitions assigned');
    });
    this.running = true;
    await this.consumer.run({
      autoCommit: false,
      partitionsConsumedConcurrently: 1,
      eachBatch: (payload) => this.queue.run(() => this.processBatch(payload)),
    });
    this.timer = setInterval(() => {
      void this.queue.run(() => this.tick()).catch((error: Error) => logger.error({ err: error }, 'timed flush failed'));
    }, Math.min(config.sink.flushIntervalMs, 1000));
    logger.info({ topic: config.topics.tokens, group: config.kafka.groupId }, 'pipeline consuming');
  }

  /** Graceful stop: no new batches, a last flush and commit of what is complete, then disconnect. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    clearInterval(this.timer);
    await this.consumer.stop();
    await this.queue.run(() => this.flush(true)).catch((error: Error) => this.deps.logger.warn({ err: error }, 'last flush failed; the next start replays from the last commit'));
    await this.consumer.disconnect();
    await this.producer.disconnect();
  }

  private async processBatch({ batch, heartbeat }: EachBatchPayload): Promise<void> {
    const { metrics, config } = this.deps;
    const { topic, partition } = batch;
    const id = partitionId(topic, partition);
    const letters: DeadLetter[] = [];
    const now = this.now();
    let accepted = 0;
    for (const message of batch.messages) {
      const position = { partition: id, offset: Number(message.offset) };
      const refuse = (reason: string, detail: string) => {
        letters.push({ reason, detail, topic, partition, offset: message.offset, timestamp: message.timestamp, key: message.key, value: message.value, headers: message.headers });
        this.store.markProcessed(position);
      };
      const decoded = await this.tokenCodec.decode(message.value);
      if (!decoded.ok) {
        refuse(decoded.reason, decoded.detail);
        continue;
      }
      const event = decoded.value;
      const validation = validateTokenUsage(event, Number(message.timestamp), { ...defaultLimits, maxFutureSkewMs: config.windows.maxFutureSkewMs });
      if (!validation.ok) {
        refuse(validation.reason, validation.detail);
        continue;
      }
      const key = tokenKeyOf(event);
      const outcome = this.store.add(key, modelKeyId(key), event.event_time, position, (aggregate) => foldTokenUsage(aggregate, event));
      if (outcome === 'late') {
        refuse('late', `event_time ${new Date(event.event_time).toISOString()} is behind the watermark by more than the allowed lateness (${config.windows.telemetry.allowedLatenessMs} ms)`);
        continue;
      }
      this.watermark.observe(id, event.event_time, now);
      accepted += 1;
    }
    metrics.eventsIn.inc({ topic, outcome: 'accepted' }, accepted);
    if (letters.length > 0) {
      await this.deadLetters.publish(letters);
      metrics.eventsIn.inc({ topic, outcome: 'dead_letter' }, letters.length);
      for (const letter of letters) {
        metrics.deadLetters.inc({ reason: letter.reason, topic });
        this.emit('deadLetter', letter);
      }
    }
    const lag = Math.max(0, Number(batch.highWatermark) - Number(batch.lastOffset()) - 1);
    metrics.consumerLag.set({ topic, partition: String(partition) }, lag);
    this.watermark.setCaughtUp(id, lag === 0);
    this.advance();
    await this.maybeFlush();
    await heartbeat();
  }

  /** Moves the watermark, turns due windows into rollups, and runs the detectors on on-time ones. */
  private advance(): void {
    const { metrics } = this.deps;
    const now = this.now();
    const watermark = this.watermark.advance(now);
    const emissions = this.store.advance(watermark);
    metrics.windowState.set(this.store.size);
    if (Number.isFinite(watermark)) metrics.watermarkLag.set({ source: 'telemetry' }, Math.max(0, (now - watermark) / 1000));
    if (emissions.length === 0) return;
    const rollups = emissions.map(toTokenRollup);
    for (const rollup of rollups) {
      this.rollupWriter.add(rollup);
      if (!rollup.onTime) continue;
      const alert = this.detector.observe({
        key: rollup.keyId,
        dimensions: { model_name: rollup.key.modelName, model_version: rollup.key.modelVersion, region: rollup.key.region },
        windowStart: rollup.windowStart,
        windowEnd: rollup.windowEnd,
        requests: rollup.requests,
        latencyP95Ms: rollup.latencyP95Ms,
      });
      if (alert) {
        this.pendingAlerts.push(alert);
        this.alertWriter.add(alert);
      }
    }
    this.emit('rollups', rollups);
  }

  private async tick(): Promise<void> {
    if (!this.running) return;
    this.advance();
    await this.maybeFlush();
  }

  private async maybeFlush(): Promise<void> {
    const { config } = this.deps;
    const due = this.now() - this.lastFlushAt >= config.sink.flushIntervalMs || this.rollupWriter.pending >= config.sink.maxBatchRows;
    if (due) await this.flush(false);
  }

  /**
   * Rollups first, then alerts (topic and table), then offsets: an offset is committed only once
   * every rollup and alert derived from the records before it is durable. On failure consumption
   * pauses (memory stays bounded) and the next tick retries after a backoff.
   */
  private async flush(final: boolean): Promise<void> {
    const { metrics, logger, config } = this.deps;
    if (!final && this.paused && this.now() < this.lastFlushAt) return;
    const started = performance.now();
    try {
      const rollupRows = await this.rollupWriter.flush();
      if (this.pendingAlerts.length > 0) {
        await this.alertPublisher.publish(this.pendingAlerts);
        for (const alert of this.pendingAlerts) {
          metrics.alerts.inc({ rule: alert.rule, status: alert.status });
          this.emit('alert', alert);
        }
        this.pendingAlerts = [];
      }
      const alertRows = await this.alertWriter.flush();
      const committed = await this.commit();
      metrics.flushSeconds.observe((performance.now() - started) / 1000);
      this.lastFlushAt = this.now();
      if (rollupRows + alertRows > 0 || committed.size > 0) this.emit('flushed', { rollupRows, alertRows, committed });
      if (this.paused) {
        this.paused = false;
        this.failures = 0;
        this.consumer.resume([{ topic: config.topics.tokens }]);
        logger.info('sinks are back: consumption resumed');
        this.emit('resumed');
      }
    } catch (error) {
      metrics.sinkFailures.inc({ sink: 'flush' });
      const delay = backoffDelay(this.failures, 500, config.sink.retryMaxDelayMs);
      this.failures += 1;
      // lastFlushAt in the future holds retries off until the backoff has passed.
      this.lastFlushAt = this.now() + delay;
      if (!this.paused && !final) {
        this.paused = true;
        this.consumer.pause([{ topic: config.topics.tokens }]);
      }
      logger.warn({ err: error as Error, retryInMs: delay, attempt: this.failures }, 'flush failed: consumption paused, will retry');
      this.emit('sinkFailure', error as Error, delay);
      if (final) throw error;
    }
  }

  private async commit(): Promise<Map<string, number>> {
    const moved = new Map<string, number>();
    for (const [id, offset] of this.store.committableOffsets()) {
      if ((this.committed.get(id) ?? -1) < offset) moved.set(id, offset);
    }
    if (moved.size === 0) return moved;
    await this.consumer.commitOffsets(
      [...moved].map(([id, offset]) => {
        const cut = id.lastIndexOf(':');
        return { topic: id.slice(0, cut), partition: Number(id.slice(cut + 1)), offset: String(offset) };
      }),
    );
    for (const [id, offset] of moved) this.committed.set(id, offset);
    this.deps.metrics.commits.inc();
    return moved;
  }
}
