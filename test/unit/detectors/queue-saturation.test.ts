import { describe, expect, it } from 'vitest';
import { QueueSaturationDetector, QUEUE_SATURATION_RULE, queueSaturationSchema, type QueueWindow } from '../../../detectors/index.js';
import type { Alert } from '../../../schemas/index.js';
import { queueWindow, statuses } from './builders.js';

const settings = queueSaturationSchema.parse({});

function run(shape: (i: number) => Partial<QueueWindow>, windows = 40): Alert[] {
  const detector = new QueueSaturationDetector(settings);
  const alerts: Alert[] = [];
  for (let i = 0; i < windows; i += 1) alerts.push(...detector.observe(queueWindow(i, shape(i))));
  return alerts;
}

describe('queue saturation of an inference endpoint', () => {
  it('fires when queue-wait p95 stays over the objective, naming the depth against the usual', () => {
    const alerts = run((i) => (i >= 30 ? { queueWaitP95Ms: 3500, queueDepth: 40 } : {}));
    expect(alerts[0]).toMatchObject({ rule: QUEUE_SATURATION_RULE, status: 'firing', metric: 'queue_wait_p95_ms', observed: 3500, severity: 'warning' });
    expect(alerts[0]!.evidence).toMatch(/^queue-wait p95 of llama-3.1-70b v1, endpoint chat in us-east-1 is 3,500 ms, over the 2000 ms objective, with 40 requests waiting \(×20 the usual 2\.0\)/);
  });

  it('fires when the KV cache is full while a queue forms, even before waits grow', () => {
    const alerts = run((i) => (i >= 30 ? { kvCacheUsage: 0.98, queueDepth: 12 } : {}));
    expect(alerts[0]).toMatchObject({ status: 'firing', metric: 'kv_cache_usage' });
  });

  it('goes critical when requests are preempted on a full cache', () => {
    expect(statuses(run((i) => (i >= 30 ? { kvCacheUsage: 0.99, queueDepth: 12, preemptions: i >= 33 ? 14 : 0 } : {})))).toEqual(['firing:warning', 'updated:critical']);
  });

  it('stays quiet on a full cache with no queue: the server is busy, not saturated', () => {
    expect(run(() => ({ kvCacheUsage: 0.99, queueDepth: 0 }))).toEqual([]);
  });

  it('neither fires on one slow window nor resolves on one fast one', () => {
    expect(run((i) => (i === 30 ? { queueWaitP95Ms: 5000 } : {}))).toEqual([]);
    expect(statuses(run((i) => (i >= 10 && i < 30 && i !== 20 ? { queueWaitP95Ms: 5000 } : {})))).toEqual(['firing:critical', 'resolved:critical']);
  });
});
