/**
 * Detection quality on simulator ground truth (prints figures; not a timed test). For every
 * incident kind and several seeds, a simulated fleet runs through the same pure core and
 * detectors the pipeline runs (stage 1, stage 2, DetectorSet), in process, without Kafka; the
 * alerts are matched against the simulator's truth: an alert counts for an incident only when its
 * rule is one the incident's kind should raise (EXPECTED_RULES), on the incident's keys and time.
 * Per kind: recall, precision both ways, median and p95 detection delay. Incident-free runs give
 * false alerts per simulated day per 100 series. --verbose prints every alert that did not count,
 * with its evidence.
 *
 *   nice -n 15 npx tsx test/bench/detection-quality.ts [--seeds 3] [--hours 8] [--gpus 96] [--verbose] [--presets idle-gpus,none]
 */
import { parseArgs } from 'node:util';
import { prepareSimulation } from '../../pipeline/cli/commands/simulate.js';
import { PRESETS, type IncidentKind, type TruthRecord } from '../../pipeline/simulate/incidents/index.js';
import { StageOneTask } from '../../pipeline/core/stage-one.js';
import { StageTwoMerger } from '../../pipeline/core/stage-two.js';
import { RateCard } from '../../pipeline/core/rate-card.js';
import { CardinalityGuard } from '../../pipeline/core/cardinality.js';
import { watermarkRecord } from '../../pipeline/core/partial-rollup.js';
import { detectorInputs } from '../../pipeline/runtime/detector-inputs.js';
import { loadConfig } from '../../pipeline/config/load.js';
import { validateBillingLine } from '../../pipeline/sources/validate.js';
import { DetectorSet } from '../../detectors/index.js';
import type { Alert, BillingCost } from '../../schemas/index.js';

const { values: args } = parseArgs({ options: { seeds: { type: 'string', default: '3' }, hours: { type: 'string', default: '8' }, gpus: { type: 'string', default: '96' }, verbose: { type: 'boolean', default: false }, presets: { type: 'string' } } });
const SEEDS = Number(args.seeds);
const HOURS = Number(args.hours);
const GPUS = Number(args.gpus);
/** Prints every alert that does not count for an incident, with its evidence: why it fired. */
const VERBOSE = args.verbose;
/** Which runs: preset names, comma-separated, "none" for the incident-free runs; all of them when absent. */
const ONLY = args.presets === undefined ? undefined : new Set(args.presets.split(',').map((p) => p.trim()));
const MIN = 60_000;
const config = loadConfig({ env: {} });

interface RunResult {
  alerts: Alert[];
  truth: TruthRecord[];
  series: number;
  spanMs: number;
}

/**
 * A billing line into the task as the stage-1 runner takes it (queueBillingLine): validated, refused
 * when its charge period is past the billing lateness, then its SKU's price folded into the window
 * of its arrival. Allocation to the charge period's windows needs ClickHouse and is not run here.
 */
function addBillingLine(task: StageOneTask, e: BillingCost, position: { partition: string; offset: number }): void {
  if (!validateBillingLine(e, e.event_time).ok) return;
  if (e.ChargePeriodEnd + config.windows.billingAllowedLatenessMs < task.currentWatermark) return;
  task.addBillingLine(e, position);
}

/** One simulated run through stage 1 (a single task), stage 2 and the detectors. */
function run(seed: number, preset: string | undefined): RunResult {
  const startMs = Date.UTC(2026, 9, 5, 0, 0, 0);
  const prepared = prepareSimulation({ durationS: HOURS * 60, speedup: 60, seed, gpus: GPUS, regions: 3, startMs, billingDelayMs: 0, incidents: preset ? [preset] : [], dryRun: true });
  const { simulation } = prepared;
  const windows = { windowSizeMs: MIN, allowedLatenessMs: 30_000, maxOutOfOrdernessMs: 5_000, idlePartitionMs: 10_000 };
  const task = new StageOneTask(0, windows, new RateCard(config.cost), new CardinalityGuard(10_000));
  const merger = new StageTwoMerger({ windowSizeMs: MIN, allowedLatenessMs: 30_000, expectedTasks: 1 });
  const detectors = new DetectorSet(config.detectors, { latencyRegression: config.detectors.latencyRegression });
  const alerts: Alert[] = [];
  const series = new Set<string>();
  let offset = 0;
  let internal = 0;
  for (const p of ['tokens:0', 'gpu:0', 'queue:0']) task.assign(p, 0);
  while (simulation.clock < simulation.endMs) {
    const batch = simulation.advance(Math.min(simulation.clock + MIN, simulation.endMs));
    for (const e of batch.gpu) task.addGpuSample(e, { partition: 'gpu:0', offset: offset++ }, 0);
    for (const e of batch.queue) task.addQueueSample(e, { partition: 'queue:0', offset: offset++ }, 0);
    for (const e of batch.tokens) task.addTokenUsage(e, { partition: 'tokens:0', offset: offset++ }, 0);
    for (const e of batch.billing) addBillingLine(task, e, { partition: 'billing:0', offset: offset++ });
    const out = task.advance(0);
    for (const partial of out.partials) merger.add(partial, { partition: 'p:0', offset: internal++ });
    merger.add(watermarkRecord(0, out.watermark, false), { partition: 'p:0', offset: internal++ });
    const { minutes } = merger.advance();
    minutes.sort((a, b) => a.windowStart - b.windowStart);
    for (const m of minutes) {
      if (!m.onTime) continue;
      series.add(m.keyId);
      for (const input of detectorInputs(m, 'USD')) alerts.push(...detectors.observe(input));
    }
    if (Number.isFinite(merger.watermark)) alerts.push(...detectors.advance(merger.watermark));
  }
  return { alerts, truth: prepared.truth, series: series.size, spanMs: simulation.endMs - simulation.startMs };
}

/**
 * The rules each incident kind should raise: an alert counts for an incident only when its rule
 * (and, where given, its metric) is one of these, its dimensions agree with one of the incident's
 * keys and its window overlaps the incident (plus a grace period for resolving symptoms).
 */
const EXPECTED_RULES: Record<IncidentKind, Array<{ rule: string; metric?: string }>> = {
  'latency-regression': [{ rule: 'canary_regression' }, { rule: 'latency_p95_regression' }, { rule: 'change_point' }],
  'runaway-experiment': [{ rule: 'spend_spike', metric: 'cost_per_hour' }, { rule: 'budget_burn' }],
  'price-change': [{ rule: 'spend_spike', metric: 'cost_per_hour' }, { rule: 'budget_burn' }, { rule: 'price_change' }],
  'egress-surge': [{ rule: 'spend_spike', metric: 'egress_cost_per_hour' }],
  'degraded-region': [{ rule: 'regional_latency' }, { rule: 'queue_saturation' }, { rule: 'change_point' }, { rule: 'latency_p95_regression' }],
  'idle-gpus': [{ rule: 'gpu_waste' }],
};

/** An alert concerns an incident when its dimensions agree with one of the incident's keys on every dimension they share. */
function concerns(alert: Alert, truth: TruthRecord): boolean {
  return truth.keys.some((key) => {
    const shared = Object.keys(key).filter((d) => alert.dimensions[d] !== undefined);
    return shared.length > 0 && shared.every((d) => alert.dimensions[d] === key[d]);
  });
}

const GRACE_MS = 10 * MIN;
const expectedFor = (alert: Alert, kind: IncidentKind) => EXPECTED_RULES[kind].some((e) => e.rule === alert.rule && (e.metric === undefined || e.metric === alert.metric));
const matches = (alert: Alert, truth: TruthRecord) => expectedFor(alert, truth.kind) && concerns(alert, truth) && alert.window_end >= truth.start && alert.window_start <= truth.end + GRACE_MS;
const quantile = (values: number[], q: number) => (values.length === 0 ? NaN : [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor(q * values.length))]!);
const ratio = (part: number, whole: number) => `${(part / Math.max(1, whole)).toFixed(2)} (${part}/${whole})`;
const clock = (ms: number) => new Date(ms).toISOString().slice(11, 16);
const describe = (a: Alert) => `${clock(a.window_start)} ${a.rule} ${a.key} [${a.severity}] ${a.evidence}`;
const tally = (counts: Map<string, number>) => [...counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).map(([rule, n]) => `${rule} ${n}`).join(', ') || 'none';

const presets = Object.keys(PRESETS).filter((k) => k !== 'spend-spike' && (!ONLY || ONLY.has(k)));
process.stdout.write(`detection quality: ${SEEDS} seeds × ${presets.length} incident presets, ${HOURS} simulated hours each, ${GPUS} GPUs\n`);
process.stdout.write('  precision (all): firing alerts that count for an incident / every firing alert of the run; precision (expected rules): the same among alerts of the rules the kind should raise\n');
for (const preset of presets) {
  let detected = 0;
  let incidents = 0;
  let firing = 0;
  let matched = 0;
  let expectedFiring = 0;
  let expectedMatched = 0;
  const delays: number[] = [];
  const unmatchedByRule = new Map<string, number>();
  const kinds = new Set<IncidentKind>();
  for (let seed = 1; seed <= SEEDS; seed++) {
    const result = run(seed, preset);
    const fired = result.alerts.filter((a) => a.status === 'firing');
    firing += fired.length;
    for (const truth of result.truth) {
      kinds.add(truth.kind);
      incidents += 1;
      const hits = fired.filter((a) => matches(a, truth));
      if (hits.length > 0) {
        detected += 1;
        delays.push(Math.max(0, Math.min(...hits.map((a) => a.window_end)) - truth.start) / MIN);
      }
    }
    for (const alert of fired) {
      const counts = result.truth.some((t) => matches(alert, t));
      if (counts) matched += 1;
      else {
        unmatchedByRule.set(alert.rule, (unmatchedByRule.get(alert.rule) ?? 0) + 1);
        if (VERBOSE) process.stdout.write(`    not counted (seed ${seed}): ${describe(alert)}\n`);
      }
      if (result.truth.some((t) => expectedFor(alert, t.kind))) {
        expectedFiring += 1;
        if (counts) expectedMatched += 1;
      }
    }
  }
  const label = [...kinds].join('+') || preset;
  process.stdout.write(
    `${label.padEnd(20)} recall ${ratio(detected, incidents)}  precision (all) ${ratio(matched, firing)}  precision (expected rules) ${ratio(expectedMatched, expectedFiring)}  delay median ${quantile(delays, 0.5).toFixed(1)} min, p95 ${quantile(delays, 0.95).toFixed(1)} min\n`,
  );
  if (unmatchedByRule.size > 0) process.stdout.write(`${''.padEnd(20)} alerts not counted, by rule: ${tally(unmatchedByRule)}\n`);
}
if (!ONLY || ONLY.has('none')) {
  let alerts = 0;
  let seriesDays = 0;
  const byRule = new Map<string, number>();
  for (let seed = 1; seed <= SEEDS; seed++) {
    const result = run(100 + seed, undefined);
    const fired = result.alerts.filter((a) => a.status === 'firing');
    alerts += fired.length;
    for (const a of fired) {
      byRule.set(a.rule, (byRule.get(a.rule) ?? 0) + 1);
      if (VERBOSE) process.stdout.write(`    false alert (seed ${100 + seed}): ${describe(a)}\n`);
    }
    seriesDays += (result.series / 100) * (result.spanMs / 86_400_000);
  }
  const falsePerDayPer100 = alerts / seriesDays;
  process.stdout.write(`incident-free runs: ${alerts} firing alerts over ${(seriesDays * 100).toFixed(1)} series-days → ${falsePerDayPer100.toFixed(2)} false alerts per simulated day per 100 series (target < 1)\n`);
  process.stdout.write(`  by rule: ${tally(byRule)}\n`);
}
