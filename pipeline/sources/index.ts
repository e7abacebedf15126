/**
 * The registry of costline's inputs: the runners, the bootstrap, the topic set and the config
 * schema iterate these lists instead of naming the inputs. A new encoding of a family, or a new
 * family, is a folder under pipeline/sources/ and a line here (and, when it has settings, a line
 * in ./config.ts). See pipeline/topology.ts for where each kind of source sits in the flow.
 */
import type { CostlineConfig } from '../config/schema.js';
import { billingSource } from './billing/index.js';
import { gpuSource } from './gpu/index.js';
import { queueSource } from './queue/index.js';
import type { FamilySource, RepartitionSource } from './source.js';
import { tokensSource } from './tokens/index.js';

export type { FamilyName, FamilySource, FoldContext, PartitionMapper, Refusal, RekeyedEvent, RepartitionOutcome, RepartitionSource } from './source.js';
export { lateRefusal } from './source.js';

/** Stage-1 families, Avro on their own topics, co-partitioned: one task per partition number folds all of them. */
export const familySources: readonly FamilySource<unknown>[] = [tokensSource, gpuSource, queueSource, billingSource];

/** The topics stage 1 consumes, in registry order. */
export function familyTopics(config: CostlineConfig): string[] {
  return familySources.map((source) => source.topic(config));
}

/** Other encodings of the families, keyed as their producer keys them: a repartition step re-keys them onto the family topics. */
export const repartitionSources: readonly RepartitionSource[] = [];
