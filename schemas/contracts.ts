import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import avro from 'avsc';
import { avroDir } from './codegen.js';
import type { Alert, BillingCost, DeadLetterMetadata, GpuSample, PartialRollup, PlaybookAction, QueueSample, TokenUsage } from './types.generated.js';

/** The contract of each topic: which Avro schema its values follow and the TypeScript shape that schema generates. */
export interface Contract<T> {
  readonly name: string;
  readonly schema: Record<string, unknown>;
  readonly type: avro.Type;
  /** Phantom field carrying the value type; never read at run time. */
  readonly __value?: T;
}

function contract<T>(file: string): Contract<T> {
  const schema = JSON.parse(readFileSync(join(avroDir, file), 'utf8')) as Record<string, unknown>;
  return { name: String(schema.name), schema, type: avro.Type.forSchema(schema as avro.Schema) };
}

export const contracts = {
  tokenUsage: contract<TokenUsage>('token-usage.avsc'),
  alert: contract<Alert>('alert.avsc'),
  gpuSample: contract<GpuSample>('gpu-sample.avsc'),
  queueSample: contract<QueueSample>('queue-sample.avsc'),
  action: contract<PlaybookAction>('action.avsc'),
  /** Not a topic's value: the typed form of the headers every dead letter carries (see schemas/dead-letter.ts). */
  deadLetterMetadata: contract<DeadLetterMetadata>('dead-letter.avsc'),
  billingCost: contract<BillingCost>('billing-cost.avsc'),
  partialRollup: contract<PartialRollup>('partial-rollup.avsc'),
} as const;

/** Confluent's TopicNameStrategy: values of topic T are registered under subject "T-value". */
export function valueSubject(topic: string): string {
  return `${topic}-value`;
}
