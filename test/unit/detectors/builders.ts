import type { Alert } from '../../../schemas/index.js';
export { Random } from '../../../pipeline/simulate/random.js';
import type { GpuPoolWindow, ModelWindow, QueueWindow, SpendWindow } from '../../../detectors/index.js';

/** Builders of detector inputs for the specifications: one-minute windows from a fixed epoch. */
export const MIN = 60_000;
export const HOUR = 3_600_000;
export const DAY = 86_400_000;
/** 2026-11-02 00:00 UTC, a Monday. */
export const T0 = Date.UTC(2026, 10, 2);

export function modelWindow(i: number, overrides: Partial<ModelWindow> = {}): ModelWindow {
  const modelName = overrides.modelName ?? 'llama-3.1-70b';
  const modelVersion = overrides.modelVersion ?? 'v1';
  const region = overrides.region ?? 'us-east-1';
  return {
    kind: 'model',
    key: `${modelName}|${modelVersion}|${region}`,
    dimensions: { model_name: modelName, model_version: modelVersion, region },
    windowStart: T0 + i * MIN,
    windowEnd: T0 + (i + 1) * MIN,
    modelName,
    modelVersion,
    region,
    requests: 200,
    errors: 2,
    latencyP95Ms: 800,
    ttftP95Ms: 250,
    inputTokens: 40_000,
    outputTokens: 20_000,
    gpuSeconds: 480,
    cost: 0.8,
    ...overrides,
  };
}

export function spendWindow(i: number, cost: number, overrides: Partial<SpendWindow> = {}, windowMs = MIN): SpendWindow {
  return {
    kind: 'spend',
    scope: 'owner',
    key: 'ml-research|exp-42|prod',
    dimensions: { team: 'ml-research', experiment: 'exp-42', environment: 'prod' },
    windowStart: T0 + i * windowMs,
    windowEnd: T0 + (i + 1) * windowMs,
    cost,
    currency: 'USD',
    breakdown: [],
    ...overrides,
  };
}

export function gpuPoolWindow(i: number, utilizations: number[], overrides: Partial<GpuPoolWindow> = {}): GpuPoolWindow {
  return {
    kind: 'gpu_pool',
    key: 'prod-east|llama-3.1-70b|v1',
    dimensions: { cluster: 'prod-east', model_name: 'llama-3.1-70b', model_version: 'v1' },
    windowStart: T0 + i * MIN,
    windowEnd: T0 + (i + 1) * MIN,
    currency: 'USD',
    hourlyRatePerGpu: 4.1,
    gpus: utilizations.map((utilizationPct, g) => ({ gpu: `GPU-${g}`, node: `node-${Math.floor(g / 4)}`, utilizationPct, workload: 'inference' as const })),
    ...overrides,
  };
}

export function queueWindow(i: number, overrides: Partial<QueueWindow> = {}): QueueWindow {
  return {
    kind: 'queue',
    key: 'chat|llama-3.1-70b|v1|us-east-1',
    dimensions: { endpoint: 'chat', model_name: 'llama-3.1-70b', model_version: 'v1', region: 'us-east-1' },
    windowStart: T0 + i * MIN,
    windowEnd: T0 + (i + 1) * MIN,
    queueDepth: 2,
    running: 24,
    dequeued: 300,
    queueWaitMeanMs: 40,
    queueWaitP95Ms: 120,
    kvCacheUsage: 0.6,
    preemptions: 0,
    ...overrides,
  };
}

export function statuses(alerts: Alert[]): string[] {
  return alerts.map((a) => `${a.status}:${a.severity}`);
}
