import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { StageOneTask } from '../../pipeline/core/stage-one.js';
import { StageTwoMerger, HOUR_MS } from '../../pipeline/core/stage-two.js';
import { RateCard } from '../../pipeline/core/rate-card.js';
import { CardinalityGuard } from '../../pipeline/core/cardinality.js';
import { toPartialRollup, watermarkRecord } from '../../pipeline/core/partial-rollup.js';
import { emptyRollup, foldToken } from '../../pipeline/core/aggregates.js';
import { QuantileSketch } from '../../pipeline/core/quantile-sketch.js';
import { minuteOfTraffic, demoFleet } from '../../pipeline/simulate/demo-traffic.js';
import { Random } from '../../pipeline/simulate/random.js';
import { windowStartOf } from '../../pipeline/core/tumbling-window.js';
import type { PartialRollup, TokenUsage } from '../../schemas/index.js';

const MIN = 60_000;
const settings = { windowSizeMs: MIN, allowedLatenessMs: 30_000, maxOutOfOrdernessMs: 5_000, idlePartitionMs: 10_000 };
const rateCard = () => new RateCard({ gpuRates: [], defaultPerGpuHour: 2, egressPerGb: 0.09 });

/** Runs events through `tasks` stage-1 tasks (events spread by a partitioner) and one stage-2 merger. */
function runStages(events: TokenUsage[], tasks: number, partitionOf: (e: TokenUsage, i: number) => number) {
  const stageOne = Array.from({ length: tasks }, (_, t) => new StageOneTask(t, settings, rateCard(), new CardinalityGuard(1000)));
  const merger = new StageTwoMerger({ windowSizeMs: MIN, allowedLatenessMs: 30_000, expectedTasks: tasks });
  const offsets = Array(tasks).fill(0) as number[];
  let internalOffset = 0;
  const minutes = new Map<string, { requests: number; outputTokens: number; p95: number; version: number }>();
  const hours = new Map<string, { requests: number; p95: number; version: number }>();
  const deliver = (records: PartialRollup[]) => {
    for (const r of records) merger.add(r, { partition: 'internal:0', offset: internalOffset++ });
    const { minutes: m, hours: h } = merger.advance();
    for (const x of m) {
      const id = `${x.keyId}@${x.windowStart}`;
      if ((minutes.get(id)?.version ?? -1) < x.version) minutes.set(id, { requests: x.aggregate.tokens.requests, outputTokens: x.aggregate.tokens.outputTokens, p95: x.aggregate.tokens.latency.quantile(0.95), version: x.version });
    }
    for (const x of h) {
      const id = `${x.keyId}@${x.windowStart}`;
      if ((hours.get(id)?.version ?? -1) < x.version) hours.set(id, { requests: x.aggregate.tokens.requests, p95: x.aggregate.tokens.latency.quantile(0.95), version: x.version });
    }
  };
  for (let t = 0; t < tasks; t++) stageOne[t]!.assign(`tokens:${t}`, 0);
  events.forEach((e, i) => {
    const t = partitionOf(e, i);
    stageOne[t]!.addTokenUsage(e, { partition: `tokens:${t}`, offset: offsets[t]!++ }, 0);
    if (i % 50 === 0) for (const task of stageOne) deliver([...task.advance(0).partials, watermarkRecord(task.task, task.currentWatermark, false)]);
  });
  // Idle for long enough: every task's watermark moves to its newest event, closing what is left.
  for (let round = 0; round < 2; round++) for (const task of stageOne) {
    task.setCaughtUp(`tokens:${task.task}`, true);
    const out = task.advance(1_000_000);
    deliver([...out.partials, watermarkRecord(task.task, out.watermark + 10 * HOUR_MS, true)]);
  }
  return { minutes, hours };
}

function trafficFor(minutesOfTraffic: number, seed: number): TokenUsage[] {
  const random = new Random(seed);
  const events: TokenUsage[] = [];
  for (let m = 0; m < minutesOfTraffic; m++) for (const key of demoFleet.slice(0, 3)) events.push(...minuteOfTraffic(key, m * MIN, m, 20, random));
  return events.sort((a, b) => a.event_time - b.event_time);
}

describe('stage 1 partials merged by stage 2', () => {
  it('give the same minute rollups whether one task or three saw the events (property over partitioners)', () => {
    const events = trafficFor(6, 1);
    const single = runStages(events, 1, () => 0);
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 2 }), { minLength: events.length, maxLength: events.length }), (assignment) => {
        const split = runStages(events, 3, (_e, i) => assignment[i]!);
        for (const [id, expected] of single.minutes) {
          const got = split.minutes.get(id);
          if (!got || got.requests !== expected.requests || got.outputTokens !== expected.outputTokens) return false;
          if (Math.abs(got.p95 - expected.p95) > 1e-9 * expected.p95) return false;
        }
        return split.minutes.size === single.minutes.size;
      }),
      { numRuns: 20 },
    );
  });

  it('count every event exactly once per model key and minute', () => {
    const events = trafficFor(5, 2);
    const { minutes } = runStages(events, 3, (e) => e.endpoint.length % 3);
    for (const [id, got] of minutes) {
      if (!id.startsWith('model|')) continue;
      const [, model, version, regionAt] = id.split('|');
      const [region, start] = regionAt!.split('@');
      const expected = events.filter((e) => e.model_name === model && e.model_version === version && e.region === region && windowStartOf(e.event_time, MIN) === Number(start));
      expect(got.requests).toBe(expected.length);
    }
    // The newest minute stays open: the watermark trails the newest event by the out-of-orderness bound.
    expect([...minutes.keys()].filter((k) => k.startsWith('model|'))).toHaveLength(3 * 4);
  });

  it('build the hourly rollup from the same stream: its count is the sum of its minutes', () => {
    const events = trafficFor(70, 3);
    const { minutes, hours } = runStages(events, 2, (_e, i) => i % 2);
    for (const [id, hour] of hours) {
      const [keyId, start] = id.split('@');
      const inHour = [...minutes].filter(([m]) => m.startsWith(`${keyId}@`) && Math.floor(Number(m.split('@')[1]) / HOUR_MS) * HOUR_MS === Number(start));
      expect(hour.requests).toBe(inHour.reduce((s, [, m]) => s + m.requests, 0));
    }
    // Two hours of three model keys and one owner: the second closed by the final jump of the watermark,
    // which emits its minutes and drops them from memory in the same step.
    expect(hours.size).toBe(8);
  });

  it('merge the hourly p95 from minute sketches within 1% of the exact p95 of the raw events', () => {
    const events = trafficFor(70, 5);
    const { minutes, hours } = runStages(events, 3, (_e, i) => i % 3);
    for (const [id, hour] of hours) {
      if (!id.startsWith('model|')) continue;
      const [keyId, start] = id.split('@');
      const [, model, version, region] = keyId!.split('|');
      // The raw events of the hour's closed minutes (the newest minute stays open: see above).
      const latencies = events
        .filter((e) => e.model_name === model && e.model_version === version && e.region === region && windowStartOf(e.event_time, HOUR_MS) === Number(start) && minutes.has(`${keyId}@${windowStartOf(e.event_time, MIN)}`))
        .map((e) => e.latency_ms)
        .sort((a, b) => a - b);
      const exact = latencies[Math.floor(0.95 * (latencies.length - 1))]!;
      expect(Math.abs(hour.p95 - exact) / exact).toBeLessThanOrEqual(0.01);
    }
  });
});

describe('stage 1 windows', () => {
  it('re-emit a closed window that a late event within its lateness updates, counting both events', () => {
    const task = new StageOneTask(0, settings, rateCard(), new CardinalityGuard(10));
    task.assign('tokens:0', 0);
    const [first, second] = minuteOfTraffic(demoFleet[0]!, 0, 0, 2, new Random(6));
    const at = (e: TokenUsage, eventTime: number) => ({ ...e, event_time: eventTime });
    task.addTokenUsage(at(first!, 10_000), { partition: 'tokens:0', offset: 0 }, 0);
    task.addTokenUsage(at(first!, MIN + 10_000), { partition: 'tokens:0', offset: 1 }, 0);
    const closed = task.advance(0).partials.find((p) => p.rollup_kind === 'model' && p.window_start === 0);
    expect(closed).toMatchObject({ requests: 1, version: 1 });
    expect(task.addTokenUsage(at(second!, 20_000), { partition: 'tokens:0', offset: 2 }, 0)).toBe('accepted');
    const updated = task.advance(0).partials.find((p) => p.rollup_kind === 'model' && p.window_start === 0);
    expect(updated).toMatchObject({ requests: 2, version: 2 });
    expect(QuantileSketch.fromBytes(updated!.latency_sketch).count).toBe(2);
  });
});

describe('stage 2 partials', () => {
  it("keep each task's newest partial: a replayed older one changes nothing", () => {
    const merger = new StageTwoMerger({ windowSizeMs: MIN, allowedLatenessMs: 30_000, expectedTasks: 1 });
    const key = { kind: 'model' as const, dimensions: { model_name: 'm', model_version: 'v', region: 'r' } };
    const partial = (requests: number) => {
      const a = emptyRollup();
      for (const e of trafficFor(1, 7).slice(0, requests)) foldToken(a, e);
      return toPartialRollup(0, 0, key, 0, MIN, requests, a);
    };
    merger.add(partial(3), { partition: 'p:0', offset: 0 });
    merger.add(partial(2), { partition: 'p:0', offset: 1 });
    merger.add(watermarkRecord(0, MIN, false), { partition: 'p:0', offset: 2 });
    const [minute] = merger.advance().minutes;
    expect(minute).toMatchObject({ version: 3, aggregate: { requests: 3 } });
    expect(minute!.aggregate.tokens.latency.count).toBe(3);
  });
});

describe('stage 2 watermarks', () => {
  it('are moved by markers only, never by the watermark a partial carries', () => {
    const merger = new StageTwoMerger({ windowSizeMs: MIN, allowedLatenessMs: 0, expectedTasks: 1 });
    const task = new StageOneTask(0, settings, rateCard(), new CardinalityGuard(10));
    task.addTokenUsage(trafficFor(1, 4)[0]!, { partition: 'tokens:0', offset: 0 }, 0);
    const [partial] = task.advance(1_000_000).partials.length ? task.advance(1_000_000).partials : [];
    const ahead = { ...(partial ?? watermarkRecord(0, 0, false)), kind: 'partial' as const, rollup_kind: 'model', dimension_names: ['model_name', 'model_version', 'region'], dimension_values: ['m', 'v', 'r'], window_start: 0, window_end: MIN, watermark: 10 * MIN };
    merger.add(ahead, { partition: 'p:0', offset: 0 });
    expect(merger.advance().minutes).toHaveLength(0);
    merger.add(watermarkRecord(0, MIN, false), { partition: 'p:0', offset: 1 });
    expect(merger.advance().minutes).toHaveLength(1);
  });
});
