import { AggregatorRegistry, Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface MetricsOptions {
  /** Process-wide metrics (CPU, memory, event loop); off in worker threads, whose process the main thread already reports. */
  processMetrics?: boolean;
}

/** The pipeline's Prometheus metrics, on one registry per process or worker thread (tests make their own). */
export function createMetrics(registry = new Registry(), { processMetrics = true }: MetricsOptions = {}) {
  if (processMetrics) collectDefaultMetrics({ register: registry, prefix: 'costline_process_' });
  return {
    registry,
    eventsIn: new Counter({ name: 'costline_events_total', help: 'Records consumed, by topic and outcome (accepted, dead_letter)', labelNames: ['topic', 'outcome'], registers: [registry] }),
    deadLetters: new Counter({ name: 'costline_dead_letters_total', help: 'Records sent to the dead-letter topic, by reason', labelNames: ['reason', 'topic'], registers: [registry] }),
    windowState: new Gauge({ name: 'costline_window_state_windows', help: 'Windows held in memory (one per key and open window)', registers: [registry] }),
    watermarkLag: new Gauge({ name: 'costline_watermark_lag_seconds', help: 'Wall clock minus the watermark, per source', labelNames: ['source'], registers: [registry] }),
    consumerLag: new Gauge({ name: 'costline_consumer_lag_records', help: 'High watermark minus the next offset to read, per topic and partition', labelNames: ['topic', 'partition'], registers: [registry] }),
    flushSeconds: new Histogram({ name: 'costline_flush_seconds', help: 'Time to flush rollups, alerts and commit offsets', buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10], registers: [registry] }),
    clickhouseRows: new Counter({ name: 'costline_clickhouse_rows_total', help: 'Rows inserted into ClickHouse, by table', labelNames: ['table'], registers: [registry] }),
    clickhouseInsertSeconds: new Histogram({ name: 'costline_clickhouse_insert_seconds', help: 'ClickHouse insert latency, by table', labelNames: ['table'], buckets: [0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 5], registers: [registry] }),
    sinkFailures: new Counter({ name: 'costline_sink_failures_total', help: 'Failed flushes (consumption pauses and retries with backoff)', labelNames: ['sink'], registers: [registry] }),
    alerts: new Counter({ name: 'costline_alerts_total', help: 'Alert messages published, by rule and status', labelNames: ['rule', 'status'], registers: [registry] }),
    cardinalityOverflow: new Counter({ name: 'costline_cardinality_overflow_total', help: 'Events whose dimension value folded into __overflow__, by dimension', labelNames: ['dimension'], registers: [registry] }),
    billingPriceEvidence: new Counter({ name: 'costline_billing_price_evidence_total', help: 'Billing lines seen by the price_change rule, by outcome: priced; not-priced (no SKU or quantity, not a usage charge, or a SKU past the cardinality limit); late (its arrival window had closed: telemetry ran ahead of billing by more than the allowed lateness)', labelNames: ['outcome'], registers: [registry] }),
    commits: new Counter({ name: 'costline_offset_commits_total', help: 'Offset commits after durable flushes', registers: [registry] }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;

/** What a ClickHouse writer reports after each insert, recorded as rows and latency per table. */
export function insertRecorder(metrics: Metrics): (table: string, rows: number, seconds: number) => void {
  return (table, rows, seconds) => {
    metrics.clickhouseRows.inc({ table }, rows);
    metrics.clickhouseInsertSeconds.observe({ table }, seconds);
  };
}

/** A registry's metrics as plain data (`getMetricsAsJSON()`): what a worker thread sends the main thread. */
export type MetricsSnapshot = Awaited<ReturnType<Registry['getMetricsAsJSON']>>;

/**
 * One /metrics for the whole process: the main thread's registry plus the snapshots of the
 * stage-1 worker threads, taken when scraped. A metric several threads report is combined by its
 * aggregator, as prom-client combines cluster workers (counters and histograms add up); one only
 * a single thread reports passes as it is (process metrics, which prom-client would otherwise omit).
 */
export class CombinedRegistry extends Registry {
  constructor(
    private readonly local: Registry,
    /** The worker threads' snapshots: every metric, or only the one named. */
    private readonly remote: (name?: string) => Promise<MetricsSnapshot[]>,
  ) {
    super();
  }

  /** One metric combined over the threads, without collecting the others: cheap enough to poll. */
  async metricAsJSON(name: string): Promise<MetricsSnapshot[number] | undefined> {
    const local = this.local.getSingleMetric(name);
    const snapshots = [local ? [await local.get()] : [], ...(await this.remote(name))];
    const all = await this.combined(snapshots).getMetricsAsJSON();
    return all.find((metric) => metric.name === name);
  }

  override async metrics(): Promise<string> {
    return (await this.everything()).metrics();
  }

  override async getMetricsAsJSON(): Promise<MetricsSnapshot> {
    return (await this.everything()).getMetricsAsJSON();
  }

  private async everything(): Promise<Registry> {
    return this.combined([await this.local.getMetricsAsJSON(), ...(await this.remote())]);
  }

  private combined(snapshots: MetricsSnapshot[]): Registry {
    const reporters = new Map<string, number>();
    for (const snapshot of snapshots) for (const metric of snapshot) reporters.set(metric.name, (reporters.get(metric.name) ?? 0) + 1);
    return AggregatorRegistry.aggregate(snapshots.map((snapshot) => snapshot.map((metric) => (reporters.get(metric.name) === 1 ? { ...metric, aggregator: 'first' as const } : metric))));
  }
}
