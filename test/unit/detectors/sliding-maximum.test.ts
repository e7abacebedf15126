import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SlidingMaximum } from '../../../detectors/sliding-maximum.js';

describe('sliding maximum', () => {
  it('is the maximum of the last capacity values after every push', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 20 }), fc.array(fc.double({ min: -1e6, max: 1e6, noNaN: true }), { maxLength: 200 }), (capacity, values) => {
        const window = new SlidingMaximum(capacity);
        values.forEach((value, i) => {
          window.push(value);
          expect(window.max()).toBe(Math.max(...values.slice(Math.max(0, i + 1 - capacity), i + 1)));
          expect(window.length).toBeLessThanOrEqual(capacity);
        });
      }),
    );
  });

  it('is −∞ before anything was pushed', () => {
    expect(new SlidingMaximum(3).max()).toBe(Number.NEGATIVE_INFINITY);
  });

  it('rejects a capacity that is not a positive integer, naming it', () => {
    expect(() => new SlidingMaximum(0)).toThrow(/positive integer, got 0/);
  });
});
