/**
 * Benchmark (prints figures; not a timed test): the CPU the pipeline's own code spends per token
 * event, stage by stage, on one thread, with no broker, registry or ClickHouse in the loop.
 *
 *   node --expose-gc --import tsx test/bench/stages-cpu.ts [--events 600000] [--keys 500] [--endpoints-per-key 1] [--partitions 4] [--round-robin] [--passes 3]
 *
 * The throughput bench measures the whole process against KafkaJS on a machine whose cores the
 * broker shares, so its figures move by a third from run to run. This one replays the same
 * workload (token events keyed by endpoint, 10 minutes of event time) through the same code the
 * runners call, in the order they call it:
 *   - stage 1: Confluent wire-format decode, validation and fold into each task's windows; every
 *     12 s of event time (the runners' flush interval at this replay speed) the tasks advance and
 *     their partials and watermark markers are encoded for the internal topic;
 *   - stage 2: those records decoded, merged, advanced, turned into ClickHouse rows (serialized as
 *     the client does) and detector inputs, and run through the default detector set.
 * Each stage's CPU is timed on its own, so a change to one shows in its own figure. Schemas come
 * from memory (a registry answers once per schema id; that is not per-event work).
 */
import { parseArgs } from 'node:util';
import { Partitioners } from 'kafkajs';
import { configSchema } from '../../pipeline/config/schema.js';
import { contracts, WireCodec, type PartialRollup, type TokenUsage } from '../../schemas/index.js';
import { StageOneTask } from '../../pipeline/core/stage-one.js';
import { StageTwoMerger, type MergedRollup } from '../../pipeline/core/stage-two.js';
import { watermarkRecord } from '../../pipeline/core/partial-rollup.js';
import { RateCard } from '../../pipeline/core/rate-card.js';
import { CardinalityGuard } from '../../pipeline/core/cardinality.js';
import { defaultLimits, validateTokenUsage } from '../../pipeline/sources/validate.js';
import { detectorInputs } from '../../pipeline/runtime/detector-inputs.js';
import { DetectorSet } from '../../detectors/index.js';
import { modelRollupRow, ownerSpendRow, providerSpendRow } from '../../sinks/clickhouse/index.js';
import type { RollupKind } from '../../pipeline/core/rollup-key.js';
import { Random } from '../../pipeline/simulate/random.js';
import { syntheticEvent } from './workload.js';
import { SchemasInMemory } from '../support/schemas-in-memory.js';

const { values: args } = parseArgs({ options: { events: { type: 'string', default: '600000' }, keys: { type: 'string', default: '500' }, 'endpoints-per-key': { type: 'string', default: '1' }, partitions: { type: 'string', default: '4' }, 'round-robin': { type: 'boolean', default: false }, passes: { type: 'string', default: '3' } } });
const EVENTS = Number(args.events);
const KEYS = Number(args.keys);
const ENDPOINTS_PER_KEY = Number(args['endpoints-per-key']);
const PARTITIONS = Number(args.partitions);
const MIN = 60_000;
const FLUSH_EVERY_MS = 12_000;
const log = (m: string) => process.stdout.write(`${m}\n`);
const gc = (globalThis as { gc?: () => void }).gc;


/** The partition a key lands on: KafkaJS's default partitioner (murmur2), as the producers and the throughput bench place them. */
const partitioner = Partitioners.DefaultPartitioner();
const partitionMetadata = Array.from({ length: PARTITIONS }, (_, partitionId) => ({ partitionId, leader: 0, partitionErrorCode: 0, replicas: [0], isr: [0] }));
function partitionOf(key: string): number {
  return partitioner({ topic: 'bench.tokens', partitionMetadata, message: { key, value: null } });
}

const ROW_OF: Record<RollupKind, (r: MergedRollup) => Record<string, unknown>> = { model: modelRollupRow, owner: ownerSpendRow, provider_region: providerSpendRow };

interface Figures {
  stageOne: number;
  stageTwoMerge: number;
  stageTwoRows: number;
  stageTwoDetect: number;
  partials: number;
  minutes: number;
  alerts: number;
}

async function pass(): Promise<Figures> {
  const config = configSchema.parse({});
  const source = new SchemasInMemory();
  const tokens = new WireCodec<TokenUsage>(source, contracts.tokenUsage, 'bench.tokens-value');
  const partialCodec = new WireCodec<PartialRollup>(source, contracts.partialRollup, 'bench.partials-value');
  const random = new Random(5);
  const start = Math.floor(Date.now() / MIN) * MIN - 30 * MIN;
  const byPartition: { value: Buffer; timestamp: number }[][] = Array.from({ length: PARTITIONS }, () => []);
  for (let i = 0; i < EVENTS; i++) {
    const e = syntheticEvent(i, start, random, { events: EVENTS, keys: KEYS, endpointsPerKey: ENDPOINTS_PER_KEY });
    byPartition[args['round-robin'] ? i % PARTITIONS : partitionOf(e.endpoint)]!.push({ value: await tokens.encode(e), timestamp: e.event_time + 50 });
  }
  // Two minutes later on every partition: closes the last windows, as in the throughput bench.
  for (let p = 0; p < PARTITIONS; p++) byPartition[p]!.push({ value: await tokens.encode({ ...syntheticEvent(p, start, random, { events: EVENTS, keys: KEYS, endpointsPerKey: ENDPOINTS_PER_KEY }), event_time: start + 12 * MIN }), timestamp: start + 12 * MIN });
  // Each codec learns its writer schema once, outside the timing.
  await tokens.decode(byPartition[0]![0]!.value);
  await partialCodec.decode(await partialCodec.encode(watermarkRecord(0, 0, false)));

  const windows = { windowSizeMs: config.windows.sizeMs, allowedLatenessMs: config.windows.telemetry.allowedLatenessMs, maxOutOfOrdernessMs: config.windows.telemetry.maxOutOfOrdernessMs, idlePartitionMs: config.windows.idlePartitionMs };
  const rateCard = new RateCard({ gpuRates: [], defaultPerGpuHour: 2, egressPerGb: 0.09 });
  const guard = new CardinalityGuard(config.cardinality.maxValuesPerDimension);
  const tasks = Array.from({ length: PARTITIONS }, (_, t) => new StageOneTask(t, windows, rateCard, guard));
  for (let t = 0; t < PARTITIONS; t++) tasks[t]!.assign(`tokens:${t}`, 0);
  const merger = new StageTwoMerger({ windowSizeMs: config.windows.sizeMs, allowedLatenessMs: config.windows.telemetry.allowedLatenessMs, expectedTasks: PARTITIONS });
  const detectors = new DetectorSet(config.detectors);
  const figures: Figures = { stageOne: 0, stageTwoMerge: 0, stageTwoRows: 0, stageTwoDetect: 0, partials: 0, minutes: 0, alerts: 0 };
  const read = new Array<number>(PARTITIONS).fill(0);
  let internalOffset = 0;
  const rows: string[] = [];

  gc?.();
  // Event time advances on all partitions together, a flush interval at a time.
  for (let until = start + FLUSH_EVERY_MS; read.some((r, p) => r < byPartition[p]!.length); until += FLUSH_EVERY_MS) {
    let began = process.cpuUsage();
    const outgoing: Buffer[] = [];
    for (let p = 0; p < PARTITIONS; p++) {
      const task = tasks[p]!;
      const messages = byPartition[p]!;
      const position = { partition: `tokens:${p}`, offset: 0 };
      while (read[p]! < messages.length && messages[read[p]!]!.timestamp < until) {
        const message = messages[read[p]!]!;
        position.offset = read[p]!++;
        const decoded = tokens.decodeKnown(message.value)!;
        if (!decoded.ok || !validateTokenUsage(decoded.value, message.timestamp, defaultLimits).ok) throw new Error('the workload holds only valid events');
        task.addTokenUsage(decoded.value, position, 0);
      }
      const out = task.advance(0);
      for (const partial of out.partials) outgoing.push(await partialCodec.encode(partial));
      outgoing.push(await partialCodec.encode(watermarkRecord(task.task, out.watermark, false)));
    }
    let used = process.cpuUsage(began);
    figures.stageOne += used.user + used.system;
    figures.partials += outgoing.length;

    began = process.cpuUsage();
    for (const bytes of outgoing) {
      const decoded = partialCodec.decodeKnown(bytes)!;
      if (!decoded.ok) throw new Error(decoded.detail);
      merger.add(decoded.value, { partition: 'partials:0', offset: internalOffset++ });
    }
    const { minutes, hours } = merger.advance();
    used = process.cpuUsage(began);
    figures.stageTwoMerge += used.user + used.system;
    figures.minutes += minutes.filter((m) => m.key.kind === 'model').length;

    began = process.cpuUsage();
    for (const r of [...minutes, ...hours]) rows.push(JSON.stringify(ROW_OF[r.key.kind](r)));
    if (rows.length > 5000) rows.length = 0;
    used = process.cpuUsage(began);
    figures.stageTwoRows += used.user + used.system;

    began = process.cpuUsage();
    minutes.sort((a, b) => a.windowStart - b.windowStart);
    for (const r of minutes) if (r.onTime) for (const input of detectorInputs(r, 'USD')) figures.alerts += detectors.observe(input).length;
    figures.alerts += detectors.advance(merger.watermark).length;
    used = process.cpuUsage(began);
    figures.stageTwoDetect += used.user + used.system;
  }
  return figures;
}

log(`${EVENTS.toLocaleString('en-US')} token events, ${KEYS} model keys, ${ENDPOINTS_PER_KEY} endpoints per key, ${PARTITIONS} input partitions, 10 minutes of event time; one thread, no services`);
const passes: Figures[] = [];
for (let i = 0; i < Number(args.passes); i++) {
  const f = await pass();
  passes.push(f);
  const us = (micros: number) => (micros / EVENTS).toFixed(2);
  const perMinute = (micros: number) => (micros / f.minutes).toFixed(0);
  log(
    `pass ${i + 1}: stage 1 ${us(f.stageOne)} µs/event; stage 2 merge ${us(f.stageTwoMerge)}, rows ${us(f.stageTwoRows)}, detectors ${us(f.stageTwoDetect)} µs/event ` +
      `(${perMinute(f.stageTwoMerge)} + ${perMinute(f.stageTwoRows)} + ${perMinute(f.stageTwoDetect)} µs per model key-minute; ${f.minutes} key-minutes, ${f.partials.toLocaleString('en-US')} internal records, ${f.alerts} alerts)`,
  );
}
const best = (pick: (f: Figures) => number) => Math.min(...passes.map(pick)) / EVENTS;
log(`best of ${passes.length}: stage 1 ${best((f) => f.stageOne).toFixed(2)} µs/event, stage 2 ${best((f) => f.stageTwoMerge + f.stageTwoRows + f.stageTwoDetect).toFixed(2)} µs/event`);
