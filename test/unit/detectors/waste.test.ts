import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { GpuWasteDetector, GPU_WASTE_RULE, gpuWasteSchema, parsePlaybook, PlaybookEngine } from '../../../detectors/index.js';
import type { Alert } from '../../../schemas/index.js';
import { gpuPoolWindow, statuses, T0, MIN } from './builders.js';

const settings = gpuWasteSchema.parse({});
const busy = 70;
/** The sustained period, in one-minute windows. */
const SUSTAINED = settings.sustainedMs / MIN;

function run(utilizations: (i: number) => number[], windows: number, detector = new GpuWasteDetector(settings)): Alert[] {
  const alerts: Alert[] = [];
  for (let i = 0; i < windows; i += 1) alerts.push(...detector.observe(gpuPoolWindow(i, utilizations(i))));
  return alerts;
}

describe('GPU waste: allocated and idle for a sustained time', () => {
  it('fires once GPUs have been idle for the sustained period, with the money at stake per hour', () => {
    const alerts = run((i) => (i < 10 ? [busy, busy, busy, busy, busy, busy, busy, busy] : [busy, busy, 2, 3, 1, 0, 2, 4]), 60);
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatchObject({ rule: GPU_WASTE_RULE, status: 'firing', window_start: T0 + (10 + SUSTAINED - 1) * MIN, metric: 'idle_gpu_cost_per_hour' });
    expect(alerts[0]!.observed).toBeCloseTo(6 * 4.1, 6);
    expect(alerts[0]!.evidence).toBe(`6 of 8 GPUs of llama-3.1-70b v1, cluster prod-east below 10% utilization for ${SUSTAINED} min or more (4 on node node-1): $24.60/h at stake, 75% of the pool's cost; scale down or release them`);
  });

  it('does not count a short lull between batches', () => {
    expect(run((i) => (i % 20 < 12 ? [busy, busy] : [0, 0]), 120)).toEqual([]);
  });

  it('counts GPUs allocated to no workload as idle whatever their utilization reads', () => {
    const detector = new GpuWasteDetector(settings);
    const alerts: Alert[] = [];
    for (let i = 0; i < 40; i += 1) {
      const window = gpuPoolWindow(i, [busy, busy, busy]);
      window.gpus[1]!.workload = 'unassigned';
      window.gpus[2]!.workload = 'unassigned';
      alerts.push(...detector.observe(window));
    }
    expect(alerts.map((a) => a.status)).toEqual(['firing']);
  });

  it('uses a GPU\'s own hourly rate when it has one, and goes critical past the critical money', () => {
    const detector = new GpuWasteDetector(settings);
    const alerts: Alert[] = [];
    for (let i = 0; i < 40; i += 1) {
      const window = gpuPoolWindow(i, [0, 0]);
      for (const gpu of window.gpus) gpu.hourlyRate = 60;
      alerts.push(...detector.observe(window));
    }
    expect(alerts[0]).toMatchObject({ severity: 'critical', observed: 120 });
  });

  it('resolves when the GPUs are busy again for two windows', () => {
    expect(statuses(run((i) => (i < 50 ? [0, 0, 0] : [busy, busy, busy]), 60))).toEqual(['firing:warning', 'resolved:warning']);
  });

  it('stays quiet when the money at stake is below the minimum', () => {
    const detector = new GpuWasteDetector(gpuWasteSchema.parse({ minMoneyPerHour: 50 }));
    expect(run(() => [0, 0], 60, detector)).toEqual([]);
  });

  it("judges each GPU on its own utilization: idle GPUs in a pool whose mean looks busy are still waste", () => {
    const alerts = run(() => [95, 95, 95, 95, 95, 95, 0, 0], SUSTAINED + 5);
    expect(alerts.map((a) => a.status)).toEqual(['firing']);
    expect(alerts[0]!.observed).toBeCloseTo(2 * 4.1, 6);
  });

  it('does not count a GPU that raised an XID error: it is broken, not idle', () => {
    const detector = new GpuWasteDetector(settings);
    const alerts: Alert[] = [];
    for (let i = 0; i < SUSTAINED + 10; i += 1) {
      const window = gpuPoolWindow(i, [0, 0, 0, 0]);
      for (const gpu of window.gpus) gpu.faulted = true;
      alerts.push(...detector.observe(window));
    }
    expect(alerts).toEqual([]);
  });

  it('keeps a GPU idle streak across a lost scrape', () => {
    const detector = new GpuWasteDetector(settings);
    const alerts: Alert[] = [];
    for (let i = 0; i < SUSTAINED + 2; i += 1) {
      const window = gpuPoolWindow(i, [0, 0]);
      // GPU-1 misses one window in the middle of its idle streak.
      if (i === 5) window.gpus = window.gpus.filter((gpu) => gpu.gpu !== 'GPU-1');
      alerts.push(...detector.observe(window));
    }
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatchObject({ window_start: T0 + (SUSTAINED - 1) * MIN });
    expect(alerts[0]!.observed).toBeCloseTo(2 * 4.1, 6);
  });

  it('names no node when the pool does not say which node a GPU is on', () => {
    const detector = new GpuWasteDetector(settings);
    const named: Alert[] = [];
    for (let i = 0; i < SUSTAINED; i += 1) {
      const window = gpuPoolWindow(i, [0, 0]);
      for (const gpu of window.gpus) gpu.node = '';
      named.push(...detector.observe(window));
    }
    expect(named[0]!.evidence).toBe(`2 of 2 GPUs of llama-3.1-70b v1, cluster prod-east below 10% utilization for ${SUSTAINED} min or more: $8.20/h at stake, 100% of the pool's cost; scale down or release them`);
  });
});

/** A training job's pool: 8 GPUs on two nodes, each at the utilization given for the window. */
function trainingWindow(i: number, utilization: number) {
  const window = gpuPoolWindow(i, Array(8).fill(utilization), { key: 'ml|exp-42|prod', dimensions: { team: 'ml', experiment: 'exp-42', environment: 'prod' } });
  for (const gpu of window.gpus) gpu.workload = 'training';
  return window;
}

function runTraining(utilization: (i: number) => number, windows: number, detector = new GpuWasteDetector(settings)): Array<Alert & { at: number }> {
  const alerts: Array<Alert & { at: number }> = [];
  for (let i = 0; i < windows; i += 1) for (const alert of detector.observe(trainingWindow(i, utilization(i)))) alerts.push({ ...alert, at: i });
  return alerts;
}

describe('GPU waste: early notice of a training job that stopped running kernels', () => {
  const STALLED = settings.stalledAfterMs! / MIN;

  it('fires at severity info once every GPU of a training pool has run no kernel for the stalled time', () => {
    const alerts = runTraining((i) => (i < 10 ? 97 : 0), 10 + STALLED);
    expect(alerts.map((a) => [a.at, a.status, a.severity])).toEqual([[10 + STALLED - 1, 'firing', 'info']]);
    expect(alerts[0]!.evidence).toBe(`all 8 GPUs of experiment exp-42, team ml (prod), on 2 nodes, have run no kernel for ${STALLED} min: the job looks hung, or finished without releasing them, holding $32.80/h; check it (a scale-down is proposed after ${SUSTAINED} min idle)`);
  });

  it('escalates the same episode to the scale-down severity after the sustained period, re-notifying once', () => {
    const alerts = runTraining((i) => (i < 10 ? 97 : 0), 10 + SUSTAINED + 20);
    expect(alerts.map((a) => [a.at, a.status, a.severity, a.sequence])).toEqual([
      [10 + STALLED - 1, 'firing', 'info', 0],
      [10 + SUSTAINED - 1, 'updated', 'warning', 1],
    ]);
    expect(alerts[1]!.alert_id).toBe(alerts[0]!.alert_id);
    expect(alerts[1]!.observed).toBeCloseTo(8 * 4.1, 6);
  });

  it('resolves the notice when the job runs kernels again before the sustained period', () => {
    const alerts = runTraining((i) => (i >= 10 && i < 15 ? 0 : 97), 30);
    expect(alerts.map((a) => `${a.at}:${a.status}:${a.severity}`)).toEqual([`${10 + STALLED - 1}:firing:info`, '16:resolved:info']);
  });

  it('gives no notice for a checkpoint, which still runs kernels, nor while one GPU of the pool is busy', () => {
    expect(runTraining((i) => (i >= 10 && i < 13 ? 12 : 97), 30)).toEqual([]);
    const detector = new GpuWasteDetector(settings);
    const alerts: Alert[] = [];
    for (let i = 0; i < 10; i += 1) {
      const window = trainingWindow(i, 0);
      window.gpus[3]!.utilizationPct = 90;
      alerts.push(...detector.observe(window));
    }
    expect(alerts).toEqual([]);
  });

  it('gives no early notice for an inference pool with no activity: demand-driven pools are quiet at night', () => {
    const alerts = run(() => [0, 0, 0, 0], SUSTAINED + 2);
    expect(alerts.map((a) => `${a.window_start}:${a.status}:${a.severity}`)).toEqual([`${T0 + (SUSTAINED - 1) * MIN}:firing:warning`]);
  });

  it('gives no early notice when configured without one', () => {
    const detector = new GpuWasteDetector(gpuWasteSchema.parse({ stalledAfterMs: null }));
    expect(statuses(runTraining(() => 0, SUSTAINED + 2, detector))).toEqual(['firing:warning']);
  });

  it('drives the default playbook to scale down on the escalation only, not on the early notice', () => {
    const playbook = parsePlaybook(readFileSync(new URL('../../../deploy/playbooks/default.yaml', import.meta.url), 'utf8'), 'deploy/playbooks/default.yaml');
    const engine = new PlaybookEngine(playbook);
    const [notice, escalation] = runTraining((i) => (i < 10 ? 97 : 0), 10 + SUSTAINED);
    expect(engine.decide(notice!)).toEqual([]);
    expect(engine.decide(escalation!).map((d) => [d.action, d.status])).toEqual([['scale_down', 'proposed']]);
  });
});
