import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { incidentSpecs, messagesOf, settingsFrom } from '../../../pipeline/cli/commands/simulate.js';
import { MINUTE, runFleet } from './support.js';

const defaults = { duration: '60', speedup: '60', seed: '1', gpus: '256', regions: '3', billingDelay: '3h', incident: [] as string[] };
const NOW = Date.parse('2026-11-20T10:00:00.500Z');

describe('costline simulate options', () => {
  it('starts the simulated span duration × speedup before now by default, so the data ends now', () => {
    const settings = settingsFrom(defaults, NOW);
    expect(settings.startMs).toBe(Date.parse('2026-11-20T09:00:00Z'));
    expect(settings.billingDelayMs).toBe(3 * 60 * MINUTE);
    expect(settings.regions).toBe(3);
  });

  it('takes region ids as a comma-separated list', () => {
    expect(settingsFrom({ ...defaults, regions: 'us-east-1, westeurope' }, NOW).regions).toEqual(['us-east-1', 'westeurope']);
  });

  it('names the flag, the value and the fix when a value is wrong', () => {
    expect(() => settingsFrom({ ...defaults, speedup: '0' }, NOW)).toThrow('--speedup 0 is not a positive number. Fix: pass e.g. --speedup 60.');
    expect(() => settingsFrom({ ...defaults, gpus: '12.5' }, NOW)).toThrow(/--gpus 12.5 is not a whole number/);
    expect(() => settingsFrom({ ...defaults, start: 'yesterday' }, NOW)).toThrow(/--start yesterday is not an ISO instant/);
    expect(() => settingsFrom({ ...defaults, billingDelay: 'soon' }, NOW)).toThrow(/--billing-delay soon is not a duration/);
  });

  it('refuses an --incident that is neither a preset nor a file, listing the presets', () => {
    expect(() => incidentSpecs(['meteor-strike'])).toThrow(/neither a preset nor a file.*rollout-regression, spend-spike/);
  });

  it('reads incidents from a YAML file', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'costline-incidents-')), 'incidents.yaml');
    writeFileSync(file, 'incidents:\n  - kind: idle-gpus\n    start: 20m\n    end: 1h\n');
    expect(incidentSpecs([file, 'degraded-region']).map((s) => [s.spec.kind, s.source])).toEqual([
      ['idle-gpus', `file:${file}`],
      ['degraded-region', 'preset:degraded-region'],
    ]);
  });
});

describe('costline simulate record keys', () => {
  it('keys GPU samples and billing lines by resource id (so they co-partition), requests and queue samples by endpoint', () => {
    const run = runFleet({ seed: 2, spanMs: 5 * MINUTE, billingDelayMs: 0, regions: 1 });
    const identity = () => Buffer.alloc(0);
    const messages = messagesOf({ gpu: run.gpu, queue: run.queue, tokens: run.tokens, billing: run.billing }, { gpu: identity, queue: identity, tokens: identity, billing: identity });
    expect(messages.gpu.map((m) => m.key)).toEqual(run.gpu.map((g) => g.resource_id));
    expect(messages.billing.map((m) => m.key)).toEqual(run.billing.map((b) => b.ResourceId));
    expect(messages.tokens.map((m) => m.key)).toEqual(run.tokens.map((t) => t.endpoint));
    expect(messages.queue.map((m) => m.key)).toEqual(run.queue.map((q) => q.endpoint));
    const billedNode = run.billing.find((b) => b.ServiceCategory === 'Compute')!.ResourceId;
    expect(messages.gpu.some((m) => m.key === billedNode)).toBe(true);
  });
});
