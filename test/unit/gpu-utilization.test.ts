import { describe, expect, it } from 'vitest';
import avro from 'avsc';
import { StageOneTask } from '../../pipeline/core/stage-one.js';
import { HOUR_MS, StageTwoMerger, type MergedRollup } from '../../pipeline/core/stage-two.js';
import { RateCard } from '../../pipeline/core/rate-card.js';
import { CardinalityGuard } from '../../pipeline/core/cardinality.js';
import { fromPartialRollup, toPartialRollup, watermarkRecord } from '../../pipeline/core/partial-rollup.js';
import { emptyRollup, foldGpu } from '../../pipeline/core/aggregates.js';
import { detectorInputs } from '../../pipeline/runtime/detector-inputs.js';
import type { GpuPoolWindow } from '../../detectors/index.js';
import { contracts, type GpuSample, type PartialRollup } from '../../schemas/index.js';
import { inferenceGpuSample } from '../support/contract-samples.js';

const MIN = 60_000;
const T0 = 10 * HOUR_MS;
const settings = { windowSizeMs: MIN, allowedLatenessMs: 30_000, maxOutOfOrdernessMs: 5_000, idlePartitionMs: 10_000 };
const BUSY = ['GPU-busy-0', 'GPU-busy-1', 'GPU-busy-2'];
const IDLE = 'GPU-idle';

/** What the internal topic does to a partial: Avro out and back in. */
const throughTopic = (p: PartialRollup): PartialRollup => contracts.partialRollup.type.fromBuffer(contracts.partialRollup.type.toBuffer(p)) as PartialRollup;

const sample = (gpu: string, utilization: number, eventTime: number): GpuSample => ({ ...inferenceGpuSample, gpu_uuid: gpu, gpu_utilization: utilization, event_time: eventTime });

/**
 * Minutes of a pool of four GPUs of one model version, sampled every 15 s: three busy at 80-95%,
 * one idle at 0-1%, spread over two stage-1 tasks (the idle GPU's samples split between them).
 */
function runPool(minutes: number): { minutes: MergedRollup[]; hours: MergedRollup[] } {
  const tasks = [0, 1].map((t) => new StageOneTask(t, settings, new RateCard({ gpuRates: [], defaultPerGpuHour: 2, egressPerGb: 0.09 }), new CardinalityGuard(100)));
  const merger = new StageTwoMerger({ windowSizeMs: MIN, allowedLatenessMs: 30_000, expectedTasks: 2 });
  const out = { minutes: [] as MergedRollup[], hours: [] as MergedRollup[] };
  const offsets = [0, 0];
  let internal = 0;
  const exchange = () => {
    for (const task of tasks) {
      const { partials, watermark } = task.advance(0);
      for (const p of [...partials.map(throughTopic), watermarkRecord(task.task, watermark, false)]) merger.add(p, { partition: 'internal:0', offset: internal++ });
    }
    const { minutes: m, hours: h } = merger.advance();
    out.minutes.push(...m);
    out.hours.push(...h);
  };
  for (const task of tasks) task.assign(`gpu:${task.task}`, 0);
  for (let slot = 0; slot < minutes * 4; slot++) {
    const t = T0 + slot * 15_000;
    const samples = [...BUSY.map((gpu, i) => sample(gpu, 80 + 5 * i, t + i)), sample(IDLE, slot % 2, t + 3)];
    samples.forEach((s, i) => {
      const task = (i + slot) % 2;
      tasks[task]!.addGpuSample(s, { partition: `gpu:${task}`, offset: offsets[task]!++ }, 0);
    });
    exchange();
  }
  // Samples of another pool two hours on move every watermark past the hour and its lateness.
  for (const task of tasks) task.addGpuSample({ ...sample('GPU-elsewhere', 50, T0 + 2 * HOUR_MS), model_name: 'another-model' }, { partition: `gpu:${task.task}`, offset: offsets[task.task]!++ }, 0);
  exchange();
  return out;
}

const poolOf = (r: MergedRollup): GpuPoolWindow => detectorInputs(r, 'USD').find((i): i is GpuPoolWindow => i.kind === 'gpu_pool')!;
const utilizationByGpu = (pool: GpuPoolWindow) => Object.fromEntries(pool.gpus.map((g) => [g.gpu, g.utilizationPct]));

describe('per-GPU utilization in the rollups', () => {
  it('gives the waste detector an idle GPU of a busy pool at ~0%, and each busy GPU its own mean', () => {
    const minute = runPool(3).minutes.find((m) => m.key.kind === 'model' && m.windowStart === T0 + MIN)!;
    const byGpu = utilizationByGpu(poolOf(minute));
    expect(Object.keys(byGpu).sort()).toEqual([...BUSY, IDLE].sort());
    expect(byGpu[IDLE]).toBeCloseTo(0.5, 9);
    BUSY.forEach((gpu, i) => expect(byGpu[gpu]).toBeCloseTo(80 + 5 * i, 9));
  });

  it("keeps the pool's totals equal to the sum of its GPUs' seconds", () => {
    const minute = runPool(2).minutes.find((m) => m.key.kind === 'model' && m.windowStart === T0)!;
    const perGpu = [...minute.aggregate.gpu.gpus.values()];
    expect(perGpu.reduce((s, u) => s + u.gpuSeconds, 0)).toBeCloseTo(minute.aggregate.gpu.gpuSeconds, 9);
    expect(perGpu.reduce((s, u) => s + u.utilizationSeconds, 0)).toBeCloseTo(minute.aggregate.gpu.utilizationSeconds, 9);
    expect(minute.aggregate.gpu.gpus.get(IDLE)!.gpuSeconds).toBe(60);
  });

  it('merges each GPU of the hour from its minutes, not from the pool mean', () => {
    const hour = runPool(5).hours.filter((h) => h.key.kind === 'model').at(-1)!;
    expect(hour.aggregate.gpu.gpus.get(IDLE)!.gpuSeconds).toBe(5 * 60);
    const byGpu = utilizationByGpu(poolOf(hour));
    expect(byGpu[IDLE]).toBeCloseTo(0.5, 9);
    expect(byGpu[BUSY[2]!]).toBeCloseTo(90, 9);
  });

  it('names the node of each GPU and marks a GPU that raised an XID error as faulted, through the internal topic', () => {
    const a = emptyRollup();
    foldGpu(a.gpuToFold(), { ...sample(IDLE, 0, T0), node: 'node-7', xid_errors: 1, last_xid: 79 });
    foldGpu(a.gpuToFold(), { ...sample(BUSY[0]!, 90, T0), node: 'node-3' });
    const p = throughTopic(toPartialRollup(0, T0, { kind: 'model', dimensions: { model_name: 'm', model_version: 'v', region: 'r' } }, T0, T0 + MIN, 2, a));
    const merged: MergedRollup = { key: { kind: 'model', dimensions: { model_name: 'm', model_version: 'v', region: 'r' } }, keyId: 'model|m|v|r', windowStart: T0, windowEnd: T0 + MIN, aggregate: fromPartialRollup(p), version: 2, onTime: true };
    const gpus = poolOf(merged).gpus;
    expect(gpus.find((g) => g.gpu === IDLE)).toMatchObject({ node: 'node-7', faulted: true });
    expect(gpus.find((g) => g.gpu === BUSY[0])).toMatchObject({ node: 'node-3', utilizationPct: 90 });
    expect(gpus.find((g) => g.gpu === BUSY[0])!.faulted).toBeUndefined();
  });

  it("reads a partial from a writer before per-GPU usage with its GPUs at the pool's mean", () => {
    const a = emptyRollup();
    foldGpu(a.gpuToFold(), sample(IDLE, 0, T0));
    foldGpu(a.gpuToFold(), sample(BUSY[0]!, 90, T0));
    const current = toPartialRollup(0, T0, { kind: 'model', dimensions: { model_name: 'm', model_version: 'v', region: 'r' } }, T0, T0 + MIN, 2, a);
    const olderSchema = { ...contracts.partialRollup.schema, fields: (contracts.partialRollup.schema.fields as { name: string }[]).filter((f) => f.name !== 'gpu_usage') };
    const olderType = avro.Type.forSchema(olderSchema as avro.Schema);
    const resolver = contracts.partialRollup.type.createResolver(olderType);
    const fromOlderWriter = contracts.partialRollup.type.fromBuffer(olderType.toBuffer(current), resolver) as PartialRollup;
    const merged: MergedRollup = { key: { kind: 'model', dimensions: { model_name: 'm', model_version: 'v', region: 'r' } }, keyId: 'model|m|v|r', windowStart: T0, windowEnd: T0 + MIN, aggregate: fromPartialRollup(fromOlderWriter), version: 2, onTime: true };
    expect(utilizationByGpu(poolOf(merged))).toEqual({ [IDLE]: 45, [BUSY[0]!]: 45 });
  });

  it('refuses per-GPU usage of a layout it does not know, naming the version', () => {
    const a = emptyRollup();
    foldGpu(a.gpuToFold(), sample(IDLE, 0, T0));
    const p = toPartialRollup(0, T0, { kind: 'model', dimensions: { model_name: 'm', model_version: 'v', region: 'r' } }, T0, T0 + MIN, 1, a);
    expect(() => fromPartialRollup({ ...p, gpu_usage: Buffer.from([2, 0, 0]) })).toThrow(/gpu_usage has layout version 2/);
  });

  it('costs a token-only window nothing: no GPU part, empty gpu fields on the wire', () => {
    const p = toPartialRollup(0, T0, { kind: 'model', dimensions: { model_name: 'm', model_version: 'v', region: 'r' } }, T0, T0 + MIN, 0, emptyRollup());
    expect(p.gpus).toEqual([]);
    expect(p.gpu_usage.length).toBe(0);
    expect(fromPartialRollup(p).gpu.gpus.size).toBe(0);
  });
});
