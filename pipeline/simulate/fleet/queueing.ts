/**
 * The queueing model of one replica set (an endpoint's replicas of one model version in one
 * region). Continuous batching is an M/M/c queue whose c servers are the batch slots of all
 * replicas: a request waits only when every slot is taken. A request's service time is its
 * prefill plus its decode, and decode slows down as the batch fills (the replica's memory
 * bandwidth is shared by every sequence in the batch), so the service rate itself falls with load.
 *
 * Offered load ρ = λ·E[S](ρ)/c. Below 1, the wait comes from Erlang C; at or above 1 the queue
 * has no steady state and grows as a fluid backlog (arrivals minus what the slots complete),
 * draining again when load falls.
 */

export interface ReplicaSetCapacity {
  /** c: batch slots over all healthy replicas. */
  servers: number;
  /** Mean service time at an empty batch, ms: mean prefill + mean output tokens × decode time per token. */
  serviceMsEmpty: number;
  /** Extra mean service time when the batch is full, ms (decode slowdown × mean output tokens × decode time). */
  serviceMsFullExtra: number;
}

export interface QueueState {
  /** Offered load ρ = λ·E[S]/c: above 1 the replica set cannot keep up. */
  offeredLoad: number;
  /** Share of batch slots busy, min(ρ, 1). */
  slotUtilization: number;
  /** Mean service time at this load, ms. */
  meanServiceMs: number;
  /** Completions per second the replica set sustains at this load. */
  capacityPerSecond: number;
  /** Erlang C: the probability an arriving request finds every slot busy (1 when saturated). */
  waitProbability: number;
  /** Mean wait in the steady-state queue, ms (the backlog's wait comes on top). */
  meanQueueWaitMs: number;
}

/** The steady-state term stops at this load; above it the fluid backlog carries the queue. */
export const STEADY_STATE_LIMIT = 0.995;

/**
 * Erlang C probability of waiting for c servers at offered traffic A = λ/μ (erlangs), A < c.
 * Computed through the Erlang B recursion, which stays finite for thousands of servers.
 */
export function erlangC(servers: number, offeredErlangs: number): number {
  if (servers <= 0) return 1;
  if (offeredErlangs <= 0) return 0;
  if (offeredErlangs >= servers) return 1;
  let erlangB = 1;
  for (let k = 1; k <= servers; k++) erlangB = (offeredErlangs * erlangB) / (k + offeredErlangs * erlangB);
  const rho = offeredErlangs / servers;
  return erlangB / (1 - rho * (1 - erlangB));
}

const erlangCache = new Map<string, number>();

/** erlangC at a load quantised to 1/2000 of the servers: the queue model asks for it every simulated second. */
function cachedErlangC(servers: number, rho: number): number {
  const step = Math.round(rho * 2000);
  const key = `${servers}|${step}`;
  let value = erlangCache.get(key);
  if (value === undefined) {
    value = erlangC(servers, (step / 2000) * servers);
    if (erlangCache.size > 200_000) erlangCache.clear();
    erlangCache.set(key, value);
  }
  return value;
}

/** The replica set's state at arrival rate λ (requests per second). */
export function steadyState(arrivalsPerSecond: number, capacity: ReplicaSetCapacity): QueueState {
  const a = capacity.serviceMsEmpty / 1000;
  const b = capacity.serviceMsFullExtra / 1000;
  const c = capacity.servers;
  const lambda = Math.max(0, arrivalsPerSecond);
  if (c <= 0) {
    return { offeredLoad: lambda > 0 ? Number.POSITIVE_INFINITY : 0, slotUtilization: lambda > 0 ? 1 : 0, meanServiceMs: (a + b) * 1000, capacityPerSecond: 0, waitProbability: 1, meanQueueWaitMs: 0 };
  }
  // ρ = λ(a + b·min(ρ,1))/c, solved in closed form: the batch slowdown makes load feed on itself.
  const saturated = lambda * (a + b) >= c;
  const rho = saturated ? (lambda * (a + b)) / c : (lambda * a) / (c - lambda * b);
  const fill = Math.min(rho, 1);
  const meanServiceS = a + b * fill;
  const steadyRho = Math.min(rho, STEADY_STATE_LIMIT);
  const waitProbability = saturated ? 1 : cachedErlangC(c, steadyRho);
  const mu = 1 / meanServiceS;
  const meanQueueWaitS = waitProbability / (c * mu * (1 - steadyRho));
  return {
    offeredLoad: rho,
    slotUtilization: fill,
    meanServiceMs: meanServiceS * 1000,
    capacityPerSecond: c / meanServiceS,
    waitProbability,
    meanQueueWaitMs: meanQueueWaitS * 1000,
  };
}

/**
 * The backlog beyond the steady-state queue after `seconds` more: it grows by what arrives
 * beyond capacity and drains by spare capacity, never below zero.
 */
export function nextBacklog(backlog: number, arrivalsPerSecond: number, state: QueueState, seconds: number): number {
  return Math.max(0, backlog + (arrivalsPerSecond - state.capacityPerSecond) * seconds);
}

/** Mean wait an arriving request sees: the steady-state queue plus its place behind the backlog. */
export function meanWaitMs(state: QueueState, backlog: number): number {
  const backlogWaitMs = state.capacityPerSecond > 0 ? (backlog / state.capacityPerSecond) * 1000 : 0;
  return state.meanQueueWaitMs + backlogWaitMs;
}

/** Requests waiting (vLLM num_requests_waiting): Little's law on the steady-state wait, plus the backlog. */
export function queueDepth(arrivalsPerSecond: number, state: QueueState, backlog: number): number {
  return arrivalsPerSecond * (state.meanQueueWaitMs / 1000) + backlog;
}
