import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { emptyRollup, foldGpu, foldQueue, foldToken, RollupAggregate, type QueueAggregate } from '../../pipeline/core/aggregates.js';
import type { GpuSample, QueueSample, TokenUsage } from '../../schemas/index.js';

const token = fc.record({
  input_tokens: fc.nat(8000),
  output_tokens: fc.nat(2000),
  cached_input_tokens: fc.nat(500),
  latency_ms: fc.double({ min: 0, max: 1e5, noNaN: true }),
  time_to_first_token_ms: fc.option(fc.double({ min: 0, max: 1e4, noNaN: true })),
  status: fc.constantFrom('ok', 'error', 'timeout'),
  retry_count: fc.nat(3),
  egress_bytes: fc.nat(1e7),
}).map((t) => ({ ...t, event_time: 0, request_id: 'r', model_name: 'm', model_version: 'v', region: 'r', response_model: null, operation_name: 'chat', endpoint: 'e', team: 't', experiment: null, environment: 'prod' }) as TokenUsage);

const queue = fc.record({
  num_requests_waiting: fc.nat(500),
  num_requests_running: fc.nat(64),
  queue_wait_count: fc.nat(1000),
  queue_wait_ms_sum: fc.double({ min: 0, max: 1e6, noNaN: true }),
  queue_wait_ms_p95: fc.option(fc.double({ min: 0, max: 1e4, noNaN: true })),
  kv_cache_usage_perc: fc.double({ min: 0, max: 1, noNaN: true }),
  num_preemptions: fc.nat(10),
}).map((q) => ({ ...q, event_time: 0, sample_interval_ms: 10_000, endpoint: 'e', replica: 'r0', model_name: 'm', model_version: 'v', region: 'r', node: 'n', resource_id: 'i-1', team: 't', environment: 'prod' }) as QueueSample);

const gpu = fc.record({
  gpu_uuid: fc.constantFrom('GPU-a', 'GPU-b', 'GPU-c', 'GPU-ü'),
  gpu_utilization: fc.double({ min: 0, max: 100, noNaN: true }),
  sm_active: fc.option(fc.double({ min: 0, max: 1, noNaN: true })),
  fb_used_mib: fc.nat(80_000),
  dram_active: fc.option(fc.double({ min: 0, max: 1, noNaN: true })),
  power_watts: fc.double({ min: 0, max: 700, noNaN: true }),
  xid_errors: fc.nat(2),
}).map((g) => ({ ...g, event_time: 0, sample_interval_ms: 10_000, cluster: 'c', node: 'n', gpu_id: 0, gpu_model: 'H100', resource_id: 'i-1', provider: 'aws', region: 'r', instance_type: null, workload: 'inference', model_name: 'm', model_version: 'v', endpoint: null, team: 't', experiment: null, environment: 'prod', fb_total_mib: 81_559, temperature_c: 60, last_xid: null }) as GpuSample);

type Event = { kind: 'token'; e: TokenUsage } | { kind: 'queue'; e: QueueSample } | { kind: 'gpu'; e: GpuSample };
const events = fc.array(fc.oneof(token.map((e) => ({ kind: 'token', e }) as Event), queue.map((e) => ({ kind: 'queue', e }) as Event), gpu.map((e) => ({ kind: 'gpu', e }) as Event)), { maxLength: 60 });

function fold(a: RollupAggregate, event: Event): void {
  if (event.kind === 'token') foldToken(a, event.e);
  else if (event.kind === 'queue') foldQueue(a.queueToFold(), event.e);
  else foldGpu(a.gpuToFold(), event.e);
}

const aggregateOf = (list: readonly Event[]) => {
  const a = emptyRollup();
  for (const event of list) fold(a, event);
  return a;
};

/** Everything a reader sees, sketches by their quantiles. */
function view(a: RollupAggregate) {
  const q = [0, 0.5, 0.95, 0.99, 1];
  const { tokens, queue: qu, gpu: g, cost } = a;
  return {
    tokens: {
      counts: [tokens.requests, tokens.successes, tokens.errors, tokens.retries, tokens.inputTokens, tokens.outputTokens, tokens.cachedInputTokens, tokens.egressBytes],
      latency: q.map((x) => tokens.latency.quantile(x)),
      timeToFirstToken: q.map((x) => tokens.timeToFirstToken.quantile(x)),
    },
    queue: { ...qu, waitP95: q.map((x) => qu.waitP95.quantile(x)) },
    gpu: { ...g, gpus: [...g.gpus].sort(([a], [b]) => (a < b ? -1 : 1)).map(([id, usage]) => ({ id, ...usage })) },
    cost: { estimatedNanos: cost.estimatedNanos, egressNanos: cost.egressNanos },
  };
}

describe('RollupAggregate', () => {
  it('reads back from its packed bytes exactly what it held (property)', () => {
    fc.assert(
      fc.property(events, (list) => {
        const a = aggregateOf(list);
        const copy = RollupAggregate.unpack(a.pack());
        expect(view(copy)).toEqual(view(a));
        expect(copy.pack()).toBe(a.pack());
      }),
    );
  });

  it('merged from any split of the events equals one pass (property)', () => {
    fc.assert(
      fc.property(events, fc.array(fc.nat(2), { maxLength: 60 }), (list, assignment) => {
        const parts = [emptyRollup(), emptyRollup(), emptyRollup()];
        list.forEach((event, i) => fold(parts[assignment[i] ?? 0]!, event));
        const merged = emptyRollup();
        for (const part of parts) merged.merge(part);
        const [got, want] = [view(merged), view(aggregateOf(list))];
        // Counts, maxima, sets and sketches are exact; float sums may differ in their last bits with the order of addition.
        expect(got.tokens).toEqual(want.tokens);
        expect(got.gpu.gpus.map((u) => u.id)).toEqual(want.gpu.gpus.map((u) => u.id));
        got.gpu.gpus.forEach((u, i) => {
          expect(u.gpuSeconds).toBeCloseTo(want.gpu.gpus[i]!.gpuSeconds, 6);
          expect(u.utilizationSeconds).toBeCloseTo(want.gpu.gpus[i]!.utilizationSeconds, 6);
        });
        expect(got.queue.waitP95).toEqual(want.queue.waitP95);
        for (const [name, value] of Object.entries(want.queue)) if (typeof value === 'number') expect((got.queue as Record<string, unknown>)[name]).toBeCloseTo(value, 6);
        for (const [name, value] of Object.entries(want.gpu)) if (typeof value === 'number') expect((got.gpu as Record<string, unknown>)[name]).toBeCloseTo(value, 6);
      }),
    );
  });

  it('creates the queue and GPU parts only when a sample arrives, reading as zeros until then', () => {
    const a = emptyRollup();
    fc.assert(fc.property(token, (e) => foldToken(a, e)), { numRuns: 5 });
    expect(a.queue.samples).toBe(0);
    expect(a.queue.waitP95.quantile(0.95)).toBe(0);
    expect(a.gpu.gpus.size).toBe(0);
    // A window of five requests packs into a few dozen bytes.
    expect(a.pack().length).toBeLessThan(80);
  });

  it('refuses to fold into the shared empty part of another key', () => {
    const sample = fc.sample(queue, 1)[0]!;
    expect(() => foldQueue(emptyRollup().queue as QueueAggregate, sample)).toThrow(TypeError);
    expect(emptyRollup().queue.samples).toBe(0);
  });
});
