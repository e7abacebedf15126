import type { ServingProfile, TokenShape } from './catalog.js';
import type { ReplicaSetCapacity } from './queueing.js';

/** The slot utilisation a fleet is sized for at its daily peak when no --rate is given. */
export const TARGET_PEAK_UTILIZATION = 0.65;

export interface TokenMeans {
  input: number;
  output: number;
}

/** Means of the log-normal token shapes (median × e^(σ²/2)). */
export function meanTokens(shape: TokenShape): TokenMeans {
  return { input: shape.inputMedian * Math.exp((shape.inputSigma * shape.inputSigma) / 2), output: shape.outputMedian * Math.exp((shape.outputSigma * shape.outputSigma) / 2) };
}

/**
 * The queueing capacity of `replicas` replicas: batch slots as servers, service time from the
 * mean prompt (prefill) and the mean output (decode), decode slowed by `decodeFactor`
 * (a regression) and by the batch filling up.
 */
export function capacityOf(profile: ServingProfile, replicas: number, tokens: TokenMeans, decodeFactor = 1): ReplicaSetCapacity {
  const prefillMs = (tokens.input / profile.prefillTokensPerSecond) * 1000 * prefillFactor(decodeFactor);
  const decodeMs = tokens.output * profile.decodeMsPerToken * decodeFactor;
  return { servers: replicas * profile.batchSlots, serviceMsEmpty: prefillMs + decodeMs, serviceMsFullExtra: decodeMs * profile.batchSlowdown };
}

/** A regression that slows decode slows prefill by half as much (the same kernels, compute-bound rather than memory-bound). */
export function prefillFactor(decodeFactor: number): number {
  return 1 + (decodeFactor - 1) / 2;
}

/** Arrival rate that loads the capacity to slot utilisation ρ < 1: λ = ρc / E[S](ρ). */
export function rateAtUtilization(capacity: ReplicaSetCapacity, rho: number): number {
  return (rho * capacity.servers) / ((capacity.serviceMsEmpty + capacity.serviceMsFullExtra * rho) / 1000);
}

/** Network round trip from the client to the region's gateway, ms (a typical in-continent user). */
export const BASE_RTT_MS = 28;
/** Requests wait at most this long before the gateway gives up (status timeout). */
export const GATEWAY_TIMEOUT_MS = 60_000;
/** Requests beyond this many per batch slot waiting are refused at the gateway (status rate_limited). */
export const MAX_QUEUED_PER_SLOT = 4;
/** Server errors when nothing is wrong (OOMs, bad requests the model chokes on). */
export const BASE_ERROR_RATE = 0.002;
/** Requests that succeeded after one gateway retry. */
export const RETRIED_OK_RATE = 0.004;
/** Response bytes: HTTP and JSON overhead, plus one server-sent event per streamed token. */
export const RESPONSE_OVERHEAD_BYTES = 420;
export const BYTES_PER_STREAMED_TOKEN = 68;
