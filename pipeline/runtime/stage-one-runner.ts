import type { Batch, EachBatchPayload, Producer } from 'kafkajs';
import type { CostlineConfig } from '../config/schema.js';
import { contracts, valueSubject, WireCodec, type BillingCost, type PartialRollup, type SchemaSource } from '../../schemas/index.js';
import { StageOneTask, type UsageRow } from '../core/stage-one.js';
import { RateCard } from '../core/rate-card.js';
import { LearnedRatesReloader } from './learned-rates.js';
import { CardinalityGuard } from '../core/cardinality.js';
import { watermarkRecord } from '../core/partial-rollup.js';
import { BillingQueue } from '../core/billing-queue.js';
import { toBillingLine } from '../core/cost-attribution.js';
import type { SourcePosition } from '../core/window-store.js';
import { defaultLimits, type ValidationLimits } from '../sources/validate.js';
import { familySources, type FamilySource, type FoldContext } from '../sources/index.js';
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
  /** A worker thread among siblings: reads only once openGate() is called (see StageRunnerSettings.gated). */
  gated?: boolean;
}

/** A family topic this runner consumes: its source component and the codec of its contract. */
interface FamilyInput {
  source: FamilySource<unknown>;
  codec: WireCodec<unknown>;
}

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
  private readonly learnedRates: LearnedRatesReloader;
  /** By topic, from the source registry. */
  private readonly inputs: Map<string, FamilyInput>;
  private readonly partialCodec: WireCodec<PartialRollup>;
  private readonly deadLetters: DeadLetterPublisher;
  private readonly usageWriter: TableWriter<UsageRow>;
  private readonly attribution: BillingAttribution;
  private readonly limits: ValidationLimits;
  private outgoing: { key: string | null; value: PartialRollup; partition?: number }[] = [];
  private readonly lastMarker = new Map<number, { watermark: number; idle: boolean; at: number }>();
  private readonly reportedOverflow = new Map<string, number>();
  /** Partitions this runner has reported lag for: a partition that moves to another member (or worker) stops being reported here. */
  private readonly lagReported = new Set<string>();

  constructor(private readonly deps: StageOneDeps) {
    const { config } = deps;
    const t = config.topics;
    super(deps.consumer, { name: 'stage-1', topics: familySources.map((source) => source.topic(config)), flushIntervalMs: config.sink.flushIntervalMs, retryMaxDelayMs: config.sink.retryMaxDelayMs, maxPendingRows: config.sink.maxBatchRows, onFlushFailure: deps.onFlushFailure, startFrom: config.kafka.startFrom, gated: deps.gated }, deps.logger, deps.metrics, deps.now);
    this.inputs = new Map(
      familySources.map((source) => {
        const topic = source.topic(config);
        return [topic, { source, codec: new WireCodec(deps.registry, source.contract, valueSubject(topic)) }];
      }),
    );
    this.partialCodec = new WireCodec(deps.registry, contracts.partialRollup, valueSubject(t.partials));
    this.guard = new CardinalityGuard(config.cardinality.maxValuesPerDimension);
    this.rateCard = new RateCard(config.cost);
    this.learnedRates = new LearnedRatesReloader(this.rateCard, deps.clickhouse, config, deps.logger, deps.now);
    this.limits = { ...defaultLimits, maxFutureSkewMs: config.windows.maxFutureSkewMs };
    this.deadLetters = new DeadLetterPublisher(deps.producer, t.dlq);
    const onInsert = insertRecorder(deps.metrics);
    this.usageWriter = new TableWriter(deps.clickhouse, config.clickhouse.database, 'gpu_usage_1m', usageRow, config.sink.maxBatchRows, onInsert);
    this.attribution = new BillingAttribution(deps.clickhouse, config, onInsert);
  }

  /** Learned rates are loaded before the first sample is priced, then kept current. */
  override async start(): Promise<void> {
    await this.learnedRates.start();
    await super.start();
  }

  override async stop(): Promise<void> {
    this.learnedRates.stop();
    await super.stop();
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
    for (const id of this.lagReported) {
      if (partitions.has(id)) continue;
      const { topic, partition } = splitPartitionId(id);
      this.deps.metrics.consumerLag.remove({ topic, partition: String(partition) });
      this.lagReported.delete(id);
    }
    const now = this.now();
    for (const id of partitions) {
      const { topic, partition } = splitPartitionId(id);
      const task = this.task(partition);
      // Billing lines do not move the telemetry watermark.
      if (this.inputs.get(topic)?.source.movesWatermark) task.assign(id, now);
    }
  }

  protected async handleBatch({ batch, isStale }: EachBatchPayload): Promise<void> {
    // A batch fetched before a rebalance: its partition restarts from the committed offset.
    if (isStale()) return;
    const { topic, partition } = batch;
    const input = this.inputs.get(topic);
    if (!input) return;
    const id = partitionId(topic, partition);
    const task = this.task(partition);
    const letters: DeadLetter[] = [];
    const accepted = await this.ingestBatch(input, this.foldContext(task, id), batch, letters);
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
    this.lagReported.add(id);
    task.setCaughtUp(id, lag === 0);
  }

  /** One context per batch: its position and broker time move along the batch's records. */
  private foldContext(task: StageOneTask, partition: string): FoldContext {
    const queue = this.billing.get(task.task)!;
    const position: SourcePosition = { partition, offset: 0 };
    return {
      task,
      position,
      brokerTime: 0,
      now: this.now(),
      config: this.deps.config,
      limits: this.limits,
      awaitAllocation: (line: BillingCost) => {
        queue.add(toBillingLine(line), position);
        this.attribution.remember(line);
      },
      countPriceEvidence: (outcome) => this.deps.metrics.billingPriceEvidence.inc({ outcome }),
    };
  }

  /**
   * Decodes, validates and folds one partition's records; refusals become dead letters. The hot
   * path: synchronous once the writer schema of an id is cached (the registry is asked only for an
   * id not seen yet), and it creates no function per record (tsx keeps function names, which makes
   * every closure creation a defineProperty call).
   */
  private async ingestBatch({ source, codec }: FamilyInput, context: FoldContext, { topic, partition, messages }: Batch, letters: DeadLetter[]): Promise<number> {
    let accepted = 0;
    const { position, task } = context;
    for (const message of messages) {
      position.offset = Number(message.offset);
      context.brokerTime = Number(message.timestamp);
      const decoded = codec.decodeKnown(message.value) ?? (await codec.decode(message.value));
      const refusal = decoded.ok ? source.fold(decoded.value, context) : decoded;
      if (refusal === undefined) {
        accepted += 1;
        continue;
      }
      task.skip(position);
      letters.push({ reason: refusal.reason, detail: refusal.detail, topic, partition, offset: message.offset, timestamp: message.timestamp, key: message.key, value: message.value, headers: message.headers });
    }
    return accepted;
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
      const messages = await Promise.all(batch.map(async (m) => ({ key: m.key, value: await this.partialCodec.encode(m.value), partition: m.partition })));
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
