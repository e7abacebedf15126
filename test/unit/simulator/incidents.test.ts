import { describe, expect, it } from 'vitest';
import type { BillingCost, GpuSample, QueueSample, TokenUsage } from '../../../schemas/index.js';
import { incidentSpecsFrom, IncidentSpecError, PRESETS, type IncidentSpec, type TruthRecord } from '../../../pipeline/simulate/incidents/index.js';
import { HOUR, MINUTE, runFleet, START, text, type Run } from './support.js';

const SPAN = 2 * HOUR + MINUTE;
const WINDOW = { start: '30%', end: '60%' } as const;
/** Requests in flight at the end of an incident, and queues it left behind, settle within this. */
const SETTLE = 5 * MINUTE;

type Topic = 'gpu' | 'queue' | 'tokens' | 'billing';
const TOPICS: Topic[] = ['gpu', 'queue', 'tokens', 'billing'];

/** A run with each event's text computed once: the comparisons below look at every event several times. */
interface Observed {
  run: Run;
  events: Record<Topic, { event: never; text: string }[]>;
}

function observe(incidents: IncidentSpec[] = []): Observed {
  const run = runFleet({ seed: 21, gpus: 64, regions: 2, spanMs: SPAN, peakRatePerSecond: 6, gpuSampleIntervalMs: 60_000, queueSampleIntervalMs: 60_000, billingDelayMs: 0, incidents });
  const events = {} as Observed['events'];
  for (const topic of TOPICS) events[topic] = (run[topic] as never[]).map((event) => ({ event, text: text(event) }));
  return { run, events };
}

interface Affected {
  gpu: (e: GpuSample) => boolean;
  queue: (e: QueueSample) => boolean;
  tokens: (e: TokenUsage) => boolean;
  billing: (e: BillingCost) => boolean;
}
const none = () => false;

/** Which events each kind of incident may change, read from the ground truth's keys and resources. */
function affectedBy(truth: TruthRecord): Affected {
  const key = truth.keys[0]!;
  const resources = new Set(truth.resources);
  switch (truth.kind) {
    case 'latency-regression': {
      const same = (e: { model_name: string | null; model_version: string | null; region: string }) => e.model_name === key.model_name && e.model_version === key.model_version && e.region === key.region;
      return { gpu: same, queue: same, tokens: same, billing: (l) => l.ServiceCategory === 'Networking' && l.Tags.model === key.model_name && l.RegionId === key.region };
    }
    case 'degraded-region':
      return { gpu: (e) => e.region === key.region, queue: (e) => e.region === key.region, tokens: (e) => e.region === key.region, billing: (l) => l.RegionId === key.region };
    case 'runaway-experiment':
    case 'price-change':
      return { gpu: (e) => resources.has(e.resource_id), queue: none, tokens: none, billing: (l) => resources.has(l.ResourceId!) };
    case 'egress-surge':
      return { gpu: none, queue: none, tokens: (e) => e.endpoint === key.endpoint && e.region === key.region, billing: (l) => resources.has(l.ResourceId!) };
    case 'idle-gpus':
      return { gpu: (e) => e.experiment === key.experiment, queue: none, tokens: none, billing: none };
  }
}

/** The event-time interval an event describes: an instant, or a billing line's charge period. */
const periodOf: Record<Topic, (e: never) => [number, number]> = {
  gpu: (e: GpuSample) => [e.event_time, e.event_time + 1],
  queue: (e: QueueSample) => [e.event_time, e.event_time + 1],
  tokens: (e: TokenUsage) => [e.event_time, e.event_time + 1],
  billing: (e: BillingCost) => [e.ChargePeriodStart, e.ChargePeriodEnd],
};

function texts(observed: Observed, topic: Topic, keep: (event: never) => boolean): string[] {
  return observed.events[topic].filter((e) => keep(e.event)).map((e) => e.text).sort();
}

const baseline = observe();

describe.each<[string, IncidentSpec]>([
  ['a latency regression of the version rolling out', { kind: 'latency-regression', ...WINDOW, factor: 2.5 }],
  ['a degraded region', { kind: 'degraded-region', ...WINDOW, capacityLoss: 0.5, errorRate: 0.05, rttFactor: 4 }],
  ['a runaway experiment', { kind: 'runaway-experiment', ...WINDOW, scale: 3 }],
  ['a price change', { kind: 'price-change', start: '30%', factor: '1.3' }],
  ['an egress surge', { kind: 'egress-surge', ...WINDOW, factor: 8 }],
  ['idle GPUs', { kind: 'idle-gpus', ...WINDOW }],
])('%s', (_, spec) => {
  const incident = observe([spec]);
  const truth = incident.run.simulation.truth()[0]!;
  const affected = affectedBy(truth);

  it('is written to the ground truth with its kind, keys and event-time window', () => {
    expect(truth.kind).toBe(spec.kind);
    expect(truth.keys.length).toBeGreaterThan(0);
    const expectedStart = START + 0.3 * SPAN;
    // Prices change on the hour; everything else starts when it is told to.
    expect(truth.start).toBe(spec.kind === 'price-change' ? Math.ceil(expectedStart / HOUR) * HOUR : expectedStart);
    expect(truth.start_iso).toBe(new Date(truth.start).toISOString());
    expect(truth.end).toBeGreaterThan(truth.start);
  });

  it('leaves every event of every other key exactly as it was', () => {
    for (const topic of TOPICS) {
      const unaffected = (e: never) => !(affected[topic] as (e: never) => boolean)(e);
      expect(texts(incident, topic, unaffected), topic).toEqual(texts(baseline, topic, unaffected));
    }
  });

  it('changes the affected keys only inside its window', () => {
    let changedInside = 0;
    for (const topic of TOPICS) {
      const isAffected = affected[topic] as (e: never) => boolean;
      const period = periodOf[topic];
      // Affected events whose period lies within [from, to).
      const within = (o: Observed, from: number, to: number) => texts(o, topic, (e) => isAffected(e) && period(e)[0] >= from && period(e)[1] <= to);
      expect(within(incident, 0, truth.start), `${topic} before the incident`).toEqual(within(baseline, 0, truth.start));
      if (truth.end + SETTLE < START + SPAN) expect(within(incident, truth.end + SETTLE, Infinity), `${topic} after the incident`).toEqual(within(baseline, truth.end + SETTLE, Infinity));
      const overlapping = (o: Observed) => texts(o, topic, (e) => isAffected(e) && period(e)[0] < truth.end && period(e)[1] > truth.start);
      if (overlapping(incident).join('\n') !== overlapping(baseline).join('\n')) changedInside++;
    }
    expect(changedInside).toBeGreaterThan(0);
  });
});

describe('incident specs', () => {
  it('offers the presets the brief names', () => {
    expect(Object.keys(PRESETS)).toEqual(expect.arrayContaining(['rollout-regression', 'spend-spike', 'degraded-region', 'idle-gpus']));
    expect(PRESETS['spend-spike']!.map((s) => s.kind)).toEqual(['runaway-experiment', 'price-change', 'egress-surge']);
  });

  it('reads a file’s list of incidents, with defaults for what it leaves out', () => {
    const specs = incidentSpecsFrom({ incidents: [{ kind: 'latency-regression', start: '45m', end: '2h', region: 'us-east-1' }] }, 'incidents.yaml');
    expect(specs).toEqual([{ kind: 'latency-regression', start: '45m', end: '2h', region: 'us-east-1', factor: 2.5 }]);
  });

  it('names the incident, the key and the fix when an entry is wrong', () => {
    expect(() => incidentSpecsFrom([{ kind: 'latency-regression', start: '10m' }, { kind: 'idle-gpus', start: '1h', colour: 'red' }], 'bad.yaml')).toThrow(IncidentSpecError);
    expect(() => incidentSpecsFrom([{ kind: 'latency-regression', start: '10m' }, { kind: 'idle-gpus', start: '1h', colour: 'red' }], 'bad.yaml')).toThrow(/incident 2.*colour/s);
    expect(() => incidentSpecsFrom([{ kind: 'meteor-strike', start: '1h' }], 'bad.yaml')).toThrow(/kinds: latency-regression, runaway-experiment/);
  });
});
