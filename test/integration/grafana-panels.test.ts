import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClickHouse, DecimalText, migrate, qualified } from '../../sinks/clickhouse/index.js';
import { alertRow, modelRollupRow } from '../../sinks/clickhouse/rows.js';
import { emptyRollup, foldToken } from '../../pipeline/core/aggregates.js';
import { rollupKey, rollupKeyId } from '../../pipeline/core/rollup-key.js';
import type { MergedRollup } from '../../pipeline/core/stage-two.js';
import { demoFleet, minuteOfTraffic, type LatencyRegression } from '../../pipeline/simulate/demo-traffic.js';
import { Random } from '../../pipeline/simulate/random.js';
import type { Alert } from '../../schemas/index.js';
import { isolatedConfig } from '../support/services.js';
import { ALL, dashboardQueries, expandGrafanaSql, loadDashboards, type GrafanaQueryContext } from '../support/grafana-macros.js';

/**
 * Grafana cannot run here, so its provisioning is tested by what Grafana would send: every
 * panel's and every variable's SQL, with macros and variables expanded for a fixed range
 * (test/support/grafana-macros.ts), runs against the real ClickHouse and must return rows.
 *
 * The dashboards name the database `costline` (a Grafana dashboard has no placeholder for it that
 * the ClickHouse plugin would fill in), so this test rewrites every `costline.` table prefix to
 * this run's isolated database before running the SQL.
 */

const config = isolatedConfig('grafana');
const client = createClickHouse(config.clickhouse);
const db = config.clickhouse.database;

const toIsolatedDatabase = (sql: string) => sql.replace(/\bcostline\.(?=[A-Za-z_])/g, `${db}.`);

// A fixed range: 40 minutes of traffic from 10:00 UTC, the dashboard looking at 10:00-10:45.
const trafficStartMs = Date.UTC(2026, 2, 2, 10, 0, 0);
const trafficMinutes = 40;
const range = { fromMs: trafficStartMs, toMs: trafficStartMs + 45 * 60_000 };
const regression: LatencyRegression = { model: 'llama-3.1-70b', version: 'v2', region: 'eu-west-1', startMinute: 24, factor: 2.5 };

const allSelected = { model_name: [ALL], model_version: [ALL], region: [ALL] };
const contexts: Record<string, GrafanaQueryContext> = {
  'every variable at All, 1-minute interval': { ...range, intervalSeconds: 60, variables: allSelected },
  'every variable at All, 5-minute interval': { ...range, intervalSeconds: 300, variables: allSelected },
  'one model version in one region selected': { ...range, intervalSeconds: 60, variables: { model_name: ['llama-3.1-70b'], model_version: ['v2'], region: ['eu-west-1'] } },
  'several values of each variable selected': { ...range, intervalSeconds: 120, variables: { model_name: ['llama-3.1-70b', 'mistral-7b'], model_version: ['v1', 'v3'], region: ['us-east-1', 'eu-west-1'] } },
};

/** The model rollup of one key and minute, folded by the pipeline's own core from simulated requests. */
function rollupOf(events: ReturnType<typeof minuteOfTraffic>, windowStart: number): MergedRollup {
  const aggregate = emptyRollup();
  for (const event of events) foldToken(aggregate.tokens, event);
  const key = rollupKey('model', [events[0]!.model_name, events[0]!.model_version, events[0]!.region]);
  return { key, keyId: rollupKeyId(key), windowStart, windowEnd: windowStart + 60_000, aggregate, version: events.length, onTime: true };
}

const latest: MergedRollup[] = [];
const superseded: MergedRollup[] = [];

function alert(fields: Partial<Alert> & Pick<Alert, 'alert_id' | 'sequence' | 'status' | 'severity' | 'window_start'>): Alert {
  return {
    rule: 'latency_p95_regression',
    key: 'llama-3.1-70b|v2|eu-west-1',
    dimensions: { model_name: 'llama-3.1-70b', model_version: 'v2', region: 'eu-west-1' },
    window_end: fields.window_start + 60_000,
    episode_start: fields.window_start,
    metric: 'latency_p95_ms',
    observed: 2400,
    baseline: 1000,
    score: 2.4,
    evidence: 'latency p95 2400 ms is 2.4x the trailing median of 1000 ms for llama-3.1-70b v2 in eu-west-1',
    ...fields,
  };
}

const minute = (m: number) => trafficStartMs + m * 60_000;
const alerts: Alert[] = [
  // Still open: fired at minute 26, escalated at minute 28.
  alert({ alert_id: 'a-llama-v2-eu-26', sequence: 0, status: 'firing', severity: 'warning', window_start: minute(26) }),
  alert({ alert_id: 'a-llama-v2-eu-26', sequence: 1, status: 'updated', severity: 'critical', window_start: minute(28), episode_start: minute(26), observed: 2600, score: 2.6 }),
  // Fired and resolved inside the range, on another key.
  alert({ alert_id: 'a-mistral-v3-us-10', sequence: 0, status: 'firing', severity: 'warning', window_start: minute(10), key: 'mistral-7b|v3|us-east-1', dimensions: { model_name: 'mistral-7b', model_version: 'v3', region: 'us-east-1' } }),
  alert({ alert_id: 'a-mistral-v3-us-10', sequence: 1, status: 'resolved', severity: 'warning', window_start: minute(14), episode_start: minute(10), key: 'mistral-7b|v3|us-east-1', dimensions: { model_name: 'mistral-7b', model_version: 'v3', region: 'us-east-1' } }),
];

/** What the token traffic above does not carry: every model minute ran on 8 GPUs at 0.25 per minute, with a queue. */
const GPU_AND_COST = { gpu_count: 8, gpu_seconds: 480, gpu_utilization_mean: 70, memory_saturation_max: 0.82, queue_samples: 4, queue_wait_p95_ms: 120, estimated_cost: new DecimalText('0.25') };
/** Owner spend: team search runs exp-a for 40 minutes at 0.5 + 0.01 egress a minute, team ads runs nothing but egress. */
const ownerSpend = Array.from({ length: trafficMinutes }, (_, m) => [
  { window_start: minute(m) / 1000, window_end: minute(m + 1) / 1000, team: 'search', experiment: 'exp-a', environment: 'prod', gpu_count: 8, gpu_seconds: 480, gpu_utilization_mean: 60, requests: 30, output_tokens: 9000, estimated_cost: new DecimalText('0.5'), egress_cost: new DecimalText('0.01'), version: 1 },
  { window_start: minute(m) / 1000, window_end: minute(m + 1) / 1000, team: 'ads', experiment: '', environment: 'prod', gpu_count: 0, gpu_seconds: 0, gpu_utilization_mean: 0, requests: 10, output_tokens: 100, estimated_cost: new DecimalText('0'), egress_cost: new DecimalText('0.002'), version: 1 },
]).flat();
/** Billing allocated to one version in one region for the first ten minutes. */
const allocations = Array.from({ length: 10 }, (_, m) => ({ billing_line_id: 'line-1', window_start: minute(m) / 1000, attribution: 'usage', resource_id: 'i-1', provider: 'aws', region: 'eu-west-1', model_name: 'llama-3.1-70b', model_version: 'v2', team: 'search', experiment: 'exp-a', environment: 'prod', billing_currency: 'USD', billed_cost: new DecimalText('0.3'), effective_cost: new DecimalText('0.3'), version: 1 }));

beforeAll(async () => {
  await migrate(client, db);
  // No background merge may hide a panel that forgot FINAL: superseded versions stay on disk.
  await client.command({ query: `SYSTEM STOP MERGES ${qualified(db, 'model_rollup_1m')}` });
  const random = new Random(11);
  for (let m = 0; m < trafficMinutes; m++) {
    for (const key of demoFleet) {
      const events = minuteOfTraffic(key, minute(m), m, 30, random, regression);
      // The window was first emitted with two thirds of its events, then re-emitted complete.
      superseded.push(rollupOf(events.slice(0, 20), minute(m)));
      latest.push(rollupOf(events, minute(m)));
    }
  }
  const rollupTable = qualified(db, 'model_rollup_1m');
  await client.insert({ table: rollupTable, values: superseded.map((r) => modelRollupRow(r)), format: 'JSONEachRow' });
  await client.insert({ table: rollupTable, values: latest.map((r) => ({ ...modelRollupRow(r), ...GPU_AND_COST })), format: 'JSONEachRow' });
  await client.insert({ table: qualified(db, 'owner_spend_1m'), values: ownerSpend, format: 'JSONEachRow' });
  await client.insert({ table: qualified(db, 'cost_allocation_1m'), values: allocations, format: 'JSONEachRow' });
  await client.insert({ table: qualified(db, 'alerts'), values: alerts.map((a) => alertRow(a)), format: 'JSONEachRow' });
});

afterAll(async () => {
  await client.command({ query: `DROP DATABASE IF EXISTS ${db}` });
  await client.close();
});

async function rowsOf(sql: string): Promise<Record<string, unknown>[]> {
  const result = await client.query({ query: toIsolatedDatabase(sql), format: 'JSONEachRow' });
  return result.json<Record<string, unknown>>();
}

const dashboards = loadDashboards();
const queries = dashboards.flatMap(dashboardQueries);

describe('Grafana dashboards against the real ClickHouse', () => {
  it('finds the provisioned dashboards and their queries', () => {
    expect(dashboards.map((d) => d.file)).toContain('costline-overview.json');
    expect(queries.length).toBeGreaterThan(10);
  });

  for (const [contextName, context] of Object.entries(contexts)) {
    describe(contextName, () => {
      it.each(queries.map((q) => [q.label, q] as const))('%s runs and returns rows', async (_label, query) => {
        const rows = await rowsOf(expandGrafanaSql(query.sql, context));
        expect(rows.length).toBeGreaterThan(0);
      });
    });
  }

  it('counts each re-emitted window once: the Requests panel reads the latest version only', async () => {
    const requestsPanel = queries.find((q) => q.panelTitle === 'Requests');
    expect(requestsPanel).toBeDefined();
    const [row] = await rowsOf(expandGrafanaSql(requestsPanel!.sql, contexts['every variable at All, 1-minute interval']!));
    expect(Number(row!['Requests'])).toBe(latest.reduce((sum, r) => sum + r.aggregate.tokens.requests, 0));
  });

  it('sums spend per owner over the range, largest first, GPU utilization weighted by GPU-seconds', async () => {
    const panel = queries.find((q) => q.panelTitle === 'Spend by team, experiment and environment')!;
    const rows = await rowsOf(expandGrafanaSql(panel.sql, contexts['every variable at All, 1-minute interval']!));
    expect(rows.map((r) => [r['Team'], r['Experiment'], Number(r['Spend']).toFixed(6), Number(r['GPU-hours']).toFixed(6)])).toEqual([
      ['search', 'exp-a', (0.51 * trafficMinutes).toFixed(6), ((480 * trafficMinutes) / 3600).toFixed(6)],
      ['ads', '', (0.002 * trafficMinutes).toFixed(6), (0).toFixed(6)],
    ]);
    expect(Number(rows[0]!['GPU utilization %'])).toBeCloseTo(60, 9);
  });

  it('puts billed cost beside the estimate of the same version and region, and none where nothing was billed', async () => {
    const panel = queries.find((q) => q.panelTitle === 'Estimated and billed cost by model version and region')!;
    const rows = await rowsOf(expandGrafanaSql(panel.sql, contexts['every variable at All, 1-minute interval']!));
    const find = (version: string, region: string) => rows.find((r) => r['Version'] === version && r['Region'] === region)!;
    expect(Number(find('v2', 'eu-west-1')['Estimated'])).toBeCloseTo(0.25 * trafficMinutes, 9);
    expect(Number(find('v2', 'eu-west-1')['Billed'])).toBeCloseTo(3, 9);
    expect(Number(find('v1', 'us-east-1')['Billed'])).toBe(0);
  });

  it('divides summed tokens by summed cost for tokens per dollar, never averaging per-minute ratios', async () => {
    const panel = queries.find((q) => q.panelTitle === 'Tokens per dollar by model version')!;
    const context = { ...range, intervalSeconds: 3600, variables: { model_name: ['llama-3.1-70b'], model_version: ['v2'], region: ['eu-west-1'] } };
    const rows = await rowsOf(expandGrafanaSql(panel.sql, context));
    const mine = latest.filter((r) => r.key.dimensions.model_version === 'v2' && r.key.dimensions.region === 'eu-west-1');
    const tokens = mine.reduce((sum, r) => sum + r.aggregate.tokens.inputTokens + r.aggregate.tokens.outputTokens, 0);
    expect(rows).toHaveLength(1);
    expect(Number(rows[0]!['tokens_per_dollar'])).toBeCloseTo(tokens / (0.25 * mine.length), 6);
  });

  it('shows each alert episode once, in its latest state, open episodes first', async () => {
    const alertsPanel = queries.find((q) => q.panelTitle.startsWith('Alerts'));
    expect(alertsPanel).toBeDefined();
    const rows = await rowsOf(expandGrafanaSql(alertsPanel!.sql, contexts['every variable at All, 1-minute interval']!));
    expect(rows.map((r) => [r['Alert'], r['Status'], r['Severity']])).toEqual([
      ['a-llama-v2-eu-26', 'updated', 'critical'],
      ['a-mistral-v3-us-10', 'resolved', 'warning'],
    ]);
  });

  it('keeps the SQL valid when a selected value holds a quote (Grafana escapes it as \\\')', async () => {
    const context: GrafanaQueryContext = { ...range, intervalSeconds: 60, variables: { model_name: ["o'brien-13b"], model_version: [ALL], region: [ALL] } };
    const requestsPanel = queries.find((q) => q.panelTitle === 'Requests')!;
    const [row] = await rowsOf(expandGrafanaSql(requestsPanel.sql, context));
    expect(Number(row!['Requests'])).toBe(0);
  });
});
