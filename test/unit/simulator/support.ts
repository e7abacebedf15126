import type { BillingCost, GpuSample, QueueSample, TokenUsage } from '../../../schemas/index.js';
import { buildFleet, FleetSimulation, type Fleet, type SimulationOptions } from '../../../pipeline/simulate/fleet/index.js';
import { resolveIncidents, type IncidentSpec } from '../../../pipeline/simulate/incidents/index.js';

export const HOUR = 3_600_000;
export const MINUTE = 60_000;
/** A Wednesday, on the hour, in UTC. */
export const START = Date.parse('2026-11-18T12:00:00Z');

export interface Run {
  fleet: Fleet;
  simulation: FleetSimulation;
  gpu: GpuSample[];
  queue: QueueSample[];
  tokens: TokenUsage[];
  billing: BillingCost[];
}

export interface RunOptions extends Partial<Omit<SimulationOptions, 'incidents'>> {
  gpus?: number;
  regions?: string[] | number;
  incidents?: IncidentSpec[];
  /** Simulated ms per advance() call: the pace must not change the events. */
  stepMs?: number;
}

/** A small fleet run to its end, every event collected. */
export function runFleet(options: RunOptions = {}): Run {
  const seed = options.seed ?? 11;
  const fleet = buildFleet({ seed, gpus: options.gpus ?? 96, regions: options.regions ?? 2 });
  const startMs = options.startMs ?? START;
  const spanMs = options.spanMs ?? 30 * MINUTE;
  const incidents = resolveIncidents((options.incidents ?? []).map((spec) => ({ spec, source: 'test' })), fleet, startMs, spanMs);
  const simulation = new FleetSimulation(fleet, {
    seed,
    startMs,
    spanMs,
    peakRatePerSecond: options.peakRatePerSecond ?? 20,
    trace: options.trace,
    incidents,
    billingDelayMs: options.billingDelayMs ?? 0,
    gpuSampleIntervalMs: options.gpuSampleIntervalMs,
    queueSampleIntervalMs: options.queueSampleIntervalMs,
  });
  const run: Run = { fleet, simulation, gpu: [], queue: [], tokens: [], billing: [] };
  const step = options.stepMs ?? 10 * MINUTE;
  while (!simulation.done) {
    const batch = simulation.advance(simulation.clock + step);
    run.gpu.push(...batch.gpu);
    run.queue.push(...batch.queue);
    run.tokens.push(...batch.tokens);
    run.billing.push(...batch.billing);
  }
  return run;
}

/** Events as comparable text, grouped by a key function. */
export function byKey<T>(events: T[], key: (e: T) => string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const e of events) {
    const k = key(e);
    let list = out.get(k);
    if (!list) out.set(k, (list = []));
    list.push(text(e));
  }
  for (const list of out.values()) list.sort();
  return out;
}

/** Stable text of any event (Buffers as hex). */
export function text(event: unknown): string {
  return JSON.stringify(event, (_, v: unknown) => (v && typeof v === 'object' && (v as { type?: string }).type === 'Buffer' ? Buffer.from((v as { data: number[] }).data).toString('hex') : v));
}
