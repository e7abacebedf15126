import type { Command } from 'commander';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Message, Producer, TopicMessages } from 'kafkajs';
import { parse as parseYaml } from 'yaml';
import { loadConfig } from '../../config/load.js';
import type { CostlineConfig } from '../../config/schema.js';
import { connect, type Connections } from '../../runtime/bootstrap.js';
import { contracts, encodeWithId, valueSubject, WireCodec, type Contract } from '../../../schemas/index.js';
import { ensureTopics, idempotentProducer } from '../../../sinks/kafka/index.js';
import { buildFleet, FleetSimulation, parseDurationMs, parseTrace, type Fleet, type SimulationBatch } from '../../simulate/fleet/index.js';
import { incidentSpecsFrom, PRESETS, resolveIncidents, type IncidentSpec, type TruthRecord } from '../../simulate/incidents/index.js';
import { narrator, type Narrator } from '../narrate.js';

/**
 * `costline simulate`: a realistic GPU fleet, produced to Kafka as its exporters would (DCGM
 * samples, vLLM queue samples, gateway request logs, a late FOCUS billing export). The model is
 * pure (pipeline/simulate/fleet); this command paces it against the wall clock and produces it.
 */

export interface SimulateSettings {
  durationS: number;
  speedup: number;
  seed: number;
  gpus: number;
  regions: string[] | number;
  rate?: number;
  startMs: number;
  billingDelayMs: number;
  tracePath?: string;
  incidents: string[];
  truthPath?: string;
  dryRun: boolean;
}

interface RawOptions {
  duration: string;
  speedup: string;
  seed: string;
  gpus: string;
  regions: string;
  rate?: string;
  start?: string;
  billingDelay: string;
  trace?: string;
  incident: string[];
  truth?: string;
  dryRun?: boolean;
}

function positiveNumber(flag: string, value: string, example: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${flag} ${value} is not a positive number. Fix: pass e.g. ${flag} ${example}.`);
  return n;
}

function wholeNumber(flag: string, value: string, min: number, example: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new Error(`${flag} ${value} is not a whole number of at least ${min}. Fix: pass e.g. ${flag} ${example}.`);
  return n;
}

/** Validates the flags; every error names the flag, the value and the fix. */
export function settingsFrom(options: RawOptions, nowMs: number): SimulateSettings {
  const durationS = positiveNumber('--duration', options.duration, '60');
  const speedup = positiveNumber('--speedup', options.speedup, '60');
  const regionsText = options.regions.trim();
  const regions = /^\d+$/.test(regionsText) ? Number(regionsText) : regionsText.split(',').map((r) => r.trim()).filter(Boolean);
  let startMs = Math.floor((nowMs - durationS * speedup * 1000) / 1000) * 1000;
  if (options.start !== undefined) {
    startMs = Date.parse(options.start);
    if (!/^\d{4}-\d{2}-\d{2}/.test(options.start) || !Number.isFinite(startMs)) throw new Error(`--start ${options.start} is not an ISO instant. Fix: pass e.g. --start 2026-11-20T08:00:00Z, or leave it out to end the simulated span now.`);
  }
  const billingDelayMs = parseDurationMs(options.billingDelay);
  if (billingDelayMs === undefined) throw new Error(`--billing-delay ${options.billingDelay} is not a duration. Fix: pass e.g. --billing-delay 3h (0s delivers each hour's lines as it closes).`);
  return {
    durationS,
    speedup,
    seed: wholeNumber('--seed', options.seed, 0, '7'),
    gpus: wholeNumber('--gpus', options.gpus, 1, '256'),
    regions,
    rate: options.rate === undefined ? undefined : positiveNumber('--rate', options.rate, '200'),
    startMs,
    billingDelayMs,
    tracePath: options.trace,
    incidents: options.incident,
    truthPath: options.truth,
    dryRun: options.dryRun === true,
  };
}

/** Presets by name, files by path: each value of --incident becomes specs with their source. */
export function incidentSpecs(values: string[]): { spec: IncidentSpec; source: string }[] {
  return values.flatMap((value) => {
    const preset = PRESETS[value];
    if (preset) return preset.map((spec) => ({ spec, source: `preset:${value}` }));
    if (!existsSync(value)) {
      throw new Error(`--incident ${value} is neither a preset nor a file. Fix: use a preset (${Object.keys(PRESETS).join(', ')}) or the path of a YAML/JSON incident file.`);
    }
    let parsed: unknown;
    try {
      parsed = parseYaml(readFileSync(value, 'utf8'));
    } catch (error) {
      throw new Error(`incident file ${value} is not valid YAML or JSON: ${(error as Error).message}`);
    }
    return incidentSpecsFrom(parsed, value).map((spec) => ({ spec, source: `file:${value}` }));
  });
}

export interface PreparedSimulation {
  fleet: Fleet;
  simulation: FleetSimulation;
  truth: TruthRecord[];
  settings: SimulateSettings;
}

/** Builds the fleet, reads the trace and incident files, and binds everything to the simulated span. */
export function prepareSimulation(settings: SimulateSettings): PreparedSimulation {
  const fleet = buildFleet({ seed: settings.seed, gpus: settings.gpus, regions: settings.regions });
  const spanMs = Math.round(settings.durationS * settings.speedup * 1000);
  let trace;
  if (settings.tracePath !== undefined) {
    if (!existsSync(settings.tracePath)) throw new Error(`--trace ${settings.tracePath} does not exist. Fix: pass a CSV with columns TIMESTAMP,ContextTokens,GeneratedTokens (e.g. ../shared/data/azure-llm-2023/code.csv).`);
    trace = parseTrace(readFileSync(settings.tracePath, 'utf8'), settings.tracePath);
  }
  const incidents = resolveIncidents(incidentSpecs(settings.incidents), fleet, settings.startMs, spanMs);
  const simulation = new FleetSimulation(fleet, {
    seed: settings.seed,
    startMs: settings.startMs,
    spanMs,
    peakRatePerSecond: settings.rate,
    trace,
    incidents,
    billingDelayMs: settings.billingDelayMs,
  });
  return { fleet, simulation, truth: simulation.truth(), settings };
}

export type TopicRole = 'gpu' | 'queue' | 'tokens' | 'billing';
export const TOPIC_ROLES: readonly TopicRole[] = ['gpu', 'queue', 'tokens', 'billing'];
export type TopicCounts = Record<TopicRole, number>;

/**
 * Each record's Kafka key, as DESIGN.md says: a GPU sample and a billing line by resource id
 * (the same key, so they co-partition), token usage and queue samples by endpoint.
 */
export function messagesOf(batch: SimulationBatch, encoders: Record<TopicRole, (value: unknown) => Buffer>): Record<TopicRole, Message[]> {
  return {
    gpu: batch.gpu.map((e) => ({ key: e.resource_id, value: encoders.gpu(e) })),
    queue: batch.queue.map((e) => ({ key: e.endpoint, value: encoders.queue(e) })),
    tokens: batch.tokens.map((e) => ({ key: e.endpoint, value: encoders.tokens(e) })),
    billing: batch.billing.map((e) => ({ key: e.ResourceId ?? `${e.ProviderName}|${e.ServiceName}`, value: encoders.billing(e) })),
  };
}

const CONTRACTS: Record<TopicRole, Contract<unknown>> = {
  gpu: contracts.gpuSample as Contract<unknown>,
  queue: contracts.queueSample as Contract<unknown>,
  tokens: contracts.tokenUsage as Contract<unknown>,
  billing: contracts.billingCost as Contract<unknown>,
};

/** Topics and subjects of the four input families: created when missing, registered with BACKWARD compatibility. */
export async function prepareTopicsAndSubjects(config: CostlineConfig, connections: Connections): Promise<Record<TopicRole, (value: unknown) => Buffer>> {
  const admin = connections.kafka.admin();
  try {
    await admin.connect().catch((error: Error) => {
      throw new Error(`Kafka at ${config.kafka.brokers.join(',')} did not answer: ${error.message}. Check KAFKA_BROKERS and that the broker runs (costline stack status), or pass --dry-run.`);
    });
    await ensureTopics(admin, TOPIC_ROLES.map((role) => config.topics[role]), config.kafka.partitions);
  } finally {
    await admin.disconnect();
  }
  const encoders = {} as Record<TopicRole, (value: unknown) => Buffer>;
  for (const role of TOPIC_ROLES) {
    const subject = valueSubject(config.topics[role]);
    await connections.registry.registerWithCompatibility(subject, CONTRACTS[role].schema, 'BACKWARD');
    // The id is fixed for the run: encode synchronously on the hot path, through the one wire-format module.
    const schemaId = await new WireCodec(connections.registry, CONTRACTS[role], subject).schemaId();
    const type = CONTRACTS[role].type;
    encoders[role] = (value) => encodeWithId(schemaId, type, value);
  }
  return encoders;
}

export interface ProduceProgress {
  wallElapsedMs: number;
  simulatedClockMs: number;
  produced: TopicCounts;
  /** Simulated time the producer is behind where the speedup says it should be, ms (0 when keeping up). */
  behindMs: number;
}

export interface ProduceReport {
  produced: TopicCounts;
  wallMs: number;
  eventsPerSecond: number;
}

/**
 * Messages per produce request: well under the broker's default 1 MB per partition batch, and
 * small enough that KafkaJS's grouping of a request's messages by partition (which copies the
 * group on every message: quadratic in the messages per partition) stays cheap.
 */
const MAX_MESSAGES_PER_SEND = 1_000;

/**
 * Runs the simulation against the wall clock (simulated time = start + elapsed × speedup) and
 * produces every event: one idempotent producer, batched sends over the four topics, the next
 * batch generated and encoded while the previous one is in flight. When the broker cannot keep
 * up the simulated clock falls behind (reported), never skips: the events are the same either way.
 */
export async function produceSimulation(
  simulation: FleetSimulation,
  producer: Producer,
  topics: Record<TopicRole, string>,
  encoders: Record<TopicRole, (value: unknown) => Buffer>,
  speedup: number,
  onProgress: (progress: ProduceProgress) => void = () => {},
  stop?: AbortSignal,
  progressEveryMs = 2_000,
): Promise<ProduceReport> {
  const produced: TopicCounts = { gpu: 0, queue: 0, tokens: 0, billing: 0 };
  const wallStart = Date.now();
  let lastProgress = wallStart;
  let inflight: Promise<void> = Promise.resolve();
  // Each step covers 100 ms of wall time (at least one simulated second).
  const stepMs = Math.max(1_000, Math.round(speedup * 100));
  const send = async (chunks: TopicMessages[][]) => {
    for (const topicMessages of chunks) await producer.sendBatch({ acks: -1, topicMessages });
  };
  while (!simulation.done && !stop?.aborted) {
    const dueMs = simulation.startMs + (Date.now() - wallStart) * speedup;
    if (simulation.clock >= dueMs && simulation.clock < simulation.endMs) {
      await sleep(Math.min(100, Math.ceil((simulation.clock - dueMs) / speedup) + 1));
      continue;
    }
    const batch = simulation.advance(Math.min(simulation.clock + stepMs, Math.max(dueMs, simulation.clock + 1_000)));
    const messages = messagesOf(batch, encoders);
    const chunks = chunked(messages, topics);
    await inflight;
    inflight = send(chunks);
    for (const role of TOPIC_ROLES) produced[role] += messages[role].length;
    const now = Date.now();
    if (now - lastProgress >= progressEveryMs) {
      lastProgress = now;
      onProgress({ wallElapsedMs: now - wallStart, simulatedClockMs: simulation.clock, produced: { ...produced }, behindMs: Math.max(0, simulation.startMs + (now - wallStart) * speedup - simulation.clock) });
    }
  }
  await inflight;
  const wallMs = Date.now() - wallStart;
  const total = TOPIC_ROLES.reduce((s, r) => s + produced[r], 0);
  return { produced, wallMs, eventsPerSecond: total / (wallMs / 1000) };
}

/** Splits one step's messages into produce requests of at most MAX_MESSAGES_PER_SEND, topics mixed. */
function chunked(messages: Record<TopicRole, Message[]>, topics: Record<TopicRole, string>): TopicMessages[][] {
  const chunks: TopicMessages[][] = [];
  let current: TopicMessages[] = [];
  let size = 0;
  for (const role of TOPIC_ROLES) {
    const list = messages[role];
    for (let i = 0; i < list.length; ) {
      const take = Math.min(list.length - i, MAX_MESSAGES_PER_SEND - size);
      current.push({ topic: topics[role], messages: list.slice(i, i + take) });
      size += take;
      i += take;
      if (size >= MAX_MESSAGES_PER_SEND) {
        chunks.push(current);
        current = [];
        size = 0;
      }
    }
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}

const iso = (ms: number) => new Date(ms).toISOString().replace('.000Z', 'Z');
const count = (n: number) => Math.round(n).toLocaleString('en-US');

function describeFleet(say: Narrator, prepared: PreparedSimulation): void {
  const { fleet, simulation, settings } = prepared;
  const byRole = (w: string) => fleet.nodes.filter((n) => n.assignment.workload === w).reduce((s, n) => s + n.instanceType.gpusPerNode, 0);
  say.step(`fleet (seed ${settings.seed}): ${count(fleet.gpuCount)} GPUs on ${fleet.nodes.length} nodes in ${fleet.regions.map((r) => r.id).join(', ')}: ${byRole('inference')} serving, ${byRole('training')} training, ${byRole('notebook')} notebooks`);
  for (const d of fleet.deployments) {
    say.detail(`${d.model.endpoint.padEnd(14)} ${d.region.id.padEnd(15)} ${d.model.name.padEnd(24)} ${String(d.nodes.length).padStart(3)} × ${d.instanceType.name.padEnd(24)} ${d.model.stableVersion} → ${d.model.rolloutVersion}`);
  }
  for (const j of fleet.jobs) say.detail(`${j.spec.experiment.padEnd(26)} ${j.region.id.padEnd(15)} team ${j.spec.team.padEnd(12)} ${String(j.nodes.length).padStart(3)} × ${j.instanceType.name}`);
  const traffic = settings.tracePath ? `replaying ${settings.tracePath} at ${simulation.peakRatePerSecond.toFixed(1)} requests/s` : `${count(simulation.peakRatePerSecond)} requests/s at the regional peaks (daily cycle per region time zone)`;
  say.step(`simulated ${iso(simulation.startMs)} → ${iso(simulation.endMs)} (${((simulation.endMs - simulation.startMs) / 3_600_000).toFixed(2)} h at ${settings.speedup}× over ${settings.durationS} s); ${traffic}; billing lines arrive ${settings.billingDelayMs / 3_600_000} h after their charge hour`);
  for (const t of prepared.truth) say.warn(`incident ${t.kind} ${t.start_iso} → ${t.end_iso}: ${t.description}`);
}

function describeEnd(say: Narrator, simulation: FleetSimulation, produced: TopicCounts, wallMs: number, verb: string): void {
  const total = TOPIC_ROLES.reduce((s, r) => s + produced[r], 0);
  say.done(`${verb} ${count(total)} events in ${(wallMs / 1000).toFixed(1)} s (${count(total / (wallMs / 1000))} events/s): ` + TOPIC_ROLES.map((r) => `${r} ${count(produced[r])}`).join(', '));
  const r = simulation.stats.requests;
  say.detail(`requests: ${count(r.ok)} ok, ${count(r.error)} error, ${count(r.timeout)} timeout, ${count(r.rate_limited)} rate limited; highest offered load ${simulation.stats.peakOfferedLoad.value.toFixed(2)} (${simulation.stats.peakOfferedLoad.replicaSet})`);
  say.detail(`billing: ${count(simulation.stats.billingLines)} lines delivered, ${count(simulation.stats.billingInTransit)} still in the export pipeline at the end (they arrive after it)`);
}

function writeTruth(path: string, truth: TruthRecord[], say: Narrator): void {
  writeFileSync(path, truth.map((t) => JSON.stringify(t)).join('\n') + (truth.length > 0 ? '\n' : ''));
  say.done(`ground truth: ${truth.length} incident(s) written to ${path}`);
}

export function registerSimulateCommand(program: Command): void {
  program
    .command('simulate')
    .description('a realistic GPU fleet (DCGM, vLLM queues, request logs, late FOCUS billing) produced to Kafka, with injectable incidents')
    .option('--duration <s>', 'wall-clock seconds to run', '60')
    .option('--speedup <n>', 'simulated time runs this many times faster than the wall clock', '60')
    .option('--seed <n>', 'random seed: the same seed, start and flags give the same events', '1')
    .option('--gpus <n>', 'fleet size in GPUs (rounded to whole nodes)', '256')
    .option('--regions <n|ids>', `how many regions, or their ids (e.g. us-east-1,eu-west-1,us-central1)`, '3')
    .option('--rate <req/s>', 'requests per second at the regional peaks, fleet-wide (default: what the fleet is sized for; with --trace: the trace mean rate)')
    .option('--start <iso>', 'simulated start (default: now minus duration × speedup, so the data ends now)')
    .option('--billing-delay <duration>', 'how long after its charge hour a billing line arrives', '3h')
    .option('--trace <csv>', 'replay arrivals and token counts of a trace (TIMESTAMP,ContextTokens,GeneratedTokens; the Azure LLM inference trace 2023)')
    .option('--incident <preset|file>', `inject incidents: ${Object.keys(PRESETS).join(', ')}, or a YAML/JSON file (repeatable)`, (value: string, all: string[]) => [...all, value], [] as string[])
    .option('--truth <file>', 'write the ground truth of the incidents as JSON lines')
    .option('--dry-run', 'no Kafka: run as fast as possible and print what would be produced')
    .action(async (options: RawOptions) => {
      const say = narrator(process.stdout);
      const settings = settingsFrom(options, Date.now());
      const prepared = prepareSimulation(settings);
      const { simulation } = prepared;
      say.headline('costline simulate');
      describeFleet(say, prepared);
      if (settings.truthPath) writeTruth(settings.truthPath, prepared.truth, say);
      if (settings.dryRun) {
        const produced: TopicCounts = { gpu: 0, queue: 0, tokens: 0, billing: 0 };
        const started = Date.now();
        let lastProgress = started;
        while (!simulation.done) {
          const batch = simulation.advance(simulation.clock + 60_000);
          for (const role of TOPIC_ROLES) produced[role] += batch[role].length;
          if (Date.now() - lastProgress > 2_000) {
            lastProgress = Date.now();
            say.detail(`dry run: simulated clock ${iso(simulation.clock)}, ${count(TOPIC_ROLES.reduce((s, r) => s + produced[r], 0))} events so far`);
          }
        }
        describeEnd(say, simulation, produced, Math.max(1, Date.now() - started), 'dry run generated (nothing produced)');
        return;
      }
      const config = loadConfig({ file: program.opts().config });
      const nowMs = Date.now();
      if (simulation.startMs < nowMs - 7 * 86_400_000) say.warn('the simulated span starts more than 7 days ago: the pipeline refuses events that old as stale (see --start)');
      if (simulation.endMs > nowMs + 3_600_000) say.warn('the simulated span ends more than an hour from now: the pipeline refuses events that far ahead as from the future (see --start)');
      const connections = connect(config, '-simulate');
      const producer = idempotentProducer(connections.kafka);
      try {
        say.step(`preparing topics and subjects (BACKWARD) on ${config.kafka.brokers.join(',')}: ${TOPIC_ROLES.map((r) => config.topics[r]).join(', ')}`);
        const encoders = await prepareTopicsAndSubjects(config, connections);
        await producer.connect();
        const topics = { gpu: config.topics.gpu, queue: config.topics.queue, tokens: config.topics.tokens, billing: config.topics.billing };
        // Ctrl-C stops at the next step, after the records in flight are acknowledged.
        const stop = new AbortController();
        process.once('SIGINT', () => {
          say.warn('interrupted: finishing the send in flight, then stopping');
          stop.abort();
        });
        let previous: TopicCounts = { gpu: 0, queue: 0, tokens: 0, billing: 0 };
        let previousAt = 0;
        const report = await produceSimulation(simulation, producer, topics, encoders, settings.speedup, (p) => {
          const seconds = (p.wallElapsedMs - previousAt) / 1000;
          const rates = TOPIC_ROLES.map((r) => `${r} ${count((p.produced[r] - previous[r]) / seconds)}/s`).join('  ');
          const done = ((p.simulatedClockMs - simulation.startMs) / (simulation.endMs - simulation.startMs)) * 100;
          say.detail(`${iso(p.simulatedClockMs)} (${done.toFixed(0)}%)  ${rates}${p.behindMs > 1_000 ? `  behind by ${(p.behindMs / 1000 / settings.speedup).toFixed(1)} s of wall time` : ''}`);
          previous = p.produced;
          previousAt = p.wallElapsedMs;
        }, stop.signal);
        describeEnd(say, simulation, report.produced, report.wallMs, 'produced');
        if (report.wallMs > settings.durationS * 1000 * 1.1) {
          say.warn(`the broker took ${(report.wallMs / 1000).toFixed(1)} s for ${settings.durationS} s of planned run: lower --rate, --gpus or --speedup to run in real time`);
        }
      } finally {
        await producer.disconnect();
        await connections.close();
      }
    });
}
