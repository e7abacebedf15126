import { describe, expect, it } from 'vitest';
import { GpuWasteDetector, GPU_WASTE_RULE, gpuWasteSchema } from '../../../detectors/index.js';
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
