import { multiplyByRatio, parseMoney, type MoneyUnits } from '../../core/money.js';
import {
  EXPERIMENTS,
  GPU_CLASSES,
  INSTANCE_TYPES,
  MODELS,
  PLATFORM_TEAM,
  PROVIDER_BILLING,
  REGIONS,
  type ExperimentSpec,
  type GpuClass,
  type InstanceType,
  type ModelSpec,
  type Provider,
  type RegionSpec,
  type ServingProfile,
} from './catalog.js';
import { capacityOf, meanTokens, rateAtUtilization, TARGET_PEAK_UTILIZATION } from './serving.js';
import { hash32, hexId } from './streams.js';

/**
 * The static fleet: regions, clusters, GPU nodes and what each is allocated to (an endpoint's
 * replica set, a training job, or the shared notebook pool). Built from a seed and a size; the
 * same options always build the same fleet, ids included.
 */

export interface Cluster {
  name: string;
  region: RegionSpec;
  purpose: 'inference' | 'training' | 'notebooks';
}

export type NodeAssignment =
  | { workload: 'inference'; deployment: Deployment; slot: number }
  | { workload: 'training'; job: TrainingJob }
  | { workload: 'notebook' };

export interface GpuNode {
  /** FOCUS ResourceId: the Kafka key of the node's GPU samples and of its billing lines. */
  resourceId: string;
  /** Kubernetes node name (dcgm-exporter's Hostname). */
  nodeName: string;
  cluster: Cluster;
  region: RegionSpec;
  instanceType: InstanceType;
  gpuClass: GpuClass;
  gpuUuids: string[];
  /** On-demand list price of the instance in its region, per hour, exact. */
  hourlyPrice: MoneyUnits;
  team: string;
  environment: string;
  assignment: NodeAssignment;
  /** Event time the node came up, when it did so during the run (scale-out); before the run otherwise. */
  launchedAtMs?: number;
  /** Event time the node was released, when it was released during the run. */
  terminatedAtMs?: number;
}

/** One endpoint's replicas of one model in one region; during a rollout its nodes split between two versions. */
export interface Deployment {
  /** endpoint|region */
  id: string;
  model: ModelSpec;
  region: RegionSpec;
  cluster: Cluster;
  instanceType: InstanceType;
  profile: ServingProfile;
  replicasPerNode: number;
  nodes: GpuNode[];
  /** Requests per second the deployment is sized for at its regional peak (slot utilisation TARGET_PEAK_UTILIZATION). */
  sizedPeakRate: number;
  /** Its share of the fleet's traffic: sizedPeakRate over the fleet's sum, so every deployment peaks at the same utilisation. */
  trafficShare: number;
  /** The load balancer in front of the endpoint: the resource its internet egress is billed to. */
  egressResourceId: string;
}

export interface TrainingJob {
  id: string;
  spec: ExperimentSpec;
  region: RegionSpec;
  cluster: Cluster;
  instanceType: InstanceType;
  nodes: GpuNode[];
}

export interface Fleet {
  seed: number;
  regions: RegionSpec[];
  clusters: Cluster[];
  nodes: GpuNode[];
  deployments: Deployment[];
  jobs: TrainingJob[];
  gpuCount: number;
}

export interface FleetOptions {
  seed: number;
  /** GPUs wanted; the fleet rounds to whole nodes and gives every endpoint at least two nodes per region. */
  gpus: number;
  /** Region ids, or how many of the catalogue's regions to take (in catalogue order). */
  regions: string[] | number;
}

/** How the fleet's GPUs divide between serving, training and the notebook pool. */
export const SERVING_SHARE = 0.62;
export const TRAINING_SHARE = 0.3;

export class FleetOptionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FleetOptionError';
  }
}

export function resolveRegions(regions: string[] | number): RegionSpec[] {
  if (typeof regions === 'number') {
    if (!Number.isInteger(regions) || regions < 1 || regions > REGIONS.length) {
      throw new FleetOptionError(`--regions ${regions} is not a region count from 1 to ${REGIONS.length}. Fix: pass a count, or region ids such as us-east-1,eu-west-1 (known: ${REGIONS.map((r) => r.id).join(', ')}).`);
    }
    return REGIONS.slice(0, regions);
  }
  const unknown = regions.filter((id) => !REGIONS.some((r) => r.id === id));
  if (unknown.length > 0) throw new FleetOptionError(`--regions names ${unknown.join(', ')}, which the simulator does not know. Fix: use ${REGIONS.map((r) => r.id).join(', ')}.`);
  if (new Set(regions).size !== regions.length) throw new FleetOptionError(`--regions names a region twice (${regions.join(',')}). Fix: name each once.`);
  return regions.map((id) => REGIONS.find((r) => r.id === id)!);
}

/** The provider's instance type for a GPU class whose nodes hold whole replicas, preferring the larger node. */
function instanceFor(provider: Provider, gpuClass: string, gpusPerReplica: number): InstanceType | undefined {
  return INSTANCE_TYPES.find((t) => t.provider === provider && t.gpuClass === gpuClass && t.gpusPerNode % gpusPerReplica === 0);
}

function servingChoice(model: ModelSpec, provider: Provider): { instanceType: InstanceType; profile: ServingProfile } | undefined {
  for (const [gpuClass, profile] of Object.entries(model.profiles)) {
    if (!profile) continue;
    const instanceType = instanceFor(provider, gpuClass, profile.gpusPerReplica);
    if (instanceType) return { instanceType, profile };
  }
  return undefined;
}

/** Provider-shaped names: an EC2 instance id and private DNS name, a GCE instance, an Azure scale-set VM. */
function nodeIdentity(seed: number, cluster: Cluster, index: number): { resourceId: string; nodeName: string } {
  const salt = `${seed}|${cluster.name}|${index}`;
  const region = cluster.region;
  switch (region.provider) {
    case 'aws': {
      const h = hash32(salt);
      const ip = `10-${(h >>> 24) & 0xff}-${(h >>> 16) & 0xff}-${(h >>> 8) & 0xff}`;
      const domain = region.id === 'us-east-1' ? 'ec2.internal' : `${region.id}.compute.internal`;
      return { resourceId: `i-0${hexId(salt, 16)}`, nodeName: `ip-${ip}.${domain}` };
    }
    case 'gcp': {
      const name = `gke-${cluster.name}-gpu-${hexId(`${seed}|${cluster.name}`, 8)}-${hexId(salt, 4)}`;
      return { resourceId: `//compute.googleapis.com/projects/${PROVIDER_BILLING.gcp.subAccountId}/zones/${region.zone}/instances/${name}`, nodeName: name };
    }
    case 'azure': {
      const vmss = `aks-gpu-${hash32(`${seed}|${cluster.name}`) % 100_000_000}-vmss`;
      return {
        resourceId: `/subscriptions/${PROVIDER_BILLING.azure.subAccountId}/resourceGroups/mc_${cluster.name}_${region.id}/providers/Microsoft.Compute/virtualMachineScaleSets/${vmss}/virtualMachines/${index}`,
        nodeName: `${vmss}${index.toString(36).padStart(6, '0')}`,
      };
    }
  }
}

function gpuUuid(seed: number, resourceId: string, gpu: number): string {
  const h = hexId(`${seed}|${resourceId}|gpu${gpu}`, 32);
  return `GPU-${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

/** The instance's list price in the region: the us-east price scaled by the region's percentage, exact. */
export function regionalPrice(instanceType: InstanceType, region: RegionSpec): MoneyUnits {
  return multiplyByRatio(parseMoney(instanceType.hourlyPriceUsd), BigInt(region.pricePercent), 100n, 'half-even');
}

interface NodeFactory {
  make(cluster: Cluster, instanceType: InstanceType, team: string, environment: string, assignment: NodeAssignment, window?: { launchedAtMs: number; terminatedAtMs: number }): GpuNode;
}

/** Creates nodes with ids unique per cluster: node i of a cluster always gets the same identity. */
export function nodeFactory(seed: number, firstIndex: Map<string, number> = new Map()): NodeFactory {
  return {
    make(cluster, instanceType, team, environment, assignment, window) {
      const index = firstIndex.get(cluster.name) ?? 0;
      firstIndex.set(cluster.name, index + 1);
      const { resourceId, nodeName } = nodeIdentity(seed, cluster, index);
      return {
        resourceId,
        nodeName,
        cluster,
        region: cluster.region,
        instanceType,
        gpuClass: GPU_CLASSES[instanceType.gpuClass],
        gpuUuids: Array.from({ length: instanceType.gpusPerNode }, (_, gpu) => gpuUuid(seed, resourceId, gpu)),
        hourlyPrice: regionalPrice(instanceType, cluster.region),
        team,
        environment,
        assignment,
        ...(window ?? {}),
      };
    },
  };
}

export function clusterName(region: RegionSpec, purpose: Cluster['purpose']): string {
  const prefix = { aws: 'eks', gcp: 'gke', azure: 'aks' }[region.provider];
  return `${prefix}-${purpose}-${region.short}`;
}

export function buildFleet(options: FleetOptions): Fleet {
  if (!Number.isInteger(options.gpus) || options.gpus < 1) throw new FleetOptionError(`--gpus ${options.gpus} is not a positive whole number of GPUs. Fix: pass e.g. --gpus 256.`);
  const regions = resolveRegions(options.regions);
  const clusters = new Map<string, Cluster>();
  const clusterOf = (region: RegionSpec, purpose: Cluster['purpose']) => {
    const name = clusterName(region, purpose);
    let cluster = clusters.get(name);
    if (!cluster) {
      cluster = { name, region, purpose };
      clusters.set(name, cluster);
    }
    return cluster;
  };
  const factory = nodeFactory(options.seed);
  const nodes: GpuNode[] = [];
  const deployments: Deployment[] = [];
  const jobs: TrainingJob[] = [];

  // Serving: each region gets GPUs in proportion to its users, each model its share of them.
  const totalWeight = regions.reduce((s, r) => s + r.trafficWeight, 0);
  const servingGpus = options.gpus * SERVING_SHARE;
  for (const region of regions) {
    const regionShare = region.trafficWeight / totalWeight;
    for (const model of MODELS) {
      const choice = servingChoice(model, region.provider);
      if (!choice) continue;
      const { instanceType, profile } = choice;
      const nodeCount = Math.max(2, Math.round((servingGpus * regionShare * model.gpuShare) / instanceType.gpusPerNode));
      const cluster = clusterOf(region, 'inference');
      const deployment: Deployment = {
        id: `${model.endpoint}|${region.id}`,
        model,
        region,
        cluster,
        instanceType,
        profile,
        replicasPerNode: instanceType.gpusPerNode / profile.gpusPerReplica,
        nodes: [],
        sizedPeakRate: 0,
        trafficShare: 0,
        egressResourceId: egressResourceId(options.seed, region, model.endpoint),
      };
      for (let slot = 0; slot < nodeCount; slot++) {
        deployment.nodes.push(factory.make(cluster, instanceType, model.team, 'prod', { workload: 'inference', deployment, slot }));
      }
      deployment.sizedPeakRate = rateAtUtilization(capacityOf(profile, nodeCount * deployment.replicasPerNode, meanTokens(model.tokens)), TARGET_PEAK_UTILIZATION);
      deployments.push(deployment);
      nodes.push(...deployment.nodes);
    }
  }
  const sizedSum = deployments.reduce((s, d) => s + d.sizedPeakRate, 0);
  for (const d of deployments) d.trafficShare = d.sizedPeakRate / sizedSum;

  // Training: the big jobs run in the first region, the A100 ones in the second when there is one.
  const trainingGpus = options.gpus * TRAINING_SHARE;
  EXPERIMENTS.forEach((spec, index) => {
    const region = spec.gpuClass === 'H100' ? regions[0]! : (regions[1] ?? regions[0]!);
    const instanceType = INSTANCE_TYPES.find((t) => t.provider === region.provider && t.gpuClass === spec.gpuClass && t.gpusPerNode === 8);
    if (!instanceType) return;
    const wanted = Math.round((trainingGpus * spec.share) / instanceType.gpusPerNode);
    // The two largest jobs always run, so that every fleet has experiments to attribute.
    const nodeCount = index < 2 ? Math.max(1, wanted) : wanted;
    if (nodeCount === 0) return;
    const cluster = clusterOf(region, 'training');
    const job: TrainingJob = { id: `${spec.job}|${region.id}`, spec, region, cluster, instanceType, nodes: [] };
    for (let i = 0; i < nodeCount; i++) job.nodes.push(factory.make(cluster, instanceType, spec.team, 'dev', { workload: 'training', job }));
    jobs.push(job);
    nodes.push(...job.nodes);
  });

  // Notebooks: the rest, on the smallest GPU instance each provider offers, spread over the regions.
  const used = nodes.reduce((s, n) => s + n.instanceType.gpusPerNode, 0);
  let notebookGpus = Math.max(0, options.gpus - used);
  for (let i = 0; notebookGpus > 0; i++) {
    const region = regions[i % regions.length]!;
    const instanceType = [...INSTANCE_TYPES].filter((t) => t.provider === region.provider).sort((a, b) => a.gpusPerNode - b.gpusPerNode || Number(a.hourlyPriceUsd) - Number(b.hourlyPriceUsd))[0]!;
    if (instanceType.gpusPerNode > notebookGpus && i > 0) break;
    nodes.push(factory.make(clusterOf(region, 'notebooks'), instanceType, PLATFORM_TEAM, 'dev', { workload: 'notebook' }));
    notebookGpus -= instanceType.gpusPerNode;
  }

  return {
    seed: options.seed,
    regions,
    clusters: [...clusters.values()],
    nodes,
    deployments,
    jobs,
    gpuCount: nodes.reduce((s, n) => s + n.instanceType.gpusPerNode, 0),
  };
}

/** The load balancer (AWS ALB, GCP forwarding rule, Azure public IP) whose egress an endpoint's responses leave through. */
function egressResourceId(seed: number, region: RegionSpec, endpoint: string): string {
  const suffix = hexId(`${seed}|${region.id}|${endpoint}|lb`, 16);
  switch (region.provider) {
    case 'aws':
      return `arn:aws:elasticloadbalancing:${region.id}:123456789012:loadbalancer/app/${endpoint}-${region.short}/${suffix}`;
    case 'gcp':
      return `//compute.googleapis.com/projects/${PROVIDER_BILLING.gcp.subAccountId}/regions/${region.id}/forwardingRules/${endpoint}-${suffix.slice(0, 8)}`;
    case 'azure':
      return `/subscriptions/${PROVIDER_BILLING.azure.subAccountId}/resourceGroups/mc_${endpoint}_${region.id}/providers/Microsoft.Network/publicIPAddresses/${endpoint}-${suffix.slice(0, 8)}`;
  }
}
