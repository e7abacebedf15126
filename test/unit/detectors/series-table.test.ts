import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { newSeriesClock, SeriesTable, type SeriesClock } from '../../../detectors/series-table.js';

const MIN = 60_000;

describe('SeriesTable.expire', () => {
  it('forgets exactly the series whose last window ended before the cutoff, whatever order keys report in', () => {
    const operation = fc.oneof(
      fc.record({ admit: fc.constantFrom('a', 'b', 'c', 'd', 'e'), window: fc.integer({ min: 0, max: 60 }) }),
      fc.record({ expireBefore: fc.integer({ min: 0, max: 62 }) }),
    );
    fc.assert(
      fc.property(fc.array(operation, { maxLength: 80 }), (operations) => {
        const table = new SeriesTable<SeriesClock>(() => newSeriesClock());
        // The reference: each key's last window end, forgotten by a plain filter.
        const lastEnd = new Map<string, number>();
        for (const op of operations) {
          if ('admit' in op) {
            const admitted = table.admit(op.admit, op.window * MIN, (op.window + 1) * MIN);
            const known = lastEnd.get(op.admit);
            if (known === undefined || op.window * MIN > known - MIN) lastEnd.set(op.admit, (op.window + 1) * MIN);
            expect(admitted !== undefined).toBe(known === undefined || op.window * MIN > known - MIN);
          } else {
            const cutoff = op.expireBefore * MIN;
            const expected = [...lastEnd].filter(([, end]) => end < cutoff).map(([key]) => key).sort();
            for (const key of expected) lastEnd.delete(key);
            expect(table.expire(cutoff).map(([key]) => key)).toEqual(expected);
          }
        }
        expect(table.keys().sort()).toEqual([...lastEnd.keys()].sort());
      }),
      { numRuns: 300 },
    );
  });
});
