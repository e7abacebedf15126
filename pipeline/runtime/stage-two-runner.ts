import type { Consumer, EachBatchPayload, Producer } from 'kafkajs';
import type { CostlineConfig } from '../config/schema.js';
import { contracts, valueSubject, WireCodec, type Alert, type PartialRollup, type PlaybookAction, type SchemaSource } from '../../schemas/index.js';
import { StageTwoMerger, type MergedRollup } from '../core/stage-two.js';
import type { RollupKind } from '../core/rollup-key.js';
import { DetectorSet, PlaybookEngine, parsePlaybook } from '../../detectors/index.js';
import { detectorInputs } from './detector-inputs.js';
import { warmStartHistory } from './warm-start.js';
import { readPlaybookFile } from './playbook-file.js';
import { ActionPublisher, AlertPublisher, DeadLetterPublisher, type DeadLetter } from '../../sinks/kafka/index.js';
import { actionRow, alertRow, modelRollupRow, ownerSpendRow, providerSpendRow, TableWriter, type ClickHouseClient } from '../../sinks/clickhouse/index.js';
import type { Logger } from '../observability/logger.js';
import { insertRecorder, type Metrics } from '../observability/metrics.js';
import { partitionId, StageRunner } from './stage-runner.js';
import { TopicOutput, type OutputSink } from './output-sink.js';

export interface StageTwoDeps {
  config: CostlineConfig;
  consumer: Consumer;
  producer: Producer;
  clickhouse: ClickHouseClient;
  registry: SchemaSource;
  logger: Logger;
  metrics: Metrics;
  now: () => number;
  expectedTasks: number;
  onRollups?: (minutes: MergedRollup[]) => void;
  onAlert?: (alert: Alert) => void;
  onAction?: (action: PlaybookAction) => void;
  onDeadLetter?: (letter: DeadLetter) => void;
  onFlushFailure?: (error: Error, retryInMs: number) => void;
}

const ROW_OF: Record<RollupKind, (r: MergedRollup) => Record<string, unknown>> = {
  model: modelRollupRow,
  owner: ownerSpendRow,
  provider_region: providerSpendRow,
};

const TABLE_OF: Record<RollupKind, string> = { model: 'model_rollup', owner: 'owner_spend', provider_region: 'provider_spend' };

/**
 * Stage 2: consumes the internal topic (keyed by rollup key, so a key's state and detectors live
 * on one instance), merges the partials of all tasks into minute and hourly rollups, writes them
 * to ClickHouse, runs the detectors on closed minutes and publishes their alerts and the
 * playbook's actions.
 */
export class StageTwoRunner extends StageRunner {
  private readonly mergers = new Map<string, StageTwoMerger>();
  private readonly codec: WireCodec<PartialRollup>;
  private readonly writers = new Map<string, TableWriter<MergedRollup>>();
  private readonly alertWriter: TableWriter<Alert>;
  private readonly alertTopic: TopicOutput<Alert>;
  private readonly deadLetters: DeadLetterPublisher;
  private readonly detectors: DetectorSet;
  private readonly playbook: PlaybookEngine | undefined;
  private readonly actionWriter: TableWriter<PlaybookAction>;
  private readonly actionTopic: TopicOutput<PlaybookAction>;
  /**
   * Outputs in flush order: rollups first, then alerts (topic, then table), then actions (topic,
   * then table), so an alert never points at a rollup that is not there and an action never at an
   * alert. A failed flush stops at the failing output; the next retries from there.
   */
  private readonly outputs: OutputSink[];

  constructor(private readonly deps: StageTwoDeps) {
    const { config } = deps;
    super(deps.consumer, { name: 'stage-2', topics: [config.topics.partials], flushIntervalMs: config.sink.flushIntervalMs, retryMaxDelayMs: config.sink.retryMaxDelayMs, maxPendingRows: config.sink.maxBatchRows, onFlushFailure: deps.onFlushFailure, startFrom: config.kafka.startFrom }, deps.logger, deps.metrics, deps.now);
    this.codec = new WireCodec(deps.registry, contracts.partialRollup, valueSubject(config.topics.partials));
    const onInsert = insertRecorder(deps.metrics);
    for (const kind of Object.keys(TABLE_OF) as RollupKind[]) {
      for (const grain of ['1m', '1h']) {
        this.writers.set(`${kind}/${grain}`, new TableWriter(deps.clickhouse, config.clickhouse.database, `${TABLE_OF[kind]}_${grain}`, ROW_OF[kind], config.sink.maxBatchRows, onInsert));
      }
    }
    this.alertWriter = new TableWriter(deps.clickhouse, config.clickhouse.database, 'alerts', alertRow, config.sink.maxBatchRows, onInsert);
    const alertPublisher = new AlertPublisher(deps.producer, config.topics.alerts, new WireCodec(deps.registry, contracts.alert, valueSubject(config.topics.alerts)));
    this.alertTopic = new TopicOutput(config.topics.alerts, (alerts) => alertPublisher.publish(alerts), (alert) => {
      this.deps.metrics.alerts.inc({ rule: alert.rule, status: alert.status });
      this.deps.onAlert?.(alert);
    });
    this.deadLetters = new DeadLetterPublisher(deps.producer, config.topics.dlq);
    this.detectors = new DetectorSet(config.detectors, { latencyRegression: config.detectors.latencyRegression });
    this.playbook = config.playbook.enabled ? new PlaybookEngine(parsePlaybook(...readPlaybookFile(config.playbook.file))) : undefined;
    this.actionWriter = new TableWriter(deps.clickhouse, config.clickhouse.database, 'actions', actionRow, config.sink.maxBatchRows, onInsert);
    const actionPublisher = new ActionPublisher(deps.producer, config.topics.actions, new WireCodec(deps.registry, contracts.action, valueSubject(config.topics.actions)));
    this.actionTopic = new TopicOutput(config.topics.actions, (actions) => actionPublisher.publish(actions), (action) => this.deps.onAction?.(action));
    this.outputs = [...this.writers.values(), this.alertTopic, this.alertWriter, this.actionTopic, this.actionWriter];
  }

  /** The outputs' names in flush order (topics and tables), as pipeline/topology.ts shows them. */
  get outputOrder(): string[] {
    return this.outputs.map((output) => output.name);
  }

  get stateSize(): number {
    let size = 0;
    for (const merger of this.mergers.values()) size += merger.size;
    return size;
  }

  private merger(id: string): StageTwoMerger {
    let merger = this.mergers.get(id);
    if (!merger) {
      const { windows } = this.deps.config;
      merger = new StageTwoMerger({ windowSizeMs: windows.sizeMs, allowedLatenessMs: windows.telemetry.allowedLatenessMs, expectedTasks: this.deps.expectedTasks });
      this.mergers.set(id, merger);
    }
    return merger;
  }

  /**
   * After a rebalance every assigned partition restarts from its committed offset: merge state is
   * rebuilt from there. Alerts already decided stay pending (detectors see each window once).
   */
  protected onAssignment(partitions: Set<string>): void {
    this.mergers.clear();
    for (const writer of this.writers.values()) writer.discard();
    for (const id of partitions) this.merger(id);
  }

  protected async handleBatch({ batch, isStale }: EachBatchPayload): Promise<void> {
    if (isStale()) return;
    const id = partitionId(batch.topic, batch.partition);
    const merger = this.merger(id);
    const letters: DeadLetter[] = [];
    for (const message of batch.messages) {
      const position = { partition: id, offset: Number(message.offset) };
      // Synchronous once the writer schema is cached: no microtask per record.
      const decoded = this.codec.decodeKnown(message.value) ?? (await this.codec.decode(message.value));
      if (!decoded.ok) {
        merger.skip(position);
        letters.push({ reason: decoded.reason, detail: decoded.detail, topic: batch.topic, partition: batch.partition, offset: message.offset, timestamp: message.timestamp, key: message.key, value: message.value, headers: message.headers });
        continue;
      }
      let outcome: ReturnType<StageTwoMerger['add']>;
      try {
        outcome = merger.add(decoded.value, position);
      } catch (error) {
        // A partial this version cannot merge (say, a sketch layout of an older costline): dead-lettered, never blocking.
        merger.skip(position);
        letters.push({ reason: 'unmergeable-partial', detail: (error as Error).message, topic: batch.topic, partition: batch.partition, offset: message.offset, timestamp: message.timestamp, key: message.key, value: message.value, headers: message.headers });
        continue;
      }
      if (outcome === 'late') {
        letters.push({ reason: 'late', detail: `partial of window ${new Date(decoded.value.window_start).toISOString()} arrived after its allowed lateness`, topic: batch.topic, partition: batch.partition, offset: message.offset, timestamp: message.timestamp, key: message.key, value: message.value, headers: message.headers });
      }
    }
    if (letters.length > 0) {
      await this.deadLetters.publish(letters);
      for (const letter of letters) {
        this.deps.metrics.deadLetters.inc({ reason: letter.reason, topic: batch.topic });
        this.deps.onDeadLetter?.(letter);
      }
    }
  }

  protected advance(): void {
    const now = this.now();
    const closedMinutes: MergedRollup[] = [];
    for (const merger of this.mergers.values()) {
      const { minutes, hours } = merger.advance();
      if (Number.isFinite(merger.watermark)) this.deps.metrics.watermarkLag.set({ source: 'stage-2' }, Math.max(0, (now - merger.watermark) / 1000));
      for (const r of minutes) this.writers.get(`${r.key.kind}/1m`)!.add(r);
      for (const r of hours) this.writers.get(`${r.key.kind}/1h`)!.add(r);
      closedMinutes.push(...minutes);
    }
    closedMinutes.sort((a, b) => a.windowStart - b.windowStart);
    const alerts: Alert[] = [];
    for (const r of closedMinutes) {
      if (!r.onTime) continue;
      for (const input of detectorInputs(r, this.deps.config.cost.currency)) alerts.push(...this.detectors.observe(input));
    }
    const watermark = Math.min(...[...this.mergers.values()].map((m) => m.watermark));
    if (Number.isFinite(watermark)) alerts.push(...this.detectors.advance(watermark));
    for (const alert of alerts) {
      this.alertTopic.add(alert);
      this.alertWriter.add(alert);
      for (const action of this.playbook?.decide(alert) ?? []) {
        this.actionTopic.add(action);
        this.actionWriter.add(action);
      }
    }
    if (closedMinutes.length > 0) this.deps.onRollups?.(closedMinutes);
  }

  protected pendingOutputs(): number {
    let pending = 0;
    for (const output of this.outputs) pending += output.pending;
    return pending;
  }

  protected async flushOutputs(): Promise<void> {
    for (const output of this.outputs) await output.flush();
  }

  /** Primes the detectors' baselines from the stored rollups, so a restart has no blind period. */
  async warmStart(): Promise<{ windows: number }> {
    const { config } = this.deps;
    if (config.detectors.warmStartHours === 0) return { windows: 0 };
    const history = await warmStartHistory(this.deps.clickhouse, config, this.now());
    return this.detectors.warmStart(history);
  }

  protected committableOffsets(): Map<string, number> {
    const result = new Map<string, number>();
    for (const merger of this.mergers.values()) for (const [p, o] of merger.committableOffsets()) result.set(p, o);
    return result;
  }
}
