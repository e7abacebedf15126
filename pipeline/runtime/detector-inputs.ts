import type { DetectorInput, GpuPoolWindow, ModelWindow, QueueWindow, SpendWindow, UnitPriceWindow } from '../../detectors/index.js';
import type { PriceUsage } from '../core/aggregates.js';
import { HOUR_MS, type MergedRollup } from '../core/stage-two.js';
import { seriesKey } from '../core/rollup-key.js';

const NANOS = 1e9;

/** One SKU's billed usage in a provider region's window as the price_change rule reads it. */
function unitPriceWindow(r: MergedRollup, usage: Readonly<PriceUsage>): UnitPriceWindow {
  const provider = r.key.dimensions.provider ?? '';
  const region = r.key.dimensions.region ?? '';
  const dimensions: Record<string, string> = { provider, region, sku_id: usage.skuId, pricing_unit: usage.pricingUnit };
  if (usage.instanceType) dimensions.instance_type = usage.instanceType;
  // Usage per hour over the charge periods the lines cover (an hour for a point-in-time charge).
  const periodMs = usage.chargePeriodEnd - usage.chargePeriodStart;
  return {
    key: [provider, region, usage.skuId, usage.pricingUnit, usage.currency].join('|'),
    dimensions,
    windowStart: r.windowStart,
    windowEnd: r.windowEnd,
    kind: 'unit_price',
    product: usage.instanceType || `SKU ${usage.skuId}`,
    currency: usage.currency,
    pricingUnit: usage.pricingUnit,
    listUnitPrice: usage.listCostNanos / NANOS / usage.pricingQuantity,
    effectiveShare: usage.effectiveCostNanos / usage.listCostNanos,
    quantityPerHour: (usage.pricingQuantity * HOUR_MS) / (periodMs > 0 ? periodMs : HOUR_MS),
    chargePeriodStart: usage.chargePeriodStart,
  };
}

/** One spend window with a one-line breakdown: the key's own cost. */
function spendWindow(r: MergedRollup, key: string, scope: SpendWindow['scope'], cost: number, currency: string): SpendWindow {
  return { key, dimensions: { ...r.key.dimensions }, windowStart: r.windowStart, windowEnd: r.windowEnd, kind: 'spend', scope, cost, currency, breakdown: [{ dimensions: { ...r.key.dimensions }, cost }] };
}

/** The GPUs serving the key (inference) or running its experiment (training) over the window. */
function gpuPoolWindow(r: MergedRollup, key: string, workload: 'inference' | 'training', currency: string): GpuPoolWindow {
  const { gpu, cost } = r.aggregate;
  const poolUtilizationPct = gpu.gpuSeconds > 0 ? gpu.utilizationSeconds / gpu.gpuSeconds : 0;
  return {
    key,
    dimensions: { ...r.key.dimensions },
    windowStart: r.windowStart,
    windowEnd: r.windowEnd,
    kind: 'gpu_pool',
    currency,
    hourlyRatePerGpu: gpu.gpuSeconds > 0 ? (cost.estimatedNanos / NANOS / gpu.gpuSeconds) * 3600 : 0,
    // Each GPU's own mean over the window; the pool's for a GPU without seconds of its own (only
    // partials from a stage 1 older than per-GPU usage carry such GPUs).
    gpus: [...gpu.gpus].map(([id, usage]) => ({ gpu: id, node: usage.node, utilizationPct: usage.gpuSeconds > 0 ? usage.utilizationSeconds / usage.gpuSeconds : poolUtilizationPct, workload, ...(usage.xidErrors > 0 ? { faulted: true } : {}) })),
  };
}

/**
 * The detectors' view of a closed minute: what each detector family reads, from one merged
 * rollup. Pure. Money here is in currency units as floats: detection needs shape, not cents;
 * the exact amounts stay in the rollups.
 */
export function detectorInputs(r: MergedRollup, currency: string): DetectorInput[] {
  const { tokens, queue, gpu, cost } = r.aggregate;
  const key = seriesKey(r.key);
  const spend = (cost.estimatedNanos + cost.egressNanos) / NANOS;
  const inputs: DetectorInput[] = [];
  // Every input is written out as one literal, each with its own copy of the dimensions: spreading
  // a shared window object and adding fields to the copy took most of this function's time.
  if (r.key.kind === 'model') {
    const model: ModelWindow = {
      key,
      dimensions: { ...r.key.dimensions },
      windowStart: r.windowStart,
      windowEnd: r.windowEnd,
      kind: 'model',
      modelName: r.key.dimensions.model_name ?? '',
      modelVersion: r.key.dimensions.model_version ?? '',
      region: r.key.dimensions.region ?? '',
      requests: tokens.requests,
      errors: tokens.errors,
      latencyP95Ms: tokens.latency.quantile(0.95),
      ttftP95Ms: tokens.timeToFirstToken.count > 0 ? tokens.timeToFirstToken.quantile(0.95) : null,
      inputTokens: tokens.inputTokens,
      outputTokens: tokens.outputTokens,
      gpuSeconds: gpu.gpuSeconds,
      cost: spend,
    };
    inputs.push(model);
    if (queue.samples > 0) {
      const q: QueueWindow = {
        key,
        dimensions: { ...r.key.dimensions },
        windowStart: r.windowStart,
        windowEnd: r.windowEnd,
        kind: 'queue',
        queueDepth: queue.depthSum / queue.samples,
        running: queue.runningSum / queue.samples,
        dequeued: queue.waitCount,
        queueWaitMeanMs: queue.waitCount > 0 ? queue.waitSumMs / queue.waitCount : null,
        queueWaitP95Ms: queue.waitP95.count > 0 ? queue.waitP95.quantile(0.95) : null,
        kvCacheUsage: queue.kvCacheSum / queue.samples,
        preemptions: queue.preemptions,
      };
      inputs.push(q);
    }
    if (spend > 0) inputs.push(spendWindow(r, key, 'model', spend, currency));
    if (cost.egressNanos > 0) inputs.push(spendWindow(r, `${key}|egress`, 'egress', cost.egressNanos / NANOS, currency));
    if (gpu.samples > 0) inputs.push(gpuPoolWindow(r, key, 'inference', currency));
  } else if (r.key.kind === 'owner') {
    if (spend > 0) inputs.push(spendWindow(r, key, 'owner', spend, currency));
    if (gpu.samples > 0 && r.key.dimensions.experiment) inputs.push(gpuPoolWindow(r, key, 'training', currency));
  } else if (r.key.kind === 'provider_region') {
    for (const usage of r.aggregate.prices.values()) if (usage.pricingQuantity > 0 && usage.listCostNanos > 0) inputs.push(unitPriceWindow(r, usage));
  }
  return inputs;
}
