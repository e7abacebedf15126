import { quantile } from 'simple-statistics';
import type { BillingCost, GpuSample, QueueSample, RequestStatus, TokenUsage } from '../../../schemas/index.js';
import { IncidentEffects } from '../incidents/effects.js';
import { truthRecord, type ResolvedIncident, type TruthRecord } from '../incidents/resolve.js';
import { BillingExport, HOUR_MS } from './billing.js';
import { PROVIDER_BILLING } from './catalog.js';
import { loadFactor, localTime } from './diurnal.js';
import type { Deployment, Fleet, GpuNode } from './fleet.js';
import { meanWaitMs, nextBacklog, queueDepth, steadyState, type QueueState } from './queueing.js';
import { canaryNodes, canaryShare, planRollout, type RolloutPlan } from './rollout.js';
import {
  BASE_ERROR_RATE,
  BASE_RTT_MS,
  BYTES_PER_STREAMED_TOKEN,
  capacityOf,
  GATEWAY_TIMEOUT_MS,
  MAX_QUEUED_PER_SLOT,
  meanTokens,
  prefillFactor,
  rateAtUtilization,
  RESPONSE_OVERHEAD_BYTES,
  RETRIED_OK_RATE,
  TARGET_PEAK_UTILIZATION,
  type TokenMeans,
} from './serving.js';
import { exponential, hash32, hexId, logNormalFrom, poisson, streamFor } from './streams.js';
import { TraceReplay, type RequestTrace, type TraceRequest } from './trace.js';

/**
 * The fleet over simulated time. Advanced tick by tick (one simulated second), it emits what
 * the fleet's exporters would: a request log (token usage) per request as it completes, vLLM
 * queue samples per replica and DCGM samples per GPU at their scrape intervals, and the billing
 * export's lines when they arrive. Pure: no clock, no I/O; the same fleet and options give the
 * same events, whatever pace the caller advances it at.
 *
 * Randomness is drawn from a stream per entity and tick (replica set × second, node × sample),
 * so an incident that changes one entity never shifts another's draws, and an entity whose state
 * is back to normal after an incident emits exactly what it would have without it.
 */

export interface SimulationOptions {
  seed: number;
  /** Simulated start (event time, ms); rounded down to the second. */
  startMs: number;
  /** Simulated span, ms. */
  spanMs: number;
  /** Fleet-wide requests per second at each region's daily peak (summed over regions); default: what the fleet is sized for. */
  peakRatePerSecond?: number;
  /** Replay this trace's arrivals and token counts instead of drawing them. */
  trace?: RequestTrace;
  incidents?: ResolvedIncident[];
  /** How long after a charge hour ends its billing lines arrive. */
  billingDelayMs: number;
  gpuSampleIntervalMs?: number;
  queueSampleIntervalMs?: number;
}

export interface SimulationBatch {
  gpu: GpuSample[];
  queue: QueueSample[];
  tokens: TokenUsage[];
  billing: BillingCost[];
}

export interface SimulationStats {
  requests: Record<RequestStatus, number>;
  gpuSamples: number;
  queueSamples: number;
  billingLines: number;
  /** Billing lines computed whose arrival falls after the end of the run. */
  billingInTransit: number;
  /** Highest offered load any replica set saw, and which. */
  peakOfferedLoad: { value: number; replicaSet: string };
}

const TICK_MS = 1_000;
/** dcgm-exporter and Prometheus scrape intervals commonly configured for GPU fleets. */
export const DEFAULT_GPU_SAMPLE_INTERVAL_MS = 15_000;
export const DEFAULT_QUEUE_SAMPLE_INTERVAL_MS = 15_000;
/** Training jobs checkpoint this often, and the GPUs mostly wait on storage while they do. */
const CHECKPOINT_EVERY_MS = 40 * 60_000;
const CHECKPOINT_LASTS_MS = 90_000;

/** One endpoint's replicas of one version in one region: the unit the queueing model runs on. */
interface ReplicaSet {
  key: string;
  deployment: Deployment;
  version: string;
  /** vLLM pods carry their ReplicaSet's pod-template hash: a new version means new pod names. */
  podTemplateHash: string;
  requestIdPrefix: string;
  backlog: number;
  /** Arrivals per second this tick, and the queue state they produce. */
  arrivalsPerSecond: number;
  state: QueueState;
  replicas: string[];
  /** Batch slots over the healthy replicas: the c of the M/M/c model. */
  servers: number;
  /** Replicas by the second of the scrape interval they are scraped at. */
  replicasByPhase: string[][];
  /** Replica name → its node, for the queue samples. */
  replicaNodes: Map<string, GpuNode>;
  decodeFactor: number;
  /** Smoothed arrival rate when replaying a trace (the trace, not a formula, sets the load). */
  traceRate: number;
}

interface ReplicaAccumulator {
  waits: number[];
  waitSumMs: number;
  preemptions: number;
}

interface DeploymentRuntime {
  deployment: Deployment;
  rollout: RolloutPlan;
  tokenMeans: TokenMeans;
  peakRate: number;
  stable: ReplicaSet;
  canary: ReplicaSet;
  /** Nodes 0..canaryNodes-1 serve the new version. */
  canaryNodes: number;
  /** Healthy nodes serving the stable and the new version this tick. */
  healthy: [number, number];
  /** The canary split and failed nodes the replica lists were built for. */
  layout: string;
  /** Bytes of responses completed per charge hour (hour start → bytes), for the egress lines. */
  egressByHour: Map<number, number>;
}

function clamp(value: number, low: number, high: number): number {
  return value < low ? low : value > high ? high : value;
}

export class FleetSimulation {
  readonly startMs: number;
  readonly endMs: number;
  readonly peakRatePerSecond: number;
  readonly effects: IncidentEffects;
  readonly stats: SimulationStats;
  private clockMs: number;
  private finished = false;
  private readonly runtimes: DeploymentRuntime[];
  private readonly runtimeByNode = new Map<GpuNode, DeploymentRuntime>();
  private readonly nodesByPhase: GpuNode[][];
  private readonly accumulators = new Map<string, ReplicaAccumulator>();
  private readonly replicaNameCache = new Map<string, string[]>();
  /** Completed requests waiting for the clock to pass their completion time, by second. */
  private readonly completions = new Map<number, TokenUsage[]>();
  private readonly billing: BillingExport;
  private readonly replay: TraceReplay | undefined;
  private readonly gpuIntervalMs: number;
  private readonly queueIntervalMs: number;
  private readonly cumulativeShares: number[];

  constructor(
    readonly fleet: Fleet,
    private readonly options: SimulationOptions,
  ) {
    if (!(options.spanMs > 0)) throw new Error(`the simulated span is ${options.spanMs} ms: it must be positive (duration × speedup).`);
    this.startMs = Math.floor(options.startMs / TICK_MS) * TICK_MS;
    this.endMs = this.startMs + Math.ceil(options.spanMs / TICK_MS) * TICK_MS;
    this.clockMs = this.startMs;
    this.gpuIntervalMs = options.gpuSampleIntervalMs ?? DEFAULT_GPU_SAMPLE_INTERVAL_MS;
    this.queueIntervalMs = options.queueSampleIntervalMs ?? DEFAULT_QUEUE_SAMPLE_INTERVAL_MS;
    this.effects = new IncidentEffects(options.incidents ?? []);
    const sized = fleet.deployments.reduce((s, d) => s + d.sizedPeakRate, 0);
    this.peakRatePerSecond = options.peakRatePerSecond ?? (options.trace ? options.trace.meanRatePerSecond : sized);
    this.replay = options.trace ? new TraceReplay(options.trace, this.startMs, options.trace.meanRatePerSecond / this.peakRatePerSecond) : undefined;
    const traceMeans = options.trace ? traceTokenMeans(options.trace) : undefined;
    // A trace brings its own prompt and output lengths: traffic splits by what each deployment can serve of those.
    const shares = traceMeans ? traceShares(fleet, traceMeans) : fleet.deployments.map((d) => d.trafficShare);
    this.runtimes = fleet.deployments.map((deployment, index) => {
      const model = deployment.model;
      const rollout = planRollout(model.name, model.stableVersion, model.rolloutVersion, this.startMs, this.endMs - this.startMs, index % 4);
      const peakRate = this.peakRatePerSecond * shares[index]!;
      const runtime: DeploymentRuntime = {
        deployment,
        rollout,
        tokenMeans: traceMeans ?? meanTokens(model.tokens),
        peakRate,
        stable: this.replicaSet(deployment, model.stableVersion, peakRate),
        canary: this.replicaSet(deployment, model.rolloutVersion, 0),
        canaryNodes: 0,
        healthy: [0, 0],
        layout: '',
        egressByHour: new Map(),
      };
      for (const node of deployment.nodes) this.runtimeByNode.set(node, runtime);
      return runtime;
    });
    let cumulative = 0;
    this.cumulativeShares = shares.map((share) => (cumulative += share));
    const phases = Math.max(1, Math.round(this.gpuIntervalMs / TICK_MS));
    this.nodesByPhase = Array.from({ length: phases }, () => []);
    for (const node of [...fleet.nodes, ...this.effects.extraNodes()]) this.nodesByPhase[hash32(`phase|${node.resourceId}`) % phases]!.push(node);
    this.billing = new BillingExport([...fleet.nodes, ...this.effects.extraNodes()], fleet.deployments, this.effects, options.billingDelayMs, fleet.seed);
    this.stats = {
      requests: { ok: 0, error: 0, timeout: 0, rate_limited: 0, cancelled: 0 },
      gpuSamples: 0,
      queueSamples: 0,
      billingLines: 0,
      billingInTransit: 0,
      peakOfferedLoad: { value: 0, replicaSet: '' },
    };
    this.closePastHours();
  }

  private replicaSet(deployment: Deployment, version: string, initialRate: number): ReplicaSet {
    const key = `${deployment.model.name}|${version}|${deployment.region.id}`;
    return {
      key,
      deployment,
      version,
      podTemplateHash: hexId(`${deployment.id}|${version}|pod-template`, 10),
      requestIdPrefix: `${deployment.model.endpoint}-${deployment.region.short}-${hexId(key, 6)}`,
      backlog: 0,
      arrivalsPerSecond: 0,
      state: steadyState(0, { servers: 1, serviceMsEmpty: 1, serviceMsFullExtra: 0 }),
      replicas: [],
      replicasByPhase: [],
      servers: 0,
      replicaNodes: new Map(),
      decodeFactor: 1,
      traceRate: initialRate,
    };
  }

  get clock(): number {
    return this.clockMs;
  }

  get done(): boolean {
    return this.finished;
  }

  /** The ground truth of the injected incidents. */
  truth(): TruthRecord[] {
    return (this.options.incidents ?? []).map(truthRecord);
  }

  /** Runs the simulation up to untilMs (at most its end) and returns what was emitted on the way. */
  advance(untilMs: number): SimulationBatch {
    const batch: SimulationBatch = { gpu: [], queue: [], tokens: [], billing: [] };
    const target = Math.min(untilMs, this.endMs);
    while (this.clockMs + TICK_MS <= target) {
      this.tick(this.clockMs, batch);
      this.clockMs += TICK_MS;
    }
    if (this.clockMs >= this.endMs && !this.finished) {
      // Requests in flight at the end still complete: their records close the request log.
      for (const second of [...this.completions.keys()].sort((a, b) => a - b)) {
        for (const event of this.completions.get(second)!) batch.tokens.push(event);
      }
      this.completions.clear();
      this.finished = true;
      this.stats.billingInTransit = this.billing.inTransit;
    }
    return batch;
  }

  /** Billing lines of the hours before the run that arrive during it (the fleet ran before the simulation started). */
  private closePastHours(): void {
    const firstHourEnd = Math.ceil((this.startMs - this.options.billingDelayMs) / HOUR_MS) * HOUR_MS;
    for (let hourEnd = firstHourEnd; hourEnd <= this.startMs; hourEnd += HOUR_MS) {
      const hourStart = hourEnd - HOUR_MS;
      this.billing.closeHour(hourStart, (d) => BigInt(Math.round(this.expectedEgressBytes(this.runtimeOf(d), hourStart, hourEnd))));
    }
    // The hour the run starts in: its minutes before the start are estimated too.
    const currentHour = Math.floor(this.startMs / HOUR_MS) * HOUR_MS;
    if (currentHour < this.startMs) {
      for (const runtime of this.runtimes) runtime.egressByHour.set(currentHour, this.expectedEgressBytes(runtime, currentHour, this.startMs));
    }
  }

  private runtimeOf(deployment: Deployment): DeploymentRuntime {
    return this.runtimes.find((r) => r.deployment === deployment)!;
  }

  /** Expected response bytes of a deployment over [from, to), minute by minute, for the time before the run. */
  private expectedEgressBytes(runtime: DeploymentRuntime, fromMs: number, toMs: number): number {
    const bytesPerRequest = RESPONSE_OVERHEAD_BYTES + runtime.tokenMeans.output * BYTES_PER_STREAMED_TOKEN;
    let total = 0;
    for (let t = fromMs; t < toMs; t += 60_000) {
      const minutes = Math.min(60_000, toMs - t) / 1000;
      total += this.offeredRate(runtime, t) * minutes * bytesPerRequest;
    }
    return total;
  }

  /** The deployment's arrival rate at an instant: its peak times the daily cycle (a trace sets its own). */
  private offeredRate(runtime: DeploymentRuntime, atMs: number): number {
    return this.replay ? runtime.peakRate : runtime.peakRate * loadFactor(runtime.deployment.region.timeZone, atMs);
  }

  private tick(t: number, batch: SimulationBatch): void {
    const second = t / TICK_MS;
    const effects = this.effects.at(t);

    // Where the rollout stands and which replicas are healthy, then the load each replica set gets.
    for (const runtime of this.runtimes) {
      const { deployment } = runtime;
      const canary = canaryNodes(deployment.nodes.length, canaryShare(runtime.rollout, t));
      let layout = String(canary);
      for (let slot = 0; slot < deployment.nodes.length; slot++) if (effects.failure(deployment.nodes[slot]!)) layout += `|${slot}`;
      if (layout !== runtime.layout) this.layOut(runtime, canary, layout, effects);
    }
    const traceArrivals = this.replay ? this.routeTrace(t) : undefined;

    for (const runtime of this.runtimes) {
      const { deployment } = runtime;
      const totalHealthy = runtime.healthy[0]! + runtime.healthy[1]!;
      const offered = this.offeredRate(runtime, t);
      for (const [index, set] of [runtime.stable, runtime.canary].entries()) {
        const arrivals = traceArrivals?.get(set) ?? [];
        if (this.replay) set.traceRate += (arrivals.length / (TICK_MS / 1000) - set.traceRate) / 30;
        // Traffic follows healthy replicas: the load balancer round-robins over what passes health checks.
        set.arrivalsPerSecond = this.replay ? set.traceRate : totalHealthy === 0 ? 0 : (offered * runtime.healthy[index]!) / totalHealthy;
        set.decodeFactor = effects.decodeFactor(deployment.model.name, set.version, deployment.region.id);
        set.servers = set.replicas.length * deployment.profile.batchSlots;
        set.state = steadyState(set.arrivalsPerSecond, capacityOf(deployment.profile, set.replicas.length, runtime.tokenMeans, set.decodeFactor));
        if (set.state.offeredLoad > this.stats.peakOfferedLoad.value && Number.isFinite(set.state.offeredLoad)) {
          this.stats.peakOfferedLoad = { value: set.state.offeredLoad, replicaSet: set.key };
        }
        this.serve(runtime, set, t, this.replay ? arrivals : undefined);
        set.backlog = Math.min(nextBacklog(set.backlog, set.arrivalsPerSecond, set.state, TICK_MS / 1000), MAX_QUEUED_PER_SLOT * set.servers);
        if (set.replicas.length > 0) this.sampleQueues(set, t, batch);
      }
    }

    for (const node of this.nodesByPhase[second % this.nodesByPhase.length]!) this.sampleGpu(node, t, batch);

    // Completions whose time has come, then the billing hour that just closed, then what the export delivers.
    const until = t + TICK_MS;
    const completed = this.completions.get(second);
    if (completed) {
      for (const event of completed) batch.tokens.push(event);
      this.completions.delete(second);
    }
    if (until % HOUR_MS === 0) {
      const hourStart = until - HOUR_MS;
      this.billing.closeHour(hourStart, (d) => {
        const runtime = this.runtimeOf(d);
        const bytes = runtime.egressByHour.get(hourStart) ?? 0;
        runtime.egressByHour.delete(hourStart);
        return BigInt(Math.round(bytes));
      });
    }
    const lines = this.billing.due(until);
    this.stats.billingLines += lines.length;
    for (const line of lines) batch.billing.push(line);
  }

  /** Routes this tick's trace arrivals to replica sets in proportion to their traffic share and healthy replicas. */
  private routeTrace(t: number): Map<ReplicaSet, { atMs: number; request: TraceRequest; sequence: number }[]> {
    const routed = new Map<ReplicaSet, { atMs: number; request: TraceRequest; sequence: number }[]>();
    const random = streamFor(this.fleet.seed, `trace-routing|${t}`);
    for (const arrival of this.replay!.take(t + TICK_MS)) {
      const u = random.next();
      let index = this.cumulativeShares.findIndex((c) => u < c);
      if (index < 0) index = this.runtimes.length - 1;
      const runtime = this.runtimes[index]!;
      // Like the load balancer, route over the healthy replicas of both versions.
      const canary = random.next() * (runtime.healthy[0] + runtime.healthy[1]) < runtime.healthy[1];
      const set = canary ? runtime.canary : runtime.stable;
      let list = routed.get(set);
      if (!list) routed.set(set, (list = []));
      list.push(arrival);
    }
    return routed;
  }

  /** Generates this tick's requests of a replica set, as the gateway would log them when they complete. */
  private serve(runtime: DeploymentRuntime, set: ReplicaSet, t: number, traceArrivals?: { atMs: number; request: TraceRequest; sequence: number }[]): void {
    const { deployment } = runtime;
    const model = deployment.model;
    const profile = deployment.profile;
    const random = streamFor(this.fleet.seed, `requests|${set.key}|${t}`);
    const count = traceArrivals ? traceArrivals.length : poisson(random, set.arrivalsPerSecond * (TICK_MS / 1000));
    if (count === 0) return;
    const state = set.state;
    const degraded = this.effects.regionDegradation(deployment.region.id);
    const errorRate = BASE_ERROR_RATE + (degraded?.errorRate ?? 0);
    const rttMs = BASE_RTT_MS * (degraded?.rttFactor ?? 1);
    const egressFactor = this.effects.egressFactor(deployment.id);
    const fill = state.slotUtilization;
    const tpotMs = profile.decodeMsPerToken * set.decodeFactor * (1 + profile.batchSlowdown * fill);
    const prefillMsPerToken = (1000 / profile.prefillTokensPerSecond) * prefillFactor(set.decodeFactor) * (1 + 0.25 * fill);
    const backlogWaitMs = meanWaitMs(state, set.backlog) - state.meanQueueWaitMs;
    const conditionalWaitMs = state.waitProbability > 0 ? state.meanQueueWaitMs / state.waitProbability : 0;
    // A full queue refuses at the gateway (HTTP 429) rather than letting waits grow without bound.
    const refused = set.backlog >= MAX_QUEUED_PER_SLOT * set.servers * 0.999;
    const shape = model.tokens;
    const tickIndex = (t / TICK_MS).toString(36);

    for (let i = 0; i < count; i++) {
      // A fixed number of draws per request, whatever happens to it.
      const u0 = random.next();
      const z1 = random.normal();
      const z2 = random.normal();
      const u3 = random.next();
      const u4 = random.next();
      const z5 = random.normal();
      const u6 = random.next();
      const u7 = random.next();
      const u8 = random.next();
      const traced = traceArrivals?.[i];
      const arrivalMs = traced ? traced.atMs : t + u0 * TICK_MS;
      const input = traced ? traced.request.inputTokens : Math.min(128_000, Math.max(1, Math.round(logNormalFrom(z1, shape.inputMedian, shape.inputSigma))));
      const generated = traced ? traced.request.outputTokens : Math.min(16_000, Math.max(1, Math.round(logNormalFrom(z2, shape.outputMedian, shape.outputSigma))));
      let status: RequestStatus = 'ok';
      let latencyMs: number;
      let ttftMs: number | null = null;
      let output = 0;
      let retries = 0;
      let waitMs = 0;
      if (set.replicas.length === 0) {
        // No healthy replica: the gateway answers 503 at once.
        status = 'error';
        latencyMs = rttMs + 4;
      } else if (refused) {
        status = 'rate_limited';
        latencyMs = rttMs + 3;
      } else {
        // The scheduler admits a request at the next batch iteration: up to one decode step even when a slot is free.
        waitMs = u8 * tpotMs + (u3 < state.waitProbability && conditionalWaitMs > 0 ? exponential(u4, 1 / conditionalWaitMs) : 0) + backlogWaitMs;
        const prefillMs = input * prefillMsPerToken;
        const perTokenMs = tpotMs * Math.exp(0.08 * z5);
        if (waitMs >= GATEWAY_TIMEOUT_MS) {
          status = 'timeout';
          latencyMs = GATEWAY_TIMEOUT_MS;
        } else if (u6 < errorRate) {
          status = 'error';
          retries = 1;
          latencyMs = rttMs + waitMs + prefillMs;
        } else {
          retries = u6 < errorRate + RETRIED_OK_RATE ? 1 : 0;
          output = generated;
          ttftMs = rttMs + waitMs + prefillMs + perTokenMs + retries * 250;
          latencyMs = ttftMs + (output - 1) * perTokenMs;
        }
        const replica = set.replicas[(Number(t / TICK_MS) * 7 + i) % set.replicas.length]!;
        if (status !== 'timeout') this.accumulate(replica, waitMs);
      }
      const completedMs = Math.round(arrivalMs + latencyMs);
      const bytes = Math.round((RESPONSE_OVERHEAD_BYTES + output * BYTES_PER_STREAMED_TOKEN) * egressFactor);
      const event: TokenUsage = {
        event_time: completedMs,
        request_id: `${set.requestIdPrefix}-${tickIndex}-${i}`,
        model_name: model.name,
        model_version: set.version,
        response_model: null,
        operation_name: model.operation,
        region: deployment.region.id,
        endpoint: model.endpoint,
        team: model.team,
        experiment: null,
        environment: 'prod',
        input_tokens: input,
        output_tokens: output,
        cached_input_tokens: Math.min(input, Math.round(input * shape.cachedShare * (0.5 + u7))),
        latency_ms: Math.round(latencyMs * 10) / 10,
        time_to_first_token_ms: ttftMs === null ? null : Math.round(ttftMs * 10) / 10,
        status,
        retry_count: retries,
        egress_bytes: bytes,
        cache_creation_input_tokens: null,
        provider_name: null,
      };
      this.stats.requests[status]++;
      const completionSecond = Math.floor(completedMs / TICK_MS);
      let bucket = this.completions.get(completionSecond);
      if (!bucket) this.completions.set(completionSecond, (bucket = []));
      bucket.push(event);
      const hour = Math.floor(completedMs / HOUR_MS) * HOUR_MS;
      runtime.egressByHour.set(hour, (runtime.egressByHour.get(hour) ?? 0) + bytes);
    }
    // Preemptions: the KV cache runs out when the batch is over-full, and the scheduler evicts sequences.
    if (state.offeredLoad > 0.9 && set.replicas.length > 0) {
      const preempted = poisson(random, count * 0.03 * (Math.min(state.offeredLoad, 2) - 0.9));
      for (let p = 0; p < preempted; p++) this.accumulator(set.replicas[p % set.replicas.length]!).preemptions++;
    }
  }

  /** Assigns nodes to versions and replicas to scrape phases; runs only when the rollout steps or nodes fail or recover. */
  private layOut(runtime: DeploymentRuntime, canary: number, layout: string, effects: IncidentEffects): void {
    const { deployment } = runtime;
    const phases = Math.round(this.queueIntervalMs / TICK_MS);
    runtime.layout = layout;
    runtime.canaryNodes = canary;
    runtime.healthy = [0, 0];
    for (const [index, set] of [runtime.stable, runtime.canary].entries()) {
      set.replicas = [];
      set.replicaNodes.clear();
      set.replicasByPhase = Array.from({ length: phases }, () => []);
      for (let slot = 0; slot < deployment.nodes.length; slot++) {
        const node = deployment.nodes[slot]!;
        if ((slot < canary ? 1 : 0) !== index || effects.failure(node)) continue;
        runtime.healthy[index]++;
        for (const name of this.replicaNames(set, node)) {
          set.replicas.push(name);
          set.replicaNodes.set(name, node);
          set.replicasByPhase[hash32(`scrape|${name}`) % phases]!.push(name);
        }
      }
    }
  }

  /** The vLLM pods a node runs for a replica set (names cached: they only change with the version). */
  private replicaNames(set: ReplicaSet, node: GpuNode): string[] {
    const cacheKey = `${set.key}|${node.resourceId}`;
    let names = this.replicaNameCache.get(cacheKey);
    if (!names) {
      names = Array.from({ length: set.deployment.replicasPerNode }, (_, r) => `${set.deployment.model.endpoint}-${set.podTemplateHash}-${hexId(`${node.resourceId}|${r}`, 5)}`);
      this.replicaNameCache.set(cacheKey, names);
    }
    return names;
  }

  private accumulator(replica: string): ReplicaAccumulator {
    let acc = this.accumulators.get(replica);
    if (!acc) this.accumulators.set(replica, (acc = { waits: [], waitSumMs: 0, preemptions: 0 }));
    return acc;
  }

  private accumulate(replica: string, waitMs: number): void {
    const acc = this.accumulator(replica);
    acc.waits.push(waitMs);
    acc.waitSumMs += waitMs;
  }

  /** The vLLM /metrics scrape of each replica whose scrape second this is. */
  private sampleQueues(set: ReplicaSet, t: number, batch: SimulationBatch): void {
    const phases = Math.round(this.queueIntervalMs / TICK_MS);
    const second = t / TICK_MS;
    const { deployment } = set;
    const depth = queueDepth(set.arrivalsPerSecond, set.state, set.backlog);
    const kvUsage = kvCacheUsage(set);
    for (const replica of set.replicasByPhase[second % phases] ?? []) {
      const random = streamFor(this.fleet.seed, `queue|${replica}|${t}`);
      const acc = this.accumulators.get(replica);
      this.accumulators.delete(replica);
      const waits = acc?.waits ?? [];
      const node = set.replicaNodes.get(replica)!;
      const slots = deployment.profile.batchSlots;
      batch.queue.push({
        event_time: t,
        sample_interval_ms: this.queueIntervalMs,
        endpoint: deployment.model.endpoint,
        replica,
        model_name: deployment.model.name,
        model_version: set.version,
        region: deployment.region.id,
        node: node.nodeName,
        resource_id: node.resourceId,
        team: deployment.model.team,
        environment: 'prod',
        num_requests_waiting: Math.max(0, Math.round(depth / set.replicas.length + (depth > 0 ? random.normal() * Math.sqrt(depth / set.replicas.length) : 0))),
        num_requests_running: Math.round(clamp(set.state.slotUtilization * slots + random.normal() * Math.sqrt(slots * set.state.slotUtilization + 1e-9), 0, slots)),
        queue_wait_count: waits.length,
        queue_wait_ms_sum: Math.round((acc?.waitSumMs ?? 0) * 10) / 10,
        queue_wait_ms_p95: waits.length === 0 ? null : Math.round(quantile(waits, 0.95) * 10) / 10,
        kv_cache_usage_perc: Math.round(clamp(kvUsage + random.normal() * 0.01, 0, 1) * 1000) / 1000,
        num_preemptions: acc?.preemptions ?? 0,
      });
      this.stats.queueSamples++;
    }
  }

  /** One DCGM scrape of every GPU of a node. */
  private sampleGpu(node: GpuNode, t: number, batch: SimulationBatch): void {
    if ((node.launchedAtMs !== undefined && t < node.launchedAtMs) || (node.terminatedAtMs !== undefined && t >= node.terminatedAtMs)) return;
    const random = streamFor(this.fleet.seed, `gpu|${node.resourceId}|${t}`);
    const gpu = node.gpuClass;
    const runtime = this.runtimeByNode.get(node);
    const assignment = node.assignment;
    const failure = this.effects.failure(node);
    const idle = this.effects.isIdle(node);
    let fill = 0;
    let kv = 0;
    let version: string | null = null;
    if (assignment.workload === 'inference' && runtime) {
      const set = assignment.slot < runtime.canaryNodes ? runtime.canary : runtime.stable;
      fill = set.state.slotUtilization;
      kv = kvCacheUsage(set);
      version = set.version;
    }
    const checkpointing = assignment.workload === 'training' && (t + hash32(assignment.job.id) * 1000) % CHECKPOINT_EVERY_MS < CHECKPOINT_LASTS_MS;
    const notebookActive = assignment.workload === 'notebook' && isWorkingHours(node, t) && hash32(`${node.resourceId}|${Math.floor(t / HOUR_MS)}`) % 100 < 55;
    for (let g = 0; g < node.gpuUuids.length; g++) {
      const z1 = random.normal();
      const z2 = random.normal();
      const z3 = random.normal();
      const z4 = random.normal();
      let util: number;
      let sm: number;
      let dram: number;
      let fbShare: number;
      if (failure) {
        util = 0;
        sm = 0;
        dram = 0;
        fbShare = 0;
      } else if (assignment.workload === 'inference') {
        // DCGM's GPU utilisation counts time any kernel runs: it saturates long before the batch is full.
        util = 100 * (1 - Math.exp(-4 * fill)) + 1.5 * z1;
        sm = 0.04 + 0.78 * fill + 0.02 * z2;
        dram = 0.05 + 0.7 * fill + 0.02 * z3;
        const weights = runtime ? runtime.deployment.profile.weightsMiBPerGpu : 0;
        fbShare = (weights + 1_200 + (gpu.memoryMiB * 0.92 - weights - 1_200) * kv) / gpu.memoryMiB;
      } else if (assignment.workload === 'training') {
        if (idle) {
          // The job hangs (or finished without releasing its pods): nothing runs, memory stays held.
          util = 0;
          sm = 0;
          dram = 0;
        } else if (checkpointing) {
          util = 12 + 3 * z1;
          sm = 0.06 + 0.01 * z2;
          dram = 0.25 + 0.03 * z3;
        } else {
          util = 97 + 1.5 * z1;
          sm = 0.78 + 0.03 * z2;
          dram = 0.56 + 0.03 * z3;
        }
        fbShare = 0.93;
      } else if (notebookActive) {
        util = 32 + 15 * z1;
        sm = 0.18 + 0.06 * z2;
        dram = 0.12 + 0.04 * z3;
        fbShare = 0.45;
      } else {
        util = 0;
        sm = 0;
        dram = 0;
        fbShare = 0.05;
      }
      util = clamp(util, 0, 100);
      sm = clamp(sm, 0, 1);
      dram = clamp(dram, 0, 1);
      const busy = failure ? 0 : clamp(0.1 * (util / 100) + 0.85 * sm + 0.1 * dram, 0, 1);
      const power = clamp(gpu.idleWatts + (gpu.tdpWatts - gpu.idleWatts) * busy + 6 * z4, gpu.idleWatts * 0.8, gpu.tdpWatts * 1.02);
      batch.gpu.push({
        event_time: t,
        sample_interval_ms: this.gpuIntervalMs,
        cluster: node.cluster.name,
        node: node.nodeName,
        gpu_id: g,
        gpu_uuid: node.gpuUuids[g]!,
        gpu_model: gpu.model,
        resource_id: node.resourceId,
        provider: PROVIDER_BILLING[node.region.provider].providerName,
        region: node.region.id,
        instance_type: node.instanceType.name,
        workload: assignment.workload === 'notebook' ? 'other' : assignment.workload,
        model_name: assignment.workload === 'inference' ? assignment.deployment.model.name : assignment.workload === 'training' ? assignment.job.spec.model : null,
        model_version: version,
        endpoint: assignment.workload === 'inference' ? assignment.deployment.model.endpoint : null,
        team: node.team,
        experiment: assignment.workload === 'training' ? assignment.job.spec.experiment : null,
        environment: node.environment,
        gpu_utilization: Math.round(util * 10) / 10,
        sm_active: Math.round(sm * 1000) / 1000,
        fb_used_mib: Math.round(clamp(fbShare, 0, 1) * gpu.memoryMiB),
        fb_total_mib: gpu.memoryMiB,
        dram_active: Math.round(dram * 1000) / 1000,
        power_watts: Math.round(power * 10) / 10,
        temperature_c: Math.round((31 + (42 * power) / gpu.tdpWatts + 0.8 * z4) * 10) / 10,
        xid_errors: failure && failure.sinceMs > t - this.gpuIntervalMs ? 1 : 0,
        last_xid: failure ? failure.xid : null,
      });
      this.stats.gpuSamples++;
    }
  }
}


/** KV-cache blocks in use: the batch's sequences, plus the queue pressing in when the batch is over-full. */
function kvCacheUsage(set: ReplicaSet): number {
  const pressure = set.servers > 0 ? Math.min(1, set.backlog / set.servers) : 0;
  return Math.min(1, 0.9 * set.state.slotUtilization + 0.08 * pressure);
}

function isWorkingHours(node: GpuNode, t: number): boolean {
  const { hour, weekday } = localTime(node.region.timeZone, t);
  return weekday >= 1 && weekday <= 5 && hour >= 9 && hour < 19;
}

function traceShares(fleet: Fleet, tokens: TokenMeans): number[] {
  const rates = fleet.deployments.map((d) => rateAtUtilization(capacityOf(d.profile, d.nodes.length * d.replicasPerNode, tokens), TARGET_PEAK_UTILIZATION));
  const total = rates.reduce((s, r) => s + r, 0);
  return rates.map((r) => r / total);
}

function traceTokenMeans(trace: RequestTrace): TokenMeans {
  let input = 0;
  let output = 0;
  for (const r of trace.requests) {
    input += r.inputTokens;
    output += r.outputTokens;
  }
  return { input: input / trace.requests.length, output: Math.max(1, output / trace.requests.length) };
}
