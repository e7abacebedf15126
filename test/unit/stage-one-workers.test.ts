import { describe, expect, it } from 'vitest';
import { Counter, Gauge, Registry } from 'prom-client';
import { stageOneWorkerCount } from '../../pipeline/runtime/stage-one-workers.js';
import { CombinedRegistry, createMetrics } from '../../pipeline/observability/metrics.js';

describe('how many threads run stage 1', () => {
  it('auto: one per core, at most one per input partition', () => {
    expect(stageOneWorkerCount('auto', 12, 4)).toBe(4);
    expect(stageOneWorkerCount('auto', 3, 8)).toBe(3);
  });

  it('auto on a single core, or over a single partition: the main thread', () => {
    expect(stageOneWorkerCount('auto', 12, 1)).toBe(0);
    expect(stageOneWorkerCount('auto', 1, 8)).toBe(0);
  });

  it('a configured number, but never more workers than input partitions', () => {
    expect(stageOneWorkerCount(2, 12, 1)).toBe(2);
    expect(stageOneWorkerCount(0, 12, 8)).toBe(0);
    expect(stageOneWorkerCount(6, 4, 8)).toBe(4);
  });
});

describe('one /metrics over the main thread and the stage-1 workers', () => {
  const workerMetrics = async (accepted: number, windows: number) => {
    const metrics = createMetrics(new Registry(), { processMetrics: false });
    metrics.eventsIn.inc({ topic: 'tokens', outcome: 'accepted' }, accepted);
    metrics.windowState.set(windows);
    return metrics.registry.getMetricsAsJSON();
  };

  it('adds up the counters and gauges the workers report', async () => {
    const main = createMetrics(new Registry());
    const workers = [await workerMetrics(120, 7), await workerMetrics(80, 5)];
    const combined = new CombinedRegistry(main.registry, async () => workers);
    const text = await combined.metrics();
    expect(text).toContain('costline_events_total{topic="tokens",outcome="accepted"} 200');
    expect(text).toContain('costline_window_state_windows 12');
  });

  it('keeps what only one thread reports, process metrics included', async () => {
    const main = createMetrics(new Registry());
    new Counter({ name: 'main_only_total', help: 'only on the main thread', registers: [main.registry] }).inc(3);
    const worker = new Registry();
    new Gauge({ name: 'worker_only', help: 'only on a worker', registers: [worker] }).set(4);
    const text = await new CombinedRegistry(main.registry, async () => [await worker.getMetricsAsJSON()]).metrics();
    expect(text).toContain('main_only_total 3');
    expect(text).toContain('worker_only 4');
    expect(text).toMatch(/costline_process_process_start_time_seconds \d+/);
  });

  it('is the main registry alone when no worker runs', async () => {
    const main = createMetrics(new Registry());
    main.eventsIn.inc({ topic: 'gpu', outcome: 'accepted' }, 5);
    const combined = new CombinedRegistry(main.registry, async () => []);
    expect(await combined.metrics()).toContain('costline_events_total{topic="gpu",outcome="accepted"} 5');
  });
});
