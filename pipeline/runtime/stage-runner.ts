import type { Consumer, EachBatchPayload } from 'kafkajs';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import { SerialQueue } from './serial.js';
import { backoffDelay } from './backoff.js';

export interface StageRunnerSettings {
  name: string;
  topics: string[];
  flushIntervalMs: number;
  retryMaxDelayMs: number;
  /** Outputs buffered beyond this flush at once, whatever the interval. */
  maxPendingRows: number;
  /** Where the group starts when it has no committed offset. */
  startFrom: 'earliest' | 'latest';
  /** Told of every failed flush (consumption is paused until a retry succeeds). */
  onFlushFailure?: (error: Error, retryInMs: number) => void;
  /**
   * Hold fetched batches, heartbeating, until openGate(): a member that starts with siblings
   * (stage-1 worker threads) reads nothing until they have all joined, so no rebalance takes away
   * partitions it has already read (and it does not read them twice).
   */
  gated?: boolean;
}

/** How often a gated batch heartbeats while it waits (a rebalance surfaces as the heartbeat's error). */
const GATE_POLL_MS = 50;

export const partitionId = (topic: string, partition: number) => `${topic}:${partition}`;

export function splitPartitionId(id: string): { topic: string; partition: number } {
  const cut = id.lastIndexOf(':');
  return { topic: id.slice(0, cut), partition: Number(id.slice(cut + 1)) };
}

/**
 * What stage 1 and stage 2 share: batches and timed flushes run one at a time; outputs are made
 * durable before offsets are committed; a failed flush pauses consumption (memory stays bounded)
 * and retries with backoff; a rebalance hands the new assignment to the stage.
 */
export abstract class StageRunner {
  private readonly queue = new SerialQueue();
  private readonly committed = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  private lastFlushAt = 0;
  private failures = 0;
  private gateOpen: boolean;
  protected paused = false;
  protected running = false;

  constructor(
    protected readonly consumer: Consumer,
    protected readonly settings: StageRunnerSettings,
    protected readonly logger: Logger,
    protected readonly metrics: Metrics,
    protected readonly now: () => number,
  ) {
    this.gateOpen = !settings.gated;
  }

  /** Lets a gated runner read (see StageRunnerSettings.gated). */
  openGate(): void {
    this.gateOpen = true;
  }

  /** Folds one fetched batch into the stage's state. */
  protected abstract handleBatch(payload: EachBatchPayload): Promise<void>;
  /** Moves watermarks and collects what is due into output buffers. */
  protected abstract advance(): void;
  /** Rows and records buffered for output. */
  protected abstract pendingOutputs(): number;
  /** Makes the buffered outputs durable (ClickHouse, Kafka); throws on failure, keeping them. */
  protected abstract flushOutputs(): Promise<void>;
  /** Per partition: how far the durable outputs allow committing. */
  protected abstract committableOffsets(): Map<string, number>;
  /** The partitions this instance now owns (after a rebalance); others' state must go. */
  protected abstract onAssignment(partitions: Set<string>): void;

  get ready(): boolean {
    return this.running && !this.paused;
  }

  async start(): Promise<void> {
    await this.consumer.connect();
    await this.consumer.subscribe({ topics: this.settings.topics, fromBeginning: this.settings.startFrom === 'earliest' });
    let joined: () => void = () => undefined;
    const firstJoin = new Promise<void>((resolve) => {
      joined = resolve;
    });
    this.consumer.on(this.consumer.events.GROUP_JOIN, ({ payload }) => {
      joined();
      const assigned = new Set(Object.entries(payload.memberAssignment).flatMap(([topic, partitions]) => partitions.map((p) => partitionId(topic, p))));
      void this.queue.run(async () => {
        this.onAssignment(assigned);
        // Committed offsets of partitions kept over the rebalance stay valid; the rest are forgotten.
        for (const id of this.committed.keys()) if (!assigned.has(id)) this.committed.delete(id);
      });
      this.logger.info({ stage: this.settings.name, partitions: [...assigned] }, 'partitions assigned');
    });
    this.running = true;
    await this.consumer.run({
      autoCommit: false,
      partitionsConsumedConcurrently: 1,
      eachBatch: async (payload) => {
        // Held, not returned: a returned batch counts as read. A rebalance throws from heartbeat, and KafkaJS rejoins.
        while (!this.gateOpen && this.running) {
          await payload.heartbeat();
          await new Promise((resolve) => setTimeout(resolve, GATE_POLL_MS));
        }
        await this.queue.run(async () => {
          if (!this.running) return;
          await this.handleBatch(payload);
          this.advance();
          await this.maybeFlush();
          await payload.heartbeat();
        });
      },
    });
    // Started means in the group with partitions assigned: a later stage's output will not be missed.
    await Promise.race([firstJoin, new Promise((resolve) => setTimeout(resolve, 60_000))]);
    this.timer = setInterval(() => {
      void this.queue
        .run(async () => {
          if (!this.running) return;
          this.advance();
          await this.maybeFlush();
        })
        .catch((error: Error) => this.logger.error({ err: error, stage: this.settings.name }, 'timed flush failed'));
    }, Math.max(100, Math.min(this.settings.flushIntervalMs, 1000)));
  }

  /** Graceful stop: no new batches; what is complete is flushed and committed; incomplete windows replay on the next start. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    clearInterval(this.timer);
    await this.consumer.stop();
    await this.queue.run(() => this.flush(true)).catch((error: Error) => this.logger.warn({ err: error, stage: this.settings.name }, 'last flush failed; the next start replays from the last commit'));
    await this.consumer.disconnect();
  }

  private async maybeFlush(): Promise<void> {
    const now = this.now();
    if (now < this.lastFlushAt) return; // backing off after a failure
    if (now - this.lastFlushAt >= this.settings.flushIntervalMs || this.pendingOutputs() >= this.settings.maxPendingRows) await this.flush(false);
  }

  private async flush(final: boolean): Promise<void> {
    const started = performance.now();
    try {
      await this.flushOutputs();
      await this.commit();
      this.metrics.flushSeconds.observe((performance.now() - started) / 1000);
      this.lastFlushAt = this.now();
      if (this.paused) {
        this.paused = false;
        this.failures = 0;
        this.consumer.resume(this.settings.topics.map((topic) => ({ topic })));
        this.logger.info({ stage: this.settings.name }, 'outputs are durable again: consumption resumed');
      }
    } catch (error) {
      this.metrics.sinkFailures.inc({ sink: this.settings.name });
      const delay = backoffDelay(this.failures, 500, this.settings.retryMaxDelayMs);
      this.failures += 1;
      this.lastFlushAt = this.now() + delay;
      if (!this.paused && !final) {
        this.paused = true;
        this.consumer.pause(this.settings.topics.map((topic) => ({ topic })));
      }
      this.logger.warn({ err: error as Error, stage: this.settings.name, retryInMs: delay, attempt: this.failures }, 'flush failed: consumption paused, will retry');
      this.settings.onFlushFailure?.(error as Error, delay);
      if (final) throw error;
    }
  }

  private async commit(): Promise<void> {
    const moved: { topic: string; partition: number; offset: string }[] = [];
    for (const [id, offset] of this.committableOffsets()) {
      if ((this.committed.get(id) ?? -1) >= offset) continue;
      moved.push({ ...splitPartitionId(id), offset: String(offset) });
    }
    if (moved.length === 0) return;
    await this.consumer.commitOffsets(moved);
    for (const m of moved) this.committed.set(partitionId(m.topic, m.partition), Number(m.offset));
    this.metrics.commits.inc();
  }
}
