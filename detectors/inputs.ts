import { z } from 'zod';

/**
 * What the detectors consume: rollup-shaped records, one per key and tumbling window, in window
 * order per key. The pipeline maps its rollups onto these; `costline detect` and tests build them
 * directly. Money is a plain number in currency units: precise enough to detect with (exact sums
 * live in the rollups).
 */

/** One window of one key: what every input has. */
export interface KeyedWindow {
  /** The key as text, also the key of alerts about it (e.g. llama-3.1-70b|v2|us-east-1). */
  key: string;
  /** The key's dimensions by name (model_name, model_version, region, team, experiment, ...). */
  dimensions: Record<string, string>;
  /** Window start, event time in ms since the epoch. */
  windowStart: number;
  /** Window end (exclusive), event time in ms. */
  windowEnd: number;
}

/** Performance and cost of one model version in one region over one window (token rollup × cost). */
export interface ModelWindow extends KeyedWindow {
  kind: 'model';
  modelName: string;
  modelVersion: string;
  region: string;
  requests: number;
  errors: number;
  latencyP95Ms: number;
  /** Time to first token, p95; null when no request in the window streamed. */
  ttftP95Ms: number | null;
  inputTokens: number;
  outputTokens: number;
  /** GPU-seconds serving this key in the window; 0 when unknown (tokens per GPU-second is then skipped). */
  gpuSeconds: number;
  /** Estimated (or billed) cost of the window, currency units. */
  cost: number;
}

/** How much one contributor (an experiment in a region, a model version, ...) adds to a spend window. */
export interface CostContribution {
  dimensions: Record<string, string>;
  cost: number;
}

/**
 * Spend of one owner (team, experiment, environment), one model version in one region, or egress,
 * over one window, with the contributors it breaks down into (for evidence: who is spending).
 */
export interface SpendWindow extends KeyedWindow {
  kind: 'spend';
  scope: 'owner' | 'model' | 'egress';
  cost: number;
  currency: string;
  /** The cost by contributing dimension; may be empty, need not be exhaustive. */
  breakdown: CostContribution[];
}

export type GpuWorkload = 'inference' | 'training' | 'unassigned' | 'other';

/** One GPU of a pool over one window. */
export interface GpuUtilization {
  /** Stable id of the device (DCGM UUID). */
  gpu: string;
  node: string;
  /** Mean DCGM GPU utilization over the window, percent 0-100. */
  utilizationPct: number;
  workload: GpuWorkload;
  /** What the GPU costs per hour, currency units; the pool's rate when absent. */
  hourlyRate?: number;
  /**
   * DCGM reported an XID error code for the GPU in the window (last_xid set: fell off the bus,
   * double-bit ECC, ...): it is broken, not idle, and is not counted as waste. Absent: healthy.
   */
  faulted?: boolean;
}

/** The GPUs of one pool (a cluster's allocation to a model version, a team, a training job) over one window. */
export interface GpuPoolWindow extends KeyedWindow {
  kind: 'gpu_pool';
  currency: string;
  /** What one GPU of the pool costs per hour, currency units. */
  hourlyRatePerGpu: number;
  gpus: GpuUtilization[];
}

/** Scheduler state of one inference endpoint (all its replicas) over one window, vLLM's meanings. */
export interface QueueWindow extends KeyedWindow {
  kind: 'queue';
  /** Mean requests waiting (num_requests_waiting summed over replicas, averaged over the window). */
  queueDepth: number;
  /** Mean requests in the running batch. */
  running: number;
  /** Requests that left the queue in the window. */
  dequeued: number;
  /** Mean queue wait of those requests, ms; null when none left the queue. */
  queueWaitMeanMs: number | null;
  /** Largest per-sample p95 of queue wait in the window, ms; null when none. */
  queueWaitP95Ms: number | null;
  /** KV-cache usage, 0-1 (mean over replicas and the window). */
  kvCacheUsage: number;
  /** Requests preempted for lack of KV-cache in the window. */
  preemptions: number;
}

/**
 * The list unit price of one SKU (in one pricing unit and currency) in one provider region, from
 * the usage billing lines that arrived in one window: billing for a charge period lands after it
 * ends, so the window is the delivery's, and the charge periods it covers are said apart.
 */
export interface UnitPriceWindow extends KeyedWindow {
  kind: 'unit_price';
  /** What people call the SKU: its instance type when known, else its SKU id. */
  product: string;
  currency: string;
  /** FOCUS PricingUnit (Hours, GB, ...). */
  pricingUnit: string;
  /** List cost over pricing quantity of the window's lines: currency units per pricing unit. */
  listUnitPrice: number;
  /** Effective cost over list cost: the share of the list price paid after discounts and commitments. */
  effectiveShare: number;
  /** Pricing quantity per hour of the charge periods the lines cover: the SKU's current usage. */
  quantityPerHour: number;
  /** The earliest charge period start of the lines (event time, ms): since when the price applies at the latest. */
  chargePeriodStart: number;
}

export type DetectorInput = ModelWindow | SpendWindow | GpuPoolWindow | QueueWindow | UnitPriceWindow;
export type DetectorInputKind = DetectorInput['kind'];

/** The five model metrics regressions are judged on, each with the direction that is worse. */
export const MODEL_METRICS = {
  latency_p95_ms: { worse: 'higher', label: 'latency p95', unit: 'ms' },
  ttft_p95_ms: { worse: 'higher', label: 'time to first token p95', unit: 'ms' },
  tokens_per_gpu_second: { worse: 'lower', label: 'tokens per second per GPU', unit: 'tokens/s' },
  error_rate: { worse: 'higher', label: 'error rate', unit: '' },
  cost_per_1k_tokens: { worse: 'higher', label: 'cost per 1k tokens', unit: '' },
} as const satisfies Record<string, { worse: 'higher' | 'lower'; label: string; unit: string }>;

export type ModelMetric = keyof typeof MODEL_METRICS;
export const MODEL_METRIC_NAMES = Object.keys(MODEL_METRICS) as ModelMetric[];

/**
 * The smallest change of each model metric worth a person's attention, in the metric's unit: about
 * the smallest delay a person notices (100 ms), one error in a hundred requests. Tokens per
 * second per GPU and cost per 1k tokens have none here: their floor is the money at stake per hour.
 */
export const MIN_ABSOLUTE_CHANGE: Record<ModelMetric, number> = { latency_p95_ms: 100, ttft_p95_ms: 100, tokens_per_gpu_second: 0, error_rate: 0.01, cost_per_1k_tokens: 0 };

/** A per-metric absolute floor setting (minAbsoluteChange), each metric defaulting to MIN_ABSOLUTE_CHANGE. */
export function minAbsoluteChangeSchema() {
  const shape = Object.fromEntries(MODEL_METRIC_NAMES.map((metric) => [metric, z.number().min(0).default(MIN_ABSOLUTE_CHANGE[metric])])) as Record<ModelMetric, z.ZodDefault<z.ZodNumber>>;
  return z.strictObject(shape).default({ ...MIN_ABSOLUTE_CHANGE });
}

/** The metric's value in the window, or undefined when the window cannot say (no requests, no tokens). */
export function modelMetric(window: ModelWindow, metric: ModelMetric): number | undefined {
  switch (metric) {
    case 'latency_p95_ms':
      return window.requests > 0 ? window.latencyP95Ms : undefined;
    case 'ttft_p95_ms':
      return window.requests > 0 && window.ttftP95Ms !== null ? window.ttftP95Ms : undefined;
    case 'tokens_per_gpu_second':
      return window.gpuSeconds > 0 ? window.outputTokens / window.gpuSeconds : undefined;
    case 'error_rate':
      return window.requests > 0 ? window.errors / window.requests : undefined;
    case 'cost_per_1k_tokens': {
      const tokens = window.inputTokens + window.outputTokens;
      return tokens > 0 ? (window.cost / tokens) * 1000 : undefined;
    }
  }
}
