import type { GpuSample } from '../../schemas/index.js';
import type { LearnedRateVersion } from './learned-rates.js';

export const NANOS_PER_UNIT = 1_000_000_000;

/** A configured price: per GPU-hour for an instance type (optionally per region), in currency units. */
export interface GpuRate {
  provider: string;
  instanceType: string;
  region?: string;
  perGpuHour: number;
}

export interface RateCardSettings {
  gpuRates: GpuRate[];
  /** Used for a GPU whose instance type no rate names: the estimate must not silently be zero. */
  defaultPerGpuHour: number;
  egressPerGb: number;
}

/**
 * Well-known on-demand prices per GPU-hour (instance price / GPUs per instance), us-east-1 or
 * the provider's reference region, as published by the providers in 2025. A configured rate
 * for the same instance type wins.
 */
export const BUILT_IN_GPU_RATES: GpuRate[] = [
  { provider: 'aws', instanceType: 'p5.48xlarge', perGpuHour: 98.32 / 8 },
  { provider: 'aws', instanceType: 'p4d.24xlarge', perGpuHour: 32.77 / 8 },
  { provider: 'aws', instanceType: 'p4de.24xlarge', perGpuHour: 40.96 / 8 },
  { provider: 'aws', instanceType: 'g5.12xlarge', perGpuHour: 5.672 / 4 },
  { provider: 'aws', instanceType: 'g6e.12xlarge', perGpuHour: 10.493 / 4 },
  { provider: 'gcp', instanceType: 'a3-highgpu-8g', perGpuHour: 88.25 / 8 },
  { provider: 'gcp', instanceType: 'a2-highgpu-1g', perGpuHour: 3.67 },
  { provider: 'azure', instanceType: 'Standard_ND96isr_H100_v5', perGpuHour: 98.32 / 8 },
];

/** Providers as billing exports name them (FOCUS ProviderName: "AWS", "Google Cloud", "Microsoft") and as people do. */
export function canonicalProvider(name: string): string {
  const lower = name.trim().toLowerCase();
  if (lower === 'aws' || lower.startsWith('amazon')) return 'aws';
  if (lower === 'gcp' || lower.startsWith('google')) return 'gcp';
  if (lower === 'azure' || lower.startsWith('microsoft')) return 'azure';
  if (lower.startsWith('oracle') || lower === 'oci') return 'oci';
  return lower;
}

/**
 * Prices GPU time and egress for the real-time cost estimate. A GPU-second is priced, in order, by
 * a configured rate (this region, then any region), the rate learned from billing for its instance
 * type and region (see learned-rates.ts), the built-in list price, and the default. Deterministic:
 * a learned version applies from its `effectiveFrom` event time on, which lies ahead of the moment
 * it was learned, so a replay prices every sample exactly as the first pass did.
 */
export class RateCard {
  private readonly configured = new Map<string, number>();
  private readonly builtIn = new Map<string, number>();
  /** Learned versions, oldest first: nano-units per GPU-second by lookup key. */
  private learned: Array<{ effectiveFrom: number; nanosPerGpuSecond: Map<string, number> }> = [];
  private readonly defaultNanosPerGpuSecond: number;
  readonly egressNanosPerByte: number;

  constructor(settings: RateCardSettings) {
    for (const rate of BUILT_IN_GPU_RATES) this.builtIn.set(this.lookupKey(rate.provider, rate.instanceType, rate.region), perSecondNanos(rate.perGpuHour));
    for (const rate of settings.gpuRates) this.configured.set(this.lookupKey(rate.provider, rate.instanceType, rate.region), perSecondNanos(rate.perGpuHour));
    this.defaultNanosPerGpuSecond = perSecondNanos(settings.defaultPerGpuHour);
    this.egressNanosPerByte = (settings.egressPerGb * NANOS_PER_UNIT) / 1e9;
  }

  private lookupKey(provider: string, instanceType: string, region?: string): string {
    return `${canonicalProvider(provider)}|${instanceType}|${region ?? '*'}`;
  }

  /** Replaces the learned versions (all of them: a reload reads the whole table). */
  setLearnedRates(versions: readonly LearnedRateVersion[]): void {
    this.learned = [...versions]
      .sort((a, b) => a.effectiveFrom - b.effectiveFrom)
      .map((v) => ({ effectiveFrom: v.effectiveFrom, nanosPerGpuSecond: new Map(v.rates.map((r) => [this.lookupKey(r.provider, r.instanceType, r.region), perSecondNanos(r.perGpuHour)])) }));
  }

  private learnedNanosPerGpuSecond(key: string, eventTime: number): number | undefined {
    for (let i = this.learned.length - 1; i >= 0; i--) {
      const version = this.learned[i]!;
      if (version.effectiveFrom <= eventTime) return version.nanosPerGpuSecond.get(key);
    }
    return undefined;
  }

  /** Estimated cost of one GPU sample, whole nano-units (rounded per sample, so sums are exact integers). */
  gpuSampleNanos(sample: GpuSample): number {
    const instance = sample.instance_type ?? '';
    const regional = this.lookupKey(sample.provider, instance, sample.region);
    const anyRegion = this.lookupKey(sample.provider, instance);
    const perSecond =
      this.configured.get(regional) ??
      this.configured.get(anyRegion) ??
      (this.learned.length > 0 ? this.learnedNanosPerGpuSecond(regional, sample.event_time) : undefined) ??
      this.builtIn.get(regional) ??
      this.builtIn.get(anyRegion) ??
      this.defaultNanosPerGpuSecond;
    return Math.round((perSecond * sample.sample_interval_ms) / 1000);
  }

  egressNanos(bytes: number): number {
    return Math.round(bytes * this.egressNanosPerByte);
  }
}

const perSecondNanos = (perHour: number) => (perHour * NANOS_PER_UNIT) / 3600;
