import { Worker } from 'node:worker_threads';
import { availableParallelism } from 'node:os';
import type { IHeaders } from 'kafkajs';
import type { Level } from 'pino';
import type { CostlineConfig } from '../config/schema.js';
import type { Logger } from '../observability/logger.js';
import type { MetricsSnapshot } from '../observability/metrics.js';
import type { DeadLetter } from '../../sinks/kafka/index.js';

/** What a stage-1 worker thread starts from; passed by structured clone, so plain data only. */
export interface StageOneWorkerData {
  config: CostlineConfig;
  /** 0-based, in log lines (`worker`) and the KafkaJS client id. */
  index: number;
  internalPartitions: number;
  /** The main thread's log level: a worker formats only the lines the main thread will print. */
  logLevel: string;
}

/** `metrics` with a name asks for that metric only. */
export type ToStageOneWorker = { type: 'stop' } | { type: 'read' } | { type: 'metrics'; id: number; name?: string };

export type FromStageOneWorker =
  | { type: 'log'; line: string }
  | { type: 'started' }
  | { type: 'status'; ready: boolean; stateSize: number }
  | { type: 'deadLetter'; letter: DeadLetter }
  | { type: 'sinkFailure'; error: Error; retryInMs: number }
  | { type: 'metrics'; id: number; metrics: MetricsSnapshot }
  | { type: 'stopped'; metrics: MetricsSnapshot };

/**
 * How many worker threads run stage 1. 'auto': one per available core, at most one per input
 * partition (a consumer beyond that gets no partition), and 0 (stage 1 on the main thread) when
 * that leaves one: a single worker on a single core only adds hand-offs.
 */
export function stageOneWorkerCount(setting: number | 'auto', inputPartitions: number, cores = availableParallelism()): number {
  if (setting !== 'auto') return Math.min(setting, inputPartitions);
  const workers = Math.min(cores, inputPartitions);
  return workers > 1 ? workers : 0;
}

export interface StageOneWorkersDeps {
  config: CostlineConfig;
  logger: Logger;
  workers: number;
  internalPartitions: number;
  onDeadLetter: (letter: DeadLetter) => void;
  onFlushFailure: (error: Error, retryInMs: number) => void;
  /** A worker died (an uncaught error, or an exit nobody asked for): the pipeline cannot go on without its partitions. */
  onFailure: (error: Error) => void;
}

/** Structured clone turns Buffers into plain Uint8Arrays; dead-letter consumers expect Buffers. */
const asBuffer = (bytes: Uint8Array | null): Buffer | null => (bytes === null ? null : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));

function reviveDeadLetter(letter: DeadLetter): DeadLetter {
  const revive = (v: string | Uint8Array) => (typeof v === 'string' ? v : asBuffer(v)!);
  const headers: IHeaders | undefined = letter.headers && Object.fromEntries(Object.entries(letter.headers).map(([k, v]) => [k, v === undefined ? v : Array.isArray(v) ? v.map(revive) : revive(v)]));
  return { ...letter, key: asBuffer(letter.key), value: asBuffer(letter.value), headers };
}

/** One stage-1 worker thread as the main thread sees it. */
class StageOneThread {
  readonly worker: Worker;
  ready = false;
  stateSize = 0;
  /** The thread's metrics when it stopped: counters of a finished run stay in /metrics. */
  finalMetrics: MetricsSnapshot = [];
  exited = false;
  stopping = false;
  readonly started: Promise<void>;
  readonly exit: Promise<void>;
  private readonly replies = new Map<number, { resolve: (metrics: MetricsSnapshot) => void; name: string | undefined }>();
  private nextRequest = 0;

  constructor(
    readonly index: number,
    data: StageOneWorkerData,
    private readonly deps: StageOneWorkersDeps,
    private readonly logger: Logger,
  ) {
    // The .mjs bootstrap registers tsx in the thread: Node 20 does not give workers the main thread's module hooks.
    this.worker = new Worker(new URL('./stage-one-worker.mjs', import.meta.url), { workerData: data });
    let started: () => void = () => undefined;
    let failed: (error: Error) => void = () => undefined;
    this.started = new Promise<void>((resolve, reject) => {
      started = resolve;
      failed = reject;
    });
    // Rejections are observed by start(); one after start is reported through onFailure instead.
    this.started.catch(() => undefined);
    let crash: Error | undefined;
    let running = false;
    this.worker.on('message', (message: FromStageOneWorker) => {
      if (message.type !== 'started') return this.receive(message);
      running = true;
      started();
    });
    this.worker.on('error', (error) => {
      crash = error;
    });
    this.exit = new Promise((resolve) => {
      this.worker.once('exit', (code) => {
        this.exited = true;
        this.ready = false;
        for (const [, { resolve, name }] of this.replies) resolve(this.finalMetricsOf(name));
        this.replies.clear();
        const error = new Error(`stage-1 worker ${index} ${crash ? `failed: ${crash.message}` : `exited with code ${code}`}; its input partitions are no longer consumed`, { cause: crash });
        // Before it started, start() reports the failure; after, the pipeline hears of it.
        if (!running) failed(error);
        else if (!this.stopping) deps.onFailure(error);
        resolve();
      });
    });
  }

  /** The thread's current metrics, or only the one named (its last ones once it has exited). */
  metrics(name?: string): Promise<MetricsSnapshot> {
    if (this.exited) return Promise.resolve(this.finalMetricsOf(name));
    const id = this.nextRequest++;
    return new Promise((resolve) => {
      this.replies.set(id, { resolve, name });
      this.post({ type: 'metrics', id, name });
    });
  }

  private finalMetricsOf(name: string | undefined): MetricsSnapshot {
    return name === undefined ? this.finalMetrics : this.finalMetrics.filter((m) => m.name === name);
  }

  /** Lets the worker read: every sibling has joined the group. */
  read(): void {
    this.post({ type: 'read' });
  }

  /** Graceful: the worker flushes and commits what is complete, then the thread ends. */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.exited) return;
    this.post({ type: 'stop' });
    await this.exit;
  }

  private post(message: ToStageOneWorker): void {
    this.worker.postMessage(message);
  }

  private receive(message: Exclude<FromStageOneWorker, { type: 'started' }>): void {
    switch (message.type) {
      case 'log':
        this.relog(message.line);
        break;
      case 'status':
        this.ready = message.ready;
        this.stateSize = message.stateSize;
        break;
      case 'deadLetter':
        this.deps.onDeadLetter(reviveDeadLetter(message.letter));
        break;
      case 'sinkFailure':
        this.ready = false;
        this.deps.onFlushFailure(message.error, message.retryInMs);
        break;
      case 'metrics':
        this.replies.get(message.id)?.resolve(message.metrics);
        this.replies.delete(message.id);
        break;
      case 'stopped':
        this.finalMetrics = message.metrics;
        void this.worker.terminate();
        break;
    }
  }

  /** A worker's log line, printed by the main thread's logger (its format, destination and redaction) with a `worker` field. */
  private relog(line: string): void {
    const { level, msg, time: _time, ...fields } = JSON.parse(line) as { level: number; msg?: string; time?: number };
    const label = (this.logger.levels.labels[level] ?? 'info') as Level;
    this.logger[label](fields, msg);
  }
}

/**
 * Stage 1 on worker threads: each runs a full StageOneRunner (its own consumer in the group,
 * idempotent producer, ClickHouse and registry clients) over the input partitions the
 * co-partitioning assignor gives it, exactly as separate pipeline processes would. Their dead
 * letters, flush failures, readiness, state size, logs and metrics come back to the main thread.
 */
export class StageOneWorkers {
  private readonly threads: StageOneThread[];

  constructor(private readonly deps: StageOneWorkersDeps) {
    const { config, logger, internalPartitions } = deps;
    this.threads = Array.from({ length: deps.workers }, (_, index) => new StageOneThread(index, { config, index, internalPartitions, logLevel: logger.level }, deps, logger.child({ worker: index })));
  }

  get size(): number {
    return this.threads.length;
  }

  get ready(): boolean {
    return this.threads.every((t) => t.ready);
  }

  get stateSize(): number {
    return this.threads.reduce((sum, t) => sum + t.stateSize, 0);
  }

  /**
   * Resolves when every worker has joined the group, and only then lets them read: a worker that
   * read while its siblings were still joining would lose those partitions to the rebalance their
   * joins cause and read them again. If one fails to start, all are ended and the error thrown.
   */
  async start(): Promise<void> {
    try {
      await Promise.all(this.threads.map((t) => t.started));
    } catch (error) {
      for (const t of this.threads) t.stopping = true;
      await Promise.all(this.threads.map((t) => t.worker.terminate()));
      throw error;
    }
    for (const t of this.threads) t.read();
  }

  async stop(): Promise<void> {
    await Promise.all(this.threads.map((t) => t.stop()));
  }

  /** Every thread's metrics, or only the one named. */
  metrics(name?: string): Promise<MetricsSnapshot[]> {
    return Promise.all(this.threads.map((t) => t.metrics(name)));
  }
}
