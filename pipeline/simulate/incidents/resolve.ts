import { parseMoney, UNITS_PER_CURRENCY_UNIT, type MoneyUnits } from '../../core/money.js';
import { MODELS, type ModelSpec } from '../fleet/catalog.js';
import { nodeFactory, type Deployment, type Fleet, type GpuNode, type TrainingJob } from '../fleet/fleet.js';
import { hash32 } from '../fleet/streams.js';
import { resolveInstant } from '../fleet/time-spec.js';
import { INCIDENT_FAMILY, IncidentSpecError, type IncidentKind, type IncidentSpec } from './incident-spec.js';

/** An incident bound to concrete targets of one fleet and to event times. */
export type ResolvedIncident =
  | (IncidentWindow & { kind: 'latency-regression'; model: ModelSpec; version: string; regions: string[]; factor: number })
  | (IncidentWindow & { kind: 'runaway-experiment'; job: TrainingJob; extraNodes: GpuNode[]; scale: number })
  | (IncidentWindow & { kind: 'price-change'; instanceType: string; region: string; nodes: GpuNode[]; factor: string; factorUnits: MoneyUnits })
  | (IncidentWindow & { kind: 'egress-surge'; deployment: Deployment; factor: number })
  | (IncidentWindow & { kind: 'degraded-region'; region: string; failedNodes: Set<GpuNode>; capacityLoss: number; errorRate: number; rttFactor: number })
  | (IncidentWindow & { kind: 'idle-gpus'; job: TrainingJob });

export interface IncidentWindow {
  /** Where it came from: "preset:spend-spike" or "file:incidents.yaml". */
  source: string;
  /** Event time the incident starts (inclusive) and ends (exclusive). */
  startMs: number;
  endMs: number;
}

/** One line of the ground-truth file: what happened, to which keys, when (event time). */
export interface TruthRecord {
  kind: IncidentKind;
  /** The detector family expected to notice it. */
  family: string;
  source: string;
  start: number;
  end: number;
  start_iso: string;
  end_iso: string;
  /** The keys whose events the incident changes, in the dimensions the pipeline rolls up by. */
  keys: Record<string, string>[];
  /** Cloud resources (FOCUS ResourceId / resource_id) it touches. */
  resources: string[];
  description: string;
  parameters: Record<string, string | number>;
}

const HOUR_MS = 3_600_000;

function fail(source: string, spec: IncidentSpec, message: string): never {
  throw new IncidentSpecError(`incident ${spec.kind} (${source}): ${message}`);
}

/**
 * Binds specs to the fleet: picks default targets, resolves times against the span, creates the
 * extra nodes of a runaway experiment (ids continue each cluster's numbering, so they never
 * collide with the fleet's).
 */
export function resolveIncidents(specs: { spec: IncidentSpec; source: string }[], fleet: Fleet, startMs: number, spanMs: number): ResolvedIncident[] {
  const perCluster = new Map<string, number>();
  for (const node of fleet.nodes) perCluster.set(node.cluster.name, (perCluster.get(node.cluster.name) ?? 0) + 1);
  const factory = nodeFactory(fleet.seed, perCluster);
  const endOfRun = startMs + spanMs;
  return specs.map(({ spec, source }) => {
    const startMs0 = resolveInstant(spec.start, startMs, spanMs, `incident ${spec.kind} start`);
    const endMs0 = spec.end === undefined ? endOfRun : resolveInstant(spec.end, startMs, spanMs, `incident ${spec.kind} end`);
    if (endMs0 <= startMs0) fail(source, spec, `ends (${new Date(endMs0).toISOString()}) before it starts (${new Date(startMs0).toISOString()}). Fix: give an end after the start.`);
    const window = { source, startMs: startMs0, endMs: endMs0 };
    switch (spec.kind) {
      case 'latency-regression': {
        const model = spec.model ? MODELS.find((m) => m.name === spec.model) : fleet.deployments[0]?.model;
        if (!model) fail(source, spec, `model "${spec.model}" is not served by the fleet. Fix: use one of ${MODELS.map((m) => m.name).join(', ')}.`);
        const served = fleet.deployments.filter((d) => d.model === model).map((d) => d.region.id);
        const regions = spec.region === '*' ? served : [spec.region ?? served[0]!];
        for (const region of regions) if (!served.includes(region)) fail(source, spec, `${model.name} is not served in ${region}. Fix: use one of ${served.join(', ')} or "*".`);
        const version = spec.version ?? model.rolloutVersion;
        if (version !== model.rolloutVersion && version !== model.stableVersion) {
          fail(source, spec, `${model.name} has no version "${version}". Fix: use ${model.stableVersion} (stable) or ${model.rolloutVersion} (rolling out).`);
        }
        return { ...window, kind: spec.kind, model, version, regions, factor: spec.factor };
      }
      case 'runaway-experiment': {
        const job = pickJob(fleet, spec.experiment, 'smallest') ?? fail(source, spec, jobHint(fleet, spec.experiment));
        const extraCount = Math.max(1, Math.round(job.nodes.length * (spec.scale - 1)));
        const extraNodes = Array.from({ length: extraCount }, () =>
          factory.make(job.cluster, job.instanceType, job.spec.team, 'dev', { workload: 'training', job }, { launchedAtMs: window.startMs, terminatedAtMs: window.endMs }),
        );
        return { ...window, kind: spec.kind, job, extraNodes, scale: spec.scale };
      }
      case 'price-change': {
        const region = spec.region ?? fleet.regions[0]!.id;
        const inRegion = fleet.nodes.filter((n) => n.region.id === region);
        if (inRegion.length === 0) fail(source, spec, `the fleet has no nodes in ${region}. Fix: use one of ${fleet.regions.map((r) => r.id).join(', ')}.`);
        const instanceType = spec.instanceType ?? mostCommonInstanceType(inRegion);
        const nodes = inRegion.filter((n) => n.instanceType.name === instanceType);
        if (nodes.length === 0) fail(source, spec, `the fleet runs no ${instanceType} in ${region}. Fix: use one of ${[...new Set(inRegion.map((n) => n.instanceType.name))].join(', ')}.`);
        const factor = String(spec.factor);
        // Prices change on the hour: the charge hours that start inside the window carry the new price.
        return {
          ...window,
          startMs: Math.ceil(window.startMs / HOUR_MS) * HOUR_MS,
          endMs: Math.max(Math.ceil(window.startMs / HOUR_MS) * HOUR_MS + HOUR_MS, Math.ceil(window.endMs / HOUR_MS) * HOUR_MS),
          kind: spec.kind,
          instanceType,
          region,
          nodes,
          factor,
          factorUnits: parseMoney(factor),
        };
      }
      case 'egress-surge': {
        const region = spec.region ?? fleet.regions[0]!.id;
        const candidates = fleet.deployments.filter((d) => d.region.id === region && (!spec.endpoint || d.model.endpoint === spec.endpoint));
        if (candidates.length === 0) fail(source, spec, `no endpoint ${spec.endpoint ?? ''} serves ${region}. Fix: use one of ${fleet.deployments.map((d) => d.id).join(', ')}.`);
        const deployment = candidates.reduce((a, b) => (b.trafficShare > a.trafficShare ? b : a));
        return { ...window, kind: spec.kind, deployment, factor: spec.factor };
      }
      case 'degraded-region': {
        const region = spec.region ?? (fleet.regions[1] ?? fleet.regions[0]!).id;
        if (!fleet.regions.some((r) => r.id === region)) fail(source, spec, `the fleet has no region ${region}. Fix: use one of ${fleet.regions.map((r) => r.id).join(', ')}.`);
        const failedNodes = new Set<GpuNode>();
        for (const deployment of fleet.deployments.filter((d) => d.region.id === region)) {
          const count = Math.min(deployment.nodes.length - 1, Math.round(deployment.nodes.length * spec.capacityLoss));
          const ranked = [...deployment.nodes].sort((a, b) => hash32(`${fleet.seed}|fail|${a.resourceId}`) - hash32(`${fleet.seed}|fail|${b.resourceId}`));
          for (const node of ranked.slice(0, count)) failedNodes.add(node);
        }
        return { ...window, kind: spec.kind, region, failedNodes, capacityLoss: spec.capacityLoss, errorRate: spec.errorRate, rttFactor: spec.rttFactor };
      }
      case 'idle-gpus': {
        const job = pickJob(fleet, spec.experiment, 'second') ?? fail(source, spec, jobHint(fleet, spec.experiment));
        return { ...window, kind: spec.kind, job };
      }
    }
  });
}

function pickJob(fleet: Fleet, experiment: string | undefined, fallback: 'smallest' | 'second'): TrainingJob | undefined {
  if (experiment) return fleet.jobs.find((j) => j.spec.experiment === experiment);
  if (fallback === 'second') return fleet.jobs[1] ?? fleet.jobs[0];
  return fleet.jobs.reduce<TrainingJob | undefined>((a, b) => (!a || b.nodes.length < a.nodes.length ? b : a), undefined);
}

function jobHint(fleet: Fleet, experiment: string | undefined): string {
  if (fleet.jobs.length === 0) return 'the fleet runs no training jobs. Fix: give the simulator more GPUs (--gpus).';
  return `experiment "${experiment}" does not run in this fleet. Fix: use one of ${fleet.jobs.map((j) => j.spec.experiment).join(', ')}.`;
}

function mostCommonInstanceType(nodes: GpuNode[]): string {
  const counts = new Map<string, number>();
  for (const n of nodes) counts.set(n.instanceType.name, (counts.get(n.instanceType.name) ?? 0) + n.instanceType.gpusPerNode);
  return [...counts.entries()].reduce((a, b) => (b[1] > a[1] ? b : a))[0];
}

/** The ground truth of a resolved incident, as one line of the --truth file. */
export function truthRecord(incident: ResolvedIncident): TruthRecord {
  const base = {
    kind: incident.kind,
    family: INCIDENT_FAMILY[incident.kind],
    source: incident.source,
    start: incident.startMs,
    end: incident.endMs,
    start_iso: new Date(incident.startMs).toISOString(),
    end_iso: new Date(incident.endMs).toISOString(),
  };
  switch (incident.kind) {
    case 'latency-regression':
      return {
        ...base,
        keys: incident.regions.map((region) => ({ model_name: incident.model.name, model_version: incident.version, region })),
        resources: [],
        description: `${incident.model.name} ${incident.version} decodes ${incident.factor}× slower per token in ${incident.regions.join(', ')} (a regression shipped with the rollout)`,
        parameters: { factor: incident.factor },
      };
    case 'runaway-experiment':
      return {
        ...base,
        keys: [{ team: incident.job.spec.team, experiment: incident.job.spec.experiment }],
        resources: incident.extraNodes.map((n) => n.resourceId),
        description: `experiment ${incident.job.spec.experiment} (team ${incident.job.spec.team}) scales from ${incident.job.nodes.length} to ${incident.job.nodes.length + incident.extraNodes.length} ${incident.job.instanceType.name} nodes in ${incident.job.region.id}`,
        parameters: { scale: incident.scale, extra_nodes: incident.extraNodes.length },
      };
    case 'price-change':
      return {
        ...base,
        keys: [{ provider: incident.nodes[0]!.region.provider, instance_type: incident.instanceType, region: incident.region }],
        resources: incident.nodes.map((n) => n.resourceId),
        description: `the list price of ${incident.instanceType} in ${incident.region} is ${incident.factor}× for charge hours starting in the window`,
        parameters: { factor: incident.factor },
      };
    case 'egress-surge':
      return {
        ...base,
        keys: [{ endpoint: incident.deployment.model.endpoint, region: incident.deployment.region.id }],
        resources: [incident.deployment.egressResourceId],
        description: `responses of ${incident.deployment.model.endpoint} in ${incident.deployment.region.id} carry ${incident.factor}× the bytes (internet egress surge)`,
        parameters: { factor: incident.factor },
      };
    case 'degraded-region':
      return {
        ...base,
        keys: [{ region: incident.region }],
        resources: [...incident.failedNodes].map((n) => n.resourceId),
        description: `${incident.region} degrades: ${incident.failedNodes.size} serving nodes fail (XID 79), ${Math.round(incident.errorRate * 100)}% of requests error, network round trips ×${incident.rttFactor}`,
        parameters: { capacity_loss: incident.capacityLoss, error_rate: incident.errorRate, rtt_factor: incident.rttFactor },
      };
    case 'idle-gpus':
      return {
        ...base,
        keys: [{ team: incident.job.spec.team, experiment: incident.job.spec.experiment }],
        resources: incident.job.nodes.map((n) => n.resourceId),
        description: `${incident.job.nodes.length * incident.job.instanceType.gpusPerNode} GPUs of ${incident.job.spec.experiment} (team ${incident.job.spec.team}) sit idle but stay allocated and billed`,
        parameters: { gpus: incident.job.nodes.length * incident.job.instanceType.gpusPerNode },
      };
  }
}

/** factorUnits as a ratio applied to an amount: amount × factorUnits / 10^12. */
export const PRICE_FACTOR_DENOMINATOR = UNITS_PER_CURRENCY_UNIT;
