import { describe, expect, it } from 'vitest';
import { formatMoney } from '../../../pipeline/core/money.js';
import { buildFleet, canaryNodes, canaryShare, FleetOptionError, planRollout } from '../../../pipeline/simulate/fleet/index.js';
import { HOUR, MINUTE, runFleet, START } from './support.js';

describe('simulated fleet', () => {
  const fleet = buildFleet({ seed: 3, gpus: 1_000, regions: 5 });

  it('has about the GPUs asked for, in whole nodes, across three providers', () => {
    expect(fleet.gpuCount).toBeGreaterThanOrEqual(960);
    expect(fleet.gpuCount).toBeLessThanOrEqual(1_040);
    expect(new Set(fleet.regions.map((r) => r.provider))).toEqual(new Set(['aws', 'gcp', 'azure']));
    expect(new Set(fleet.nodes.map((n) => n.resourceId)).size).toBe(fleet.nodes.length);
  });

  it('rents real instance types at their on-demand list prices', () => {
    const price = (type: string, region: string) => formatMoney(fleet.nodes.find((n) => n.instanceType.name === type && n.region.id === region)!.hourlyPrice);
    expect(price('p5.48xlarge', 'us-east-1')).toBe('98.32');
    expect(price('g5.12xlarge', 'us-east-1')).toBe('5.672');
    expect(price('a3-highgpu-8g', 'us-central1')).toBe('88.25');
    expect(price('Standard_ND96isr_H100_v5', 'westeurope')).toBe('108.152');
    expect(fleet.nodes.find((n) => n.instanceType.name === 'p5.48xlarge')!.gpuUuids).toHaveLength(8);
  });

  it('serves every model in every region, with training jobs of several teams beside them', () => {
    expect(fleet.deployments).toHaveLength(4 * 5);
    for (const d of fleet.deployments) expect(d.nodes.length).toBeGreaterThanOrEqual(2);
    expect(new Set(fleet.jobs.map((j) => j.spec.team)).size).toBeGreaterThanOrEqual(3);
  });

  it('refuses a region it does not know, naming the known ones', () => {
    expect(() => buildFleet({ seed: 1, gpus: 64, regions: ['us-east-1', 'mars-north-1'] })).toThrow(FleetOptionError);
    expect(() => buildFleet({ seed: 1, gpus: 64, regions: ['mars-north-1'] })).toThrow(/mars-north-1.*us-east-1, eu-west-1/);
  });
});

describe('model rollouts', () => {
  it('ramps the new version’s share up in canary steps over the run, to all of the traffic', () => {
    const plan = planRollout('m', 'v1', 'v2', START, 10 * HOUR, 0);
    const shares = Array.from({ length: 11 }, (_, i) => canaryShare(plan, START + i * HOUR));
    expect(shares[0]).toBe(0);
    for (let i = 1; i < shares.length; i++) expect(shares[i]!).toBeGreaterThanOrEqual(shares[i - 1]!);
    expect(shares[10]).toBe(1);
    expect(new Set(shares).size).toBeGreaterThanOrEqual(5);
  });

  it('keeps one node on each version while the canary runs', () => {
    expect(canaryNodes(10, 0.05)).toBe(1);
    expect(canaryNodes(10, 0.5)).toBe(5);
    expect(canaryNodes(2, 0.9)).toBe(1);
    expect(canaryNodes(10, 1)).toBe(10);
  });

  it('shows both versions in the request log of a run, the new one growing', () => {
    const run = runFleet({ seed: 1, spanMs: 60 * MINUTE, regions: 1, peakRatePerSecond: 20 });
    const chat = run.fleet.deployments.find((d) => d.model.endpoint === 'chat')!.model;
    const share = (from: number, to: number) => {
      const slice = run.tokens.filter((t) => t.endpoint === 'chat' && t.event_time >= from && t.event_time < to);
      return slice.filter((t) => t.model_version === chat.rolloutVersion).length / slice.length;
    };
    expect(share(START, START + 5 * MINUTE)).toBe(0);
    expect(share(START + 30 * MINUTE, START + 40 * MINUTE)).toBeGreaterThan(0);
    expect(share(START + 55 * MINUTE, START + 60 * MINUTE)).toBe(1);
  });
});
