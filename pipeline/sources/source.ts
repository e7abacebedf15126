import type { BillingCost, Contract } from '../../schemas/index.js';
import type { CostlineConfig } from '../config/schema.js';
import type { PriceOutcome, StageOneTask } from '../core/stage-one.js';
import type { SourcePosition } from '../core/window-store.js';
import type { Validation, ValidationLimits } from './validate.js';

/** Why a record is refused: its dead-letter reason and a sentence naming the field and the value. */
export interface Refusal {
  reason: string;
  detail: string;
}

/** The input families stage 1 folds: each has one topic, one Avro contract and one fold into a task. */
export type FamilyName = 'tokens' | 'gpu' | 'queue' | 'billing';

/**
 * What a family source's fold may reach for one record. The runner keeps one per batch and moves
 * `position` and `brokerTime` along it, so the hot path allocates nothing per record.
 */
export interface FoldContext {
  /** The stage-1 task of the record's partition number (co-partitioned across the family topics). */
  readonly task: StageOneTask;
  readonly position: SourcePosition;
  /** The record's broker timestamp: the reference validation judges event time by (so a replay validates the same way). */
  brokerTime: number;
  /** Wall clock, only for idle partitions. */
  now: number;
  readonly config: CostlineConfig;
  readonly limits: ValidationLimits;
  /** A billing line waits there until the usage of its charge period is final (its offset stays uncommitted meanwhile). */
  awaitAllocation(line: BillingCost): void;
  /** Counts what a billing line did for the price rule. */
  countPriceEvidence(outcome: PriceOutcome): void;
}

/**
 * A stage-1 input family: records in the Confluent wire format (Avro by schema id, resolved to the
 * reader's contract), one task per partition number, co-partitioned with the other families.
 */
export interface FamilySource<E> {
  readonly name: FamilyName;
  readonly contract: Contract<E>;
  /** Its topic, from `topics` in the configuration. */
  topic(config: CostlineConfig): string;
  /** Whether its events move the task's telemetry watermark (billing lines do not: they are hours late by nature). */
  readonly movesWatermark: boolean;
  /** The record key producers give an event: what co-partitions it (a GPU sample and a billing line by resource id). */
  recordKey(event: E): string;
  /** Physical bounds and sizes of one event, judged against the record's broker timestamp. */
  validate(event: E, brokerTime: number, limits: ValidationLimits): Validation;
  /** Validates one decoded event and folds it into its task; the refusal when it is refused. */
  fold(event: E, context: FoldContext): Refusal | undefined;
}

/** An event later than the allowed lateness, as a refusal. */
export function lateRefusal(eventTime: number, allowedLatenessMs: number): Refusal {
  return { reason: 'late', detail: `event time ${new Date(eventTime).toISOString()} is behind the watermark by more than the allowed lateness (${allowedLatenessMs} ms)` };
}

/** A family event another encoding was mapped to, with the key its family topic wants. */
export interface RekeyedEvent {
  family: 'tokens' | 'gpu' | 'queue';
  /** The family's record key (endpoint, resource id), so co-partitioning holds. */
  key: string;
  value: unknown;
  /** What it came from (a span, a metric series), for a dead letter's detail. */
  origin: string;
}

/** What one input record became: its re-keyed events, the parts refused (each a dead letter's reason), and parts not for costline. */
export interface RepartitionOutcome {
  events: RekeyedEvent[];
  refused: Refusal[];
  /** Parts that carry nothing costline reads (a span of no GenAI operation, a metric of no known family): counted, not dead-lettered. */
  ignored: number;
  /** Set when the whole record could not be read: it is dead-lettered as it is. */
  undecodable?: Refusal;
}

/** The state one input partition of a repartition source keeps (cumulative series need their last point). */
export interface PartitionMapper {
  /** Decodes and maps one record, in offset order. */
  map(value: Buffer | null): RepartitionOutcome;
  /** Feeds a record to the state only, emitting nothing: how a restart rebuilds what records before the committed offset left. */
  prime(value: Buffer | null): void;
}

/**
 * An input whose records are not keyed the way costline joins (the OpenTelemetry Collector keys
 * by trace id or by a hash): a repartition step decodes and maps each record to family events and
 * writes them, re-keyed, onto the family topics, in one Kafka transaction with the consumed
 * offsets (Kafka Streams' repartition topic, with exactly-once processing).
 */
export interface RepartitionSource {
  readonly name: string;
  enabled(config: CostlineConfig): boolean;
  topic(config: CostlineConfig): string;
  /** A fresh mapper for one input partition. */
  createMapper(config: CostlineConfig): PartitionMapper;
  /**
   * How far back (in record timestamps) a partition's state reaches: after a restart the records
   * of this span before the committed offset are primed again. 0 for a stateless source.
   */
  stateHorizonMs(config: CostlineConfig): number;
}
