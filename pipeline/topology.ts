/**
 * costline's topology, in Kafka Streams' words: which sources feed which processors, through
 * which topics, into which sinks. Read this before any processor; `costline topology` prints it
 * for a configuration, and the README's architecture drawing says the same thing.
 *
 *   source   otlp_spans, otlp_metrics            (OpenTelemetry Collector's kafka exporter; when sources.otlp.enabled)
 *     └─ processor repartition                   decode OTLP, map to family events, validate, re-key; one transaction per batch
 *          ├─ sink telemetry.tokens · telemetry.gpu · telemetry.queue   (re-keyed: endpoint, resource id, endpoint)
 *          └─ sink costline.dlq
 *   source   telemetry.tokens · telemetry.gpu · telemetry.queue · billing.costs   (co-partitioned: one task per partition number)
 *     └─ processor stage-1                       decode Avro, validate, event-time windows, pre-aggregate, cost estimate, billing allocation
 *          ├─ sink costline.dlq
 *          ├─ sink ClickHouse gpu_usage_1m, billing_lines, cost_allocation_1m
 *          └─ repartition topic costline.internal.partials   (keyed by rollup key; partials and watermark markers)
 *   source   costline.internal.partials
 *     └─ processor stage-2                       merge every task's partials, close windows, detectors, playbook
 *          └─ sinks, in flush order: rollup tables · costline.alerts · alerts · costline.actions · actions
 *
 * The lists below are built from the source registry (pipeline/sources/index.ts) and the
 * configuration, so the description cannot drift from what runs.
 */
import type { CostlineConfig } from './config/schema.js';
import { familySources, repartitionSources } from './sources/index.js';

export interface TopologyNode {
  /** Kafka Streams' kind of node. */
  kind: 'source' | 'processor' | 'repartition-topic' | 'sink';
  name: string;
  /** Topics, or ClickHouse tables, it reads or writes. */
  topics: string[];
  what: string;
}

export interface Subtopology {
  name: string;
  nodes: TopologyNode[];
}

/** Stage 2's ClickHouse rollup tables, in the order its outputs flush (see StageTwoRunner's outputs). */
const ROLLUP_TABLES = ['model_rollup_1m', 'model_rollup_1h', 'owner_spend_1m', 'owner_spend_1h', 'provider_spend_1m', 'provider_spend_1h'];

/** The running topology for a configuration: enabled sources only. */
export function describeTopology(config: CostlineConfig): Subtopology[] {
  const { topics } = config;
  const repartition = repartitionSources.filter((source) => source.enabled(config));
  const families = familySources.map((source) => source.topic(config));
  const subtopologies: Subtopology[] = [];
  if (repartition.length > 0) {
    subtopologies.push({
      name: 'repartition',
      nodes: [
        ...repartition.map((source): TopologyNode => ({ kind: 'source', name: source.name, topics: [source.topic(config)], what: 'OTLP Export requests as the OpenTelemetry Collector writes them (otlp_proto or otlp_json, told apart per record)' })),
        { kind: 'processor', name: 'repartition', topics: [], what: 'decode, map to family events, validate as the family does, re-key; events, dead letters and offsets in one Kafka transaction per batch' },
        { kind: 'sink', name: 'family topics', topics: families.filter((topic) => topic !== topics.billing), what: 'token usage by endpoint, GPU samples by resource id (co-partitioned with billing), queue samples by endpoint' },
        { kind: 'sink', name: 'dead letters', topics: [topics.dlq], what: 'the original record, one letter per reason naming the refused parts' },
      ],
    });
  }
  subtopologies.push(
    {
      name: 'stage-1',
      nodes: [
        ...familySources.map((source): TopologyNode => ({ kind: 'source', name: source.name, topics: [source.topic(config)], what: `${source.contract.name} (Avro, Confluent wire format)${source.movesWatermark ? '' : '; does not move the telemetry watermark'}` })),
        { kind: 'processor', name: 'stage-1', topics: [], what: 'one task per partition number: validate, event-time windows, partial rollups, GPU usage per resource, cost estimate, billing allocation once usage is final' },
        { kind: 'sink', name: 'dead letters', topics: [topics.dlq], what: 'refused records with their reason' },
        { kind: 'sink', name: 'usage and allocation', topics: ['gpu_usage_1m', 'billing_lines', 'cost_allocation_1m'], what: 'ClickHouse tables' },
        { kind: 'repartition-topic', name: 'partials', topics: [topics.partials], what: 'partial rollups keyed by rollup key, and every task\'s watermark markers' },
      ],
    },
    {
      name: 'stage-2',
      nodes: [
        { kind: 'source', name: 'partials', topics: [topics.partials], what: 'partials and watermark markers of every task' },
        { kind: 'processor', name: 'stage-2', topics: [], what: 'merge partials once every task passed the window; minute and hour rollups; detectors; playbook' },
        { kind: 'sink', name: 'rollups', topics: ROLLUP_TABLES, what: 'ClickHouse, ReplacingMergeTree by version' },
        { kind: 'sink', name: 'alerts', topics: [topics.alerts, 'alerts'], what: 'topic, then table' },
        { kind: 'sink', name: 'actions', topics: [topics.actions, 'actions'], what: 'topic, then table' },
      ],
    },
  );
  return subtopologies;
}

/** The description as text, one node a line, as `costline topology` prints it. */
export function formatTopology(subtopologies: Subtopology[]): string {
  const lines: string[] = [];
  for (const sub of subtopologies) {
    lines.push(`sub-topology ${sub.name}`);
    for (const node of sub.nodes) lines.push(`  ${node.kind.padEnd(17)} ${node.name.padEnd(22)} ${node.topics.join(', ').padEnd(48)} ${node.what}`);
  }
  return lines.join('\n');
}
