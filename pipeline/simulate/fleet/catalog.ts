/**
 * What a simulated fleet is made of: cloud regions, GPU classes, instance types with their
 * on-demand list prices, the models served and how fast they run on each GPU class, the teams.
 * Plain data; the fleet builder (fleet.ts) picks from it.
 */

export type Provider = 'aws' | 'gcp' | 'azure';

export interface RegionSpec {
  id: string;
  /** Short form used in cluster names (use1, euw1, usc1, weu, ...). */
  short: string;
  /** Display name, as FOCUS RegionName. */
  displayName: string;
  provider: Provider;
  /** IANA time zone: the daily load cycle follows the local clock of the users near the region. */
  timeZone: string;
  /** Relative share of user traffic (before normalising over the regions in the fleet). */
  trafficWeight: number;
  /** Regional list price as a percentage of the us-east one (approximate: providers price regions a few to 25% apart). */
  pricePercent: number;
  /** Availability zone (or zone) the clusters of this region run in. */
  zone: string;
}

/** In the order `--regions <n>` takes them: AWS first, then one GCP and one Azure region, then the rest. */
export const REGIONS: readonly RegionSpec[] = [
  { id: 'us-east-1', short: 'use1', displayName: 'US East (N. Virginia)', provider: 'aws', timeZone: 'America/New_York', trafficWeight: 0.34, pricePercent: 100, zone: 'us-east-1a' },
  { id: 'eu-west-1', short: 'euw1', displayName: 'Europe (Ireland)', provider: 'aws', timeZone: 'Europe/Dublin', trafficWeight: 0.2, pricePercent: 110, zone: 'eu-west-1b' },
  { id: 'us-west-2', short: 'usw2', displayName: 'US West (Oregon)', provider: 'aws', timeZone: 'America/Los_Angeles', trafficWeight: 0.18, pricePercent: 100, zone: 'us-west-2c' },
  { id: 'us-central1', short: 'usc1', displayName: 'Iowa', provider: 'gcp', timeZone: 'America/Chicago', trafficWeight: 0.12, pricePercent: 100, zone: 'us-central1-a' },
  { id: 'westeurope', short: 'weu', displayName: 'West Europe', provider: 'azure', timeZone: 'Europe/Amsterdam', trafficWeight: 0.1, pricePercent: 110, zone: 'westeurope-1' },
  { id: 'ap-northeast-1', short: 'apne1', displayName: 'Asia Pacific (Tokyo)', provider: 'aws', timeZone: 'Asia/Tokyo', trafficWeight: 0.12, pricePercent: 125, zone: 'ap-northeast-1a' },
  { id: 'eu-central-1', short: 'euc1', displayName: 'Europe (Frankfurt)', provider: 'aws', timeZone: 'Europe/Berlin', trafficWeight: 0.1, pricePercent: 115, zone: 'eu-central-1a' },
  { id: 'europe-west4', short: 'euw4', displayName: 'Netherlands', provider: 'gcp', timeZone: 'Europe/Amsterdam', trafficWeight: 0.08, pricePercent: 110, zone: 'europe-west4-a' },
  { id: 'eastus', short: 'eus', displayName: 'East US', provider: 'azure', timeZone: 'America/New_York', trafficWeight: 0.1, pricePercent: 100, zone: 'eastus-2' },
];

export type GpuClassName = 'H100' | 'A100-40GB' | 'A100-80GB' | 'L40S' | 'A10G';

export interface GpuClass {
  name: GpuClassName;
  /** The gpu_model of GPU samples: DCGM's device name normalised the way the rate card names it. */
  model: string;
  memoryMiB: number;
  tdpWatts: number;
  idleWatts: number;
}

export const GPU_CLASSES: Record<GpuClassName, GpuClass> = {
  H100: { name: 'H100', model: 'H100-SXM5-80GB', memoryMiB: 81_559, tdpWatts: 700, idleWatts: 70 },
  'A100-40GB': { name: 'A100-40GB', model: 'A100-SXM4-40GB', memoryMiB: 40_960, tdpWatts: 400, idleWatts: 55 },
  'A100-80GB': { name: 'A100-80GB', model: 'A100-PCIE-80GB', memoryMiB: 81_920, tdpWatts: 300, idleWatts: 45 },
  L40S: { name: 'L40S', model: 'L40S', memoryMiB: 46_068, tdpWatts: 350, idleWatts: 35 },
  A10G: { name: 'A10G', model: 'A10G', memoryMiB: 23_028, tdpWatts: 300, idleWatts: 25 },
};

export interface InstanceType {
  name: string;
  provider: Provider;
  gpuClass: GpuClassName;
  gpusPerNode: number;
  /**
   * On-demand Linux list price in us-east (or the provider's cheapest US region), US dollars
   * per hour, as a decimal string so that no float ever touches money.
   */
  hourlyPriceUsd: string;
}

/*
 * List prices (on-demand, Linux, USD per instance-hour). Sources, checked when written:
 * - AWS p5.48xlarge 98.32 and p4d.24xlarge 32.77: usage.ai, "GPU instance cost optimization"
 *   (2026: "p4d.24xlarge ... approximately $32.77 per hour", "H100 instance on AWS runs
 *   approximately $98.32 per hour"); awsnegotiations.com lists p5.48xlarge at ~$98.30/hr. AWS cut
 *   P5 prices by up to 45% in June 2025 (usage.ai, "LLM cost optimization on AWS"); the simulator
 *   keeps the long-standing list price, and the `price-change` incident models such a change.
 * - AWS g5.12xlarge 5.672 and g6e.12xlarge 10.49264: aws.amazon.com/ec2/pricing/on-demand (us-east-1;
 *   g5.xlarge is 1.006 there, as factualminds.com's 2026 EC2 pricing overview also quotes).
 * - GCP a3-highgpu-8g 88.25 (public calculators quote 87.83 to 88.25; 88.25 is what costline's
 *   built-in rate card in pipeline/core/rate-card.ts uses, so estimates and bills agree), a2-highgpu-8g
 *   29.39, a2-highgpu-1g 3.67: cloud.google.com/compute/vm-instance-pricing (us-central1).
 * - Azure ND96isr H100 v5 98.32, ND96asr A100 v4 27.197, NC24ads A100 v4 3.673:
 *   azure.microsoft.com/pricing/details/virtual-machines/linux (East US).
 */
export const INSTANCE_TYPES: readonly InstanceType[] = [
  { name: 'p5.48xlarge', provider: 'aws', gpuClass: 'H100', gpusPerNode: 8, hourlyPriceUsd: '98.32' },
  { name: 'p4d.24xlarge', provider: 'aws', gpuClass: 'A100-40GB', gpusPerNode: 8, hourlyPriceUsd: '32.7726' },
  { name: 'g6e.12xlarge', provider: 'aws', gpuClass: 'L40S', gpusPerNode: 4, hourlyPriceUsd: '10.49264' },
  { name: 'g5.12xlarge', provider: 'aws', gpuClass: 'A10G', gpusPerNode: 4, hourlyPriceUsd: '5.672' },
  { name: 'a3-highgpu-8g', provider: 'gcp', gpuClass: 'H100', gpusPerNode: 8, hourlyPriceUsd: '88.25' },
  { name: 'a2-highgpu-8g', provider: 'gcp', gpuClass: 'A100-40GB', gpusPerNode: 8, hourlyPriceUsd: '29.39' },
  { name: 'a2-highgpu-1g', provider: 'gcp', gpuClass: 'A100-40GB', gpusPerNode: 1, hourlyPriceUsd: '3.67' },
  { name: 'Standard_ND96isr_H100_v5', provider: 'azure', gpuClass: 'H100', gpusPerNode: 8, hourlyPriceUsd: '98.32' },
  { name: 'Standard_ND96asr_v4', provider: 'azure', gpuClass: 'A100-40GB', gpusPerNode: 8, hourlyPriceUsd: '27.197' },
  { name: 'Standard_NC24ads_A100_v4', provider: 'azure', gpuClass: 'A100-80GB', gpusPerNode: 1, hourlyPriceUsd: '3.673' },
];

/**
 * Internet egress, USD per GB, first pricing tier: AWS $0.09 (first 10 TB/month, us-east-1),
 * Google Cloud premium tier $0.12 (North America, first TB), Azure $0.087 (first 10 TB).
 */
export const EGRESS_PRICE_PER_GB: Record<Provider, string> = { aws: '0.09', gcp: '0.12', azure: '0.087' };

/** How the provider names itself and its services in a FOCUS export. */
export interface ProviderBilling {
  /** FOCUS ProviderName, also the provider of GPU samples. */
  providerName: string;
  computeService: string;
  networkService: string;
  computeResourceType: string;
  billingAccountId: string;
  /** The AWS account, GCP project or Azure subscription the fleet's resources live in (FOCUS SubAccountId). */
  subAccountId: string;
}

export const PROVIDER_BILLING: Record<Provider, ProviderBilling> = {
  aws: { providerName: 'AWS', computeService: 'Amazon Elastic Compute Cloud', networkService: 'AWS Data Transfer', computeResourceType: 'Instance', billingAccountId: '123456789012', subAccountId: '210987654321' },
  gcp: { providerName: 'Google Cloud', computeService: 'Compute Engine', networkService: 'Networking', computeResourceType: 'Compute Instance', billingAccountId: '01A2B3-C4D5E6-F7A8B9', subAccountId: 'costline-sim-prod' },
  azure: { providerName: 'Microsoft', computeService: 'Virtual Machines', networkService: 'Bandwidth', computeResourceType: 'Virtual machine', billingAccountId: '8d6a7e52-4c1f-4b9e-9f3a-2b7d1c0e5a91', subAccountId: '5f0c2a1e-7d4b-4c3e-9a8f-1b2c3d4e5f60' },
};

/** How fast one replica of a model runs on one GPU class (continuous batching, vLLM-style). */
export interface ServingProfile {
  gpusPerReplica: number;
  /** Concurrent sequences a replica batches (vLLM max_num_seqs): the servers of the M/M/c model. */
  batchSlots: number;
  /** Time per output token with a near-empty batch, ms. */
  decodeMsPerToken: number;
  /** Decode time grows with batch fill: at a full batch it is decodeMsPerToken × (1 + batchSlowdown). */
  batchSlowdown: number;
  /** Prompt tokens per second one replica prefills. */
  prefillTokensPerSecond: number;
  /** Weights and runtime per GPU, MiB (the rest of the framebuffer is KV cache, used as load needs it). */
  weightsMiBPerGpu: number;
}

export interface TokenShape {
  /** Log-normal prompt length: median and log-space spread. */
  inputMedian: number;
  inputSigma: number;
  outputMedian: number;
  outputSigma: number;
  /** Share of prompt tokens served from the prefix cache. */
  cachedShare: number;
}

export interface ModelSpec {
  name: string;
  /** The version serving before the simulation starts and the one rolling out during it. */
  stableVersion: string;
  rolloutVersion: string;
  endpoint: string;
  team: string;
  operation: string;
  /** Share of a region's serving GPUs this model gets. */
  gpuShare: number;
  /** GPU classes it is deployed on, preferred first; each provider uses the first it offers. */
  profiles: Partial<Record<GpuClassName, ServingProfile>>;
  tokens: TokenShape;
}

export const MODELS: readonly ModelSpec[] = [
  {
    name: 'llama-3.1-70b-instruct',
    stableVersion: '2025-06-12.1',
    rolloutVersion: '2025-07-03.2',
    endpoint: 'chat',
    team: 'assistant',
    operation: 'chat',
    gpuShare: 0.45,
    profiles: {
      H100: { gpusPerReplica: 8, batchSlots: 48, decodeMsPerToken: 22, batchSlowdown: 1.2, prefillTokensPerSecond: 12_000, weightsMiBPerGpu: 19_000 },
      'A100-40GB': { gpusPerReplica: 8, batchSlots: 24, decodeMsPerToken: 38, batchSlowdown: 1.2, prefillTokensPerSecond: 5_000, weightsMiBPerGpu: 19_000 },
    },
    tokens: { inputMedian: 900, inputSigma: 0.9, outputMedian: 250, outputSigma: 0.7, cachedShare: 0.35 },
  },
  {
    name: 'mixtral-8x7b-instruct',
    stableVersion: '2025-05-20.4',
    rolloutVersion: '2025-07-01.1',
    endpoint: 'summarize',
    team: 'search',
    operation: 'chat',
    gpuShare: 0.25,
    profiles: {
      'A100-40GB': { gpusPerReplica: 4, batchSlots: 32, decodeMsPerToken: 24, batchSlowdown: 1.1, prefillTokensPerSecond: 8_000, weightsMiBPerGpu: 24_000 },
      H100: { gpusPerReplica: 4, batchSlots: 48, decodeMsPerToken: 14, batchSlowdown: 1.1, prefillTokensPerSecond: 16_000, weightsMiBPerGpu: 24_000 },
    },
    tokens: { inputMedian: 3_000, inputSigma: 0.6, outputMedian: 300, outputSigma: 0.5, cachedShare: 0.1 },
  },
  {
    name: 'llama-3.1-8b-instruct',
    stableVersion: '2025-06-02.3',
    rolloutVersion: '2025-06-30.1',
    endpoint: 'chat-lite',
    team: 'growth',
    operation: 'chat',
    gpuShare: 0.15,
    profiles: {
      L40S: { gpusPerReplica: 1, batchSlots: 32, decodeMsPerToken: 14, batchSlowdown: 1, prefillTokensPerSecond: 9_000, weightsMiBPerGpu: 16_500 },
      'A100-80GB': { gpusPerReplica: 1, batchSlots: 48, decodeMsPerToken: 11, batchSlowdown: 1, prefillTokensPerSecond: 12_000, weightsMiBPerGpu: 16_500 },
      'A100-40GB': { gpusPerReplica: 1, batchSlots: 32, decodeMsPerToken: 12, batchSlowdown: 1, prefillTokensPerSecond: 10_000, weightsMiBPerGpu: 16_500 },
    },
    tokens: { inputMedian: 500, inputSigma: 0.8, outputMedian: 180, outputSigma: 0.7, cachedShare: 0.25 },
  },
  {
    name: 'qwen2.5-coder-7b',
    stableVersion: '2025-04-28.2',
    rolloutVersion: '2025-07-02.1',
    endpoint: 'code-complete',
    team: 'devex',
    operation: 'text_completion',
    gpuShare: 0.15,
    profiles: {
      A10G: { gpusPerReplica: 1, batchSlots: 16, decodeMsPerToken: 18, batchSlowdown: 0.9, prefillTokensPerSecond: 5_000, weightsMiBPerGpu: 15_500 },
      'A100-80GB': { gpusPerReplica: 1, batchSlots: 48, decodeMsPerToken: 10, batchSlowdown: 0.9, prefillTokensPerSecond: 12_000, weightsMiBPerGpu: 15_500 },
      'A100-40GB': { gpusPerReplica: 1, batchSlots: 32, decodeMsPerToken: 11, batchSlowdown: 0.9, prefillTokensPerSecond: 10_000, weightsMiBPerGpu: 15_500 },
    },
    tokens: { inputMedian: 1_800, inputSigma: 0.7, outputMedian: 24, outputSigma: 0.8, cachedShare: 0.5 },
  },
];

/** Training and fine-tuning: who runs experiments, on what. */
export interface ExperimentSpec {
  team: string;
  experiment: string;
  job: string;
  /** The model being trained (the model_name of the job's GPU samples). */
  model: string;
  gpuClass: GpuClassName;
  /** Share of the fleet's training GPUs. */
  share: number;
}

export const EXPERIMENTS: readonly ExperimentSpec[] = [
  { team: 'ml-research', experiment: 'exp-pretrain-13b-0612', job: 'pretrain-13b', model: 'atlas-13b-base', gpuClass: 'H100', share: 0.45 },
  { team: 'assistant', experiment: 'exp-rlhf-70b-0701', job: 'rlhf-70b', model: 'llama-3.1-70b-instruct', gpuClass: 'H100', share: 0.25 },
  { team: 'recsys', experiment: 'exp-ranker-distill-0624', job: 'ranker-distill', model: 'ranker-xl', gpuClass: 'A100-40GB', share: 0.15 },
  { team: 'search', experiment: 'exp-embed-ft-0628', job: 'embed-finetune', model: 'bge-large-en-v1.5', gpuClass: 'A100-40GB', share: 0.15 },
];

/** The team that owns shared capacity (notebooks, the warm pool): no model, no experiment. */
export const PLATFORM_TEAM = 'platform';
