import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { loadFactor, localTime } from '../../../pipeline/simulate/fleet/index.js';
import { HOUR, runFleet } from './support.js';

const WEDNESDAY = Date.parse('2026-11-18T00:00:00Z');

describe('daily load cycle', () => {
  it('peaks at 16:00 and bottoms out at 04:00 local time of the region', () => {
    // New York is UTC-5 in November: 16:00 local is 21:00 UTC.
    expect(loadFactor('America/New_York', WEDNESDAY + 21 * HOUR)).toBeCloseTo(1, 6);
    expect(loadFactor('America/New_York', WEDNESDAY + 9 * HOUR)).toBeCloseTo(0.25, 6);
    // Tokyo is UTC+9: its peak is at 07:00 UTC, when New York sleeps.
    expect(loadFactor('Asia/Tokyo', WEDNESDAY + 7 * HOUR)).toBeCloseTo(1, 6);
    expect(loadFactor('America/New_York', WEDNESDAY + 7 * HOUR)).toBeLessThan(0.4);
  });

  it('follows daylight saving time (New York is UTC-4 in July)', () => {
    expect(localTime('America/New_York', Date.parse('2026-07-15T20:00:00Z')).hour).toBeCloseTo(16, 6);
    expect(localTime('America/New_York', Date.parse('2026-11-18T21:00:00Z')).hour).toBeCloseTo(16, 6);
  });

  it('is lighter on weekends than at the same hour on a weekday', () => {
    const saturday = Date.parse('2026-11-21T21:00:00Z');
    expect(loadFactor('America/New_York', saturday)).toBeLessThan(loadFactor('America/New_York', WEDNESDAY + 21 * HOUR));
  });

  it('stays between the weekend trough and the weekday peak at any instant', () => {
    fc.assert(
      fc.property(fc.integer({ min: Date.parse('2020-01-01T00:00:00Z'), max: Date.parse('2030-01-01T00:00:00Z') }), fc.constantFrom('America/New_York', 'Europe/Dublin', 'Asia/Tokyo', 'America/Los_Angeles'), (t, zone) => {
        const f = loadFactor(zone, t);
        expect(f).toBeGreaterThanOrEqual(0.25 * 0.7 - 1e-12);
        expect(f).toBeLessThanOrEqual(1 + 1e-12);
      }),
    );
  });

  it('makes a region serve several times more requests in its afternoon than before dawn', () => {
    const requestsPerHour = (startMs: number) => runFleet({ seed: 2, gpus: 64, regions: ['us-east-1'], startMs, spanMs: HOUR / 6, peakRatePerSecond: 30 }).tokens.length;
    const afternoon = requestsPerHour(WEDNESDAY + 21 * HOUR);
    const night = requestsPerHour(WEDNESDAY + 9 * HOUR);
    expect(afternoon / night).toBeGreaterThan(3);
  });
});
