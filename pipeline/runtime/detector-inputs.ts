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

/**
 * The detectors' view of a closed minute: what each detector family reads, from one merged
 * rollup. Pure. Money here is in currency units as floats: detection needs shape, not cents;
 * the exact amounts stay in the rollups.
 */
export function detectorInputs(r: MergedRollup, currency: string): DetectorInput[] {
  const { tokens, queue, gpu, cost } = r.aggregate;
  const key = seriesKey(r.key);
  const window = { key, dimensions: { ...r.key.dimensions }, windowStart: r.windowStart, windowEnd: r.windowEnd };
  const spend = (cost.estimatedNanos + cost.egressNanos) / NANOS;
  const inputs: DetectorInput[] = [];
  const hourlyRatePerGpu = gpu.gpuSeconds > 0 ? (cost.estimatedNanos / NANOS / gpu.gpuSeconds) * 3600 : 0;
  const poolUtilizationPct = gpu.gpuSeconds > 0 ? gpu.utilizationSeconds / gpu.gpuSeconds : 0;
  const pool = (workload: 'inference' | 'training'): GpuPoolWindow => ({
    ...window,
    kind: 'gpu_pool',
    currency,
    hourlyRatePerGpu,
    // Each GPU's own mean over the window; the pool's for a GPU without seconds of its own (only
    // partials from a stage 1 older than per-GPU usage carry such GPUs).
    gpus: [...gpu.gpus].map(([id, usage]) => ({ gpu: id, node: usage.node, utilizationPct: usage.gpuSeconds > 0 ? usage.utilizationSeconds / usage.gpuSeconds : poolUtilizationPct, workload, ...(usage.xidErrors > 0 ? { faulted: true } : {}) })),
  });
  if (r.key.kind === 'model') {
    const model: ModelWindow = {
      ...window,
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
        ...window,
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
    if (spend > 0) {
      const modelSpend: SpendWindow = { ...window, kind: 'spend', scope: 'model', cost: spend, currency, breakdown: [{ dimensions: { ...r.key.dimensions }, cost: spend }] };
      inputs.push(modelSpend);
    }
    if (cost.egressNanos > 0) inputs.push({ ...window, key: `${key}|egress`, kind: 'spend', scope: 'egress', cost: cost.egressNanos / NANOS, currency, breakdown: [{ dimensions: { ...r.key.dimensions }, cost: cost.egressNanos / NANOS }] });
    if (gpu.samples > 0) inputs.push(pool('inference'));
  } else if (r.key.kind === 'owner') {
    if (spend > 0) inputs.push({ ...window, kind: 'spend', scope: 'owner', cost: spend, currency, breakdown: [{ dimensions: { ...r.key.dimensions }, cost: spend }] });
    if (gpu.samples > 0 && r.key.dimensions.experiment) inputs.push(pool('training'));
  } else if (r.key.kind === 'provider_region') {
    for (const usage of r.aggregate.prices.values()) if (usage.pricingQuantity > 0 && usage.listCostNanos > 0) inputs.push(unitPriceWindow(r, usage));
  }
  return inputs;
}
