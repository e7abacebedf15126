import type { EachBatchPayload, KafkaMessage, Producer } from 'kafkajs';
import type { CostlineConfig } from '../config/schema.js';
import { contracts, valueSubject, WireCodec, type BillingCost, type GpuSample, type PartialRollup, type QueueSample, type SchemaSource, type TokenUsage } from '../../schemas/index.js';
import { StageOneTask, type UsageRow } from '../core/stage-one.js';
import { RateCard } from '../core/rate-card.js';
import { CardinalityGuard } from '../core/cardinality.js';
import { watermarkRecord } from '../core/partial-rollup.js';
import { BillingQueue } from '../core/billing-queue.js';
import { toBillingLine } from '../core/cost-attribution.js';
import type { AddOutcome, SourcePosition } from '../core/window-store.js';
import { defaultLimits, validateBillingLine, validateGpuSample, validateQueueSample, validateTokenUsage, type ValidationLimits } from '../sources/validate.js';
import { DeadLetterPublisher, sendInChunks, type DeadLetter } from '../../sinks/kafka/index.js';
import { TableWriter, usageRow, type ClickHouseClient } from '../../sinks/clickhouse/index.js';
import { BillingAttribution } from './billing-attribution.js';
import { partitionId, StageRunner, splitPartitionId } from './stage-runner.js';
import type { Logger } from '../observability/logger.js';
import { insertRecorder, type Metrics } from '../observability/metrics.js';
import type { Consumer } from 'kafkajs';

/**
 * The internal topic's message key: what must meet on one stage-2 instance. Detectors compare a
 * model's versions and regions with each other (canary, regional latency) and a team's spend with
 * its budget, so partials go by model name, team and provider, not by their full key.
 */
function partitionKeyOf(partial: PartialRollup): string {
  return `${partial.rollup_kind}|${partial.dimension_values[0] ?? ''}`;
}

/** How often an idle task still tells stage 2 where its watermark is. */
const MARKER_HEARTBEAT_MS = 2_000;

export interface StageOneDeps {
  config: CostlineConfig;
  consumer: Consumer;
  producer: Producer;
  clickhouse: ClickHouseClient;
  registry: SchemaSource;
  logger: Logger;
  metrics: Metrics;
  now: () => number;
  internalPartitions: number;
  onDeadLetter?: (letter: DeadLetter) => void;
  onFlushFailure?: (error: Error, retryInMs: number) => void;
}

type Source = 'tokens' | 'gpu' | 'queue' | 'billing';

/**
 * Stage 1: consumes the input topics with the co-partitioning assignor, one StageOneTask per
 * input partition number, and emits partial rollups and watermark markers to the internal topic,
 * usage rows to ClickHouse, and allocations of the billing lines whose usage is final.
 */
export class StageOneRunner extends StageRunner {
  private readonly tasks = new Map<number, StageOneTask>();
  private readonly billing = new Map<number, BillingQueue>();
  private readonly guard: CardinalityGuard;
  private readonly rateCard: RateCard;
  private readonly sources: Map<string, Source>;
  private readonly codecs: { tokens: WireCodec<TokenUsage>; gpu: WireCodec<GpuSample>; queue: WireCodec<QueueSample>; billing: WireCodec<BillingCost>; partial: WireCodec<PartialRollup> };
  private readonly deadLetters: DeadLetterPublisher;
  private readonly usageWriter: TableWriter<UsageRow>;
  private readonly attribution: BillingAttribution;
  private readonly limits: ValidationLimits;
  private outgoing: { key: string | null; value: PartialRollup; partition?: number }[] = [];
  private readonly lastMarker = new Map<number, { watermark: number; idle: boolean; at: number }>();
  private readonly reportedOverflow = new Map<string, number>();

  constructor(private readonly deps: StageOneDeps) {
    const { config } = deps;
    const t = config.topics;
    super(deps.consumer, { name: 'stage-1', topics: [t.tokens, t.gpu, t.queue, t.billing], flushIntervalMs: config.sink.flushIntervalMs, retryMaxDelayMs: config.sink.retryMaxDelayMs, maxPendingRows: config.sink.maxBatchRows, onFlushFailure: deps.onFlushFailure, startFrom: config.kafka.startFrom }, deps.logger, deps.metrics, deps.now);
    this.sources = new Map<string, Source>([
      [t.tokens, 'tokens'],
      [t.gpu, 'gpu'],
      [t.queue, 'queue'],
      [t.billing, 'billing'],
    ]);
    this.codecs = {
      tokens: new WireCodec(deps.registry, contracts.tokenUsage, valueSubject(t.tokens)),
      gpu: new WireCodec(deps.registry, contracts.gpuSample, valueSubject(t.gpu)),
      queue: new WireCodec(deps.registry, contracts.queueSample, valueSubject(t.queue)),
      billing: new WireCodec(deps.registry, contracts.billingCost, valueSubject(t.billing)),
      partial: new WireCodec(deps.registry, contracts.partialRollup, valueSubject(t.partials)),
    };
    this.guard = new CardinalityGuard(config.cardinality.maxValuesPerDimension);
    this.rateCard = new RateCard(config.cost);
    this.limits = { ...defaultLimits, maxFutureSkewMs: config.windows.maxFutureSkewMs };
    this.deadLetters = new DeadLetterPublisher(deps.producer, t.dlq);
    const onInsert = insertRecorder(deps.metrics);
    this.usageWriter = new TableWriter(deps.clickhouse, config.clickhouse.database, 'gpu_usage_1m', usageRow, config.sink.maxBatchRows, onInsert);
    this.attribution = new BillingAttribution(deps.clickhouse, config, onInsert);
  }

  /** Windows held in memory across this instance's tasks. */
  get stateSize(): number {
    let size = 0;
    for (const task of this.tasks.values()) size += task.size;
    return size;
  }

  private task(number: number): StageOneTask {
    let task = this.tasks.get(number);
    if (!task) {
      const { windows } = this.deps.config;
      task = new StageOneTask(number, { windowSizeMs: windows.sizeMs, allowedLatenessMs: windows.telemetry.allowedLatenessMs, maxOutOfOrdernessMs: windows.telemetry.maxOutOfOrdernessMs, idlePartitionMs: windows.idlePartitionMs }, this.rateCard, this.guard);
      this.tasks.set(number, task);
      this.billing.set(number, new BillingQueue(windows.telemetry.allowedLatenessMs + windows.telemetry.maxOutOfOrdernessMs));
    }
    return task;
  }

  /**
   * After a rebalance the consumer restarts every assigned partition from its committed offset,
   * so all task state is rebuilt from there: what was in memory (and not yet durable) is dropped
   * rather than counted twice.
   */
  protected onAssignment(partitions: Set<string>): void {
    this.tasks.clear();
    this.billing.clear();
    this.lastMarker.clear();
    this.outgoing = [];
    this.usageWriter.discard();
    this.attribution.discard();
    const now = this.now();
    for (const id of partitions) {
      const { topic, partition } = splitPartitionId(id);
      const task = this.task(partition);
      // Billing lines do not move the telemetry watermark.
      if (this.sources.get(topic) !== 'billing') task.assign(id, now);
    }
  }

  protected async handleBatch({ batch, isStale }: EachBatchPayload): Promise<void> {
    // A batch fetched before a rebalance: its partition restarts from the committed offset.
    if (isStale()) return;
    const { topic, partition } = batch;
    const source = this.sources.get(topic);
    if (!source) return;
    const id = partitionId(topic, partition);
    const task = this.task(partition);
    const now = this.now();
    const letters: DeadLetter[] = [];
    let accepted = 0;
    for (const message of batch.messages) {
      const position = { partition: id, offset: Number(message.offset) };
      const refusal = await this.ingest(source, task, message, position, now);
      if (refusal === undefined) {
        accepted += 1;
        continue;
      }
      task.skip(position);
      letters.push({ ...refusal, topic, partition, offset: message.offset, timestamp: message.timestamp, key: message.key, value: message.value, headers: message.headers });
    }
    this.deps.metrics.eventsIn.inc({ topic, outcome: 'accepted' }, accepted);
    if (letters.length > 0) {
      // Acknowledged before the batch counts as processed: a dead letter is never lost.
      await this.deadLetters.publish(letters);
      this.deps.metrics.eventsIn.inc({ topic, outcome: 'dead_letter' }, letters.length);
      for (const letter of letters) {
        this.deps.metrics.deadLetters.inc({ reason: letter.reason, topic });
        this.deps.onDeadLetter?.(letter);
      }
    }
    const lag = Math.max(0, Number(batch.highWatermark) - Number(batch.lastOffset()) - 1);
    this.deps.metrics.consumerLag.set({ topic, partition: String(partition) }, lag);
    task.setCaughtUp(id, lag === 0);
  }

  /** Decodes, validates and folds one record; returns the dead-letter reason when it is refused. */
  private async ingest(source: Source, task: StageOneTask, message: KafkaMessage, position: SourcePosition, now: number): Promise<{ reason: string; detail: string } | undefined> {
    const brokerTime = Number(message.timestamp);
    const late = (eventTime: number, lateness: number) => ({ reason: 'late', detail: `event time ${new Date(eventTime).toISOString()} is behind the watermark by more than the allowed lateness (${lateness} ms)` });
    const fold = (outcome: AddOutcome, eventTime: number) => (outcome === 'late' ? late(eventTime, this.deps.config.windows.telemetry.allowedLatenessMs) : undefined);
    switch (source) {
      case 'tokens': {
        const decoded = this.codecs.tokens.decodeKnown(message.value) ?? (await this.codecs.tokens.decode(message.value));
        if (!decoded.ok) return decoded;
        const valid = validateTokenUsage(decoded.value, brokerTime, this.limits);
        if (!valid.ok) return valid;
        return fold(task.addTokenUsage(decoded.value, position, now), decoded.value.event_time);
      }
      case 'gpu': {
        const decoded = this.codecs.gpu.decodeKnown(message.value) ?? (await this.codecs.gpu.decode(message.value));
        if (!decoded.ok) return decoded;
        const valid = validateGpuSample(decoded.value, brokerTime, this.limits);
        if (!valid.ok) return valid;
        return fold(task.addGpuSample(decoded.value, position, now), decoded.value.event_time);
      }
      case 'queue': {
        const decoded = this.codecs.queue.decodeKnown(message.value) ?? (await this.codecs.queue.decode(message.value));
        if (!decoded.ok) return decoded;
        const valid = validateQueueSample(decoded.value, brokerTime, this.limits);
        if (!valid.ok) return valid;
        return fold(task.addQueueSample(decoded.value, position, now), decoded.value.event_time);
      }
      case 'billing': {
        const decoded = await this.codecs.billing.decode(message.value);
        if (!decoded.ok) return decoded;
        const valid = validateBillingLine(decoded.value, brokerTime, this.limits);
        if (!valid.ok) return valid;
        const lateness = this.deps.config.windows.billingAllowedLatenessMs;
        if (decoded.value.ChargePeriodEnd + lateness < task.currentWatermark) return late(decoded.value.ChargePeriodEnd, lateness);
        // Processed now, committable only once allocated: the billing queue holds the offset back.
        task.skip(position);
        this.billing.get(task.task)!.add(toBillingLine(decoded.value), position);
        this.attribution.remember(decoded.value);
        return undefined;
      }
    }
  }

  protected advance(): void {
    const now = this.now();
    for (const task of this.tasks.values()) {
      const out = task.advance(now);
      for (const partial of out.partials) this.outgoing.push({ key: partitionKeyOf(partial), value: partial });
      for (const usage of out.usage) this.usageWriter.add(usage);
      const idle = task.isIdle(now);
      const last = this.lastMarker.get(task.task);
      if (!last || last.watermark !== out.watermark || last.idle !== idle || now - last.at >= MARKER_HEARTBEAT_MS) {
        // Every internal partition hears every task's watermark: stage 2 closes a window only when all tasks passed it.
        for (let p = 0; p < this.deps.internalPartitions; p++) this.outgoing.push({ key: null, value: watermarkRecord(task.task, out.watermark, idle), partition: p });
        this.lastMarker.set(task.task, { watermark: out.watermark, idle, at: now });
      }
    }
    this.deps.metrics.windowState.set(this.stateSize);
    for (const [dimension, count] of this.guard.overflowCounts()) {
      if (!this.reportedOverflow.has(dimension)) this.logger.warn({ dimension, limit: this.deps.config.cardinality.maxValuesPerDimension }, 'cardinality limit reached: new values of this dimension fold into __overflow__');
      this.deps.metrics.cardinalityOverflow.inc({ dimension }, count - (this.reportedOverflow.get(dimension) ?? 0));
      this.reportedOverflow.set(dimension, count);
    }
  }

  protected pendingOutputs(): number {
    return this.outgoing.length + this.usageWriter.pending;
  }

  /** Partials and markers to the internal topic, usage to ClickHouse, then the billing lines whose usage is now final. */
  protected async flushOutputs(): Promise<void> {
    if (this.outgoing.length > 0) {
      const batch = this.outgoing;
      const messages = await Promise.all(batch.map(async (m) => ({ key: m.key, value: await this.codecs.partial.encode(m.value), partition: m.partition })));
      await sendInChunks(this.deps.producer, this.deps.config.topics.partials, messages);
      this.outgoing = this.outgoing.slice(batch.length);
    }
    await this.usageWriter.flush();
    for (const [number, queue] of this.billing) {
      const task = this.tasks.get(number);
      if (!task) continue;
      // An idle task (caught up, no telemetry for the idle timeout) will see no more usage: its lines are due now.
      const due = queue.takeDue(task.isIdle(this.now()) ? Number.POSITIVE_INFINITY : task.currentWatermark);
      if (due.length === 0) continue;
      try {
        await this.attribution.allocate(due.map((d) => d.line));
      } catch (error) {
        queue.restore(due);
        throw error;
      }
    }
  }

  protected committableOffsets(): Map<string, number> {
    const result = new Map<string, number>();
    const lower = (offsets: Map<string, number>) => {
      for (const [partition, offset] of offsets) if (offset < (result.get(partition) ?? Number.POSITIVE_INFINITY)) result.set(partition, offset);
    };
    for (const task of this.tasks.values()) lower(task.committableOffsets());
    for (const queue of this.billing.values()) lower(queue.firstOffsets());
    return result;
  }
}
