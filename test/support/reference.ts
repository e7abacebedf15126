import type { ClickHouseClient } from '@clickhouse/client';
import type { TokenUsage } from '../../schemas/index.js';
import { windowStartOf } from '../../pipeline/core/tumbling-window.js';
import { qualified } from '../../sinks/clickhouse/index.js';

const MIN = 60_000;

export interface WindowTruth {
  requests: number;
  inputTokens: number;
  outputTokens: number;
  errors: number;
  latencies: number[];
}

/** The one-pass reference: per model key and minute, computed straight from the events produced. */
export function referenceRollups(events: TokenUsage[]): Map<string, WindowTruth> {
  const truth = new Map<string, WindowTruth>();
  for (const e of events) {
    const id = `${e.model_name}|${e.model_version}|${e.region}@${windowStartOf(e.event_time, MIN)}`;
    let t = truth.get(id);
    if (!t) {
      t = { requests: 0, inputTokens: 0, outputTokens: 0, errors: 0, latencies: [] };
      truth.set(id, t);
    }
    t.requests += 1;
    t.inputTokens += e.input_tokens;
    t.outputTokens += e.output_tokens;
    if (e.status !== 'ok') t.errors += 1;
    t.latencies.push(e.latency_ms);
  }
  return truth;
}

export function exactQuantile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(q * (sorted.length - 1))]!;
}

export interface StoredRollup {
  id: string;
  requests: number;
  inputTokens: number;
  outputTokens: number;
  errors: number;
  p95: number;
}

export async function storedModelRollups(client: ClickHouseClient, database: string): Promise<Map<string, StoredRollup>> {
  const result = await client.query({
    query: `SELECT model_name, model_version, region, toUnixTimestamp(window_start) AS window_start, requests, input_tokens, output_tokens, errors, latency_p95_ms
            FROM ${qualified(database, 'model_rollup_1m')} FINAL`,
    format: 'JSONEachRow',
  });
  const rows = await result.json<{ model_name: string; model_version: string; region: string; window_start: string; requests: string; input_tokens: string; output_tokens: string; errors: string; latency_p95_ms: number }>();
  return new Map(
    rows.map((r) => {
      const id = `${r.model_name}|${r.model_version}|${r.region}@${Number(r.window_start) * 1000}`;
      return [id, { id, requests: Number(r.requests), inputTokens: Number(r.input_tokens), outputTokens: Number(r.output_tokens), errors: Number(r.errors), p95: r.latency_p95_ms }];
    }),
  );
}

/**
 * Differences between what ClickHouse holds and the reference, for the windows that must be
 * closed (before `closedBefore`): exact on counts and tokens, within the sketch bound on p95.
 */
export function differences(stored: Map<string, StoredRollup>, truth: Map<string, WindowTruth>, closedBefore: number): string[] {
  const problems: string[] = [];
  for (const [id, t] of truth) {
    if (Number(id.split('@')[1]) + MIN > closedBefore) continue;
    const s = stored.get(id);
    if (!s) {
      problems.push(`${id}: missing`);
      continue;
    }
    if (s.requests !== t.requests || s.inputTokens !== t.inputTokens || s.outputTokens !== t.outputTokens || s.errors !== t.errors) {
      problems.push(`${id}: stored ${JSON.stringify(s)} expected requests=${t.requests} input=${t.inputTokens} output=${t.outputTokens} errors=${t.errors}`);
    }
    const exact = exactQuantile(t.latencies, 0.95);
    if (Math.abs(s.p95 - exact) > 0.01 * exact) problems.push(`${id}: p95 ${s.p95} vs exact ${exact}`);
  }
  return problems;
}
