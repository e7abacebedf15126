import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { MINUTE, runFleet, text, type Run } from './support.js';

function digest(run: Run): Record<string, string> {
  const hash = (events: unknown[]) => createHash('sha256').update(events.map(text).join('\n')).digest('hex');
  return { gpu: hash(run.gpu), queue: hash(run.queue), tokens: hash(run.tokens), billing: hash(run.billing) };
}

describe('simulator determinism', () => {
  it('produces the same events, byte for byte, for the same seed and start', () => {
    const options = { seed: 5, spanMs: 20 * MINUTE, incidents: [{ kind: 'degraded-region' as const, start: '25%', end: '60%', capacityLoss: 0.4, errorRate: 0.05, rttFactor: 4 }] };
    const first = runFleet(options);
    const second = runFleet(options);
    expect(first.tokens.length).toBeGreaterThan(1_000);
    expect(digest(second)).toEqual(digest(first));
  });

  it('produces the same events whatever pace the caller advances it at', () => {
    const coarse = runFleet({ seed: 5, spanMs: 20 * MINUTE, stepMs: 20 * MINUTE });
    const fine = runFleet({ seed: 5, spanMs: 20 * MINUTE, stepMs: 7_000 });
    expect(digest(fine)).toEqual(digest(coarse));
  });

  it('produces different events for a different seed', () => {
    const a = digest(runFleet({ seed: 5, spanMs: 10 * MINUTE }));
    const b = digest(runFleet({ seed: 6, spanMs: 10 * MINUTE }));
    expect(b.tokens).not.toBe(a.tokens);
    expect(b.gpu).not.toBe(a.gpu);
  });
});
