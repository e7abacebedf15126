import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { WindowStore, type SourcePosition } from '../../pipeline/core/window-store.js';
import { IdKeyTable } from '../../pipeline/core/key-table.js';
import { windowStartOf } from '../../pipeline/core/tumbling-window.js';

const MIN = 60_000;
const counter = () => ({ n: 0 });
/** Counters packed as their decimal text, to watch a store pack and unpack them. */
const packing = (unpackedLimit: number) => ({ pack: (a: { n: number }) => String(a.n), unpack: (held: string) => ({ n: Number(held) }), unpackedLimit });

/** A store keyed by strings through an id table, emissions naming their key again. */
function store(allowedLatenessMs = 30_000, packed?: ReturnType<typeof packing>) {
  const keys = new IdKeyTable<string>();
  const windows = new WindowStore<{ n: number }>({ sizeMs: MIN, allowedLatenessMs }, counter, { keys, packing: packed });
  return {
    keys,
    add: (key: string, t: number, position: SourcePosition, fold: (a: { n: number }) => void) => windows.add(keys.indexOf(key, key), t, position, fold),
    advance: (watermark: number) => windows.advance(watermark).map((em) => ({ ...em, keyId: keys.id(em.keyIndex) })),
    committableOffsets: () => windows.committableOffsets(),
    get size() {
      return windows.size;
    },
    aggregateAt: (key: string, start: number) => windows.aggregateAt(keys.indexOf(key, key), start),
    aggregateFor: (key: string, t: number, position: SourcePosition) => windows.aggregateFor(keys.indexOf(key, key), t, position),
  };
}
const inc = (a: { n: number }) => {
  a.n += 1;
};

describe('tumbling window assignment', () => {
  it('puts an event in the window whose [start, start + size) holds its event time', () => {
    expect(windowStartOf(0, MIN)).toBe(0);
    expect(windowStartOf(59_999, MIN)).toBe(0);
    expect(windowStartOf(60_000, MIN)).toBe(60_000);
    expect(windowStartOf(-1, MIN)).toBe(-60_000);
  });

  it('holds for any event time: start <= t < start + size and start is aligned', () => {
    fc.assert(
      fc.property(fc.integer({ min: -1e13, max: 1e13 }), fc.integer({ min: 1000, max: 3_600_000 }), (t, size) => {
        const start = windowStartOf(t, size);
        return start <= t && t < start + size && start % size === 0;
      }),
    );
  });
});

describe('WindowStore', () => {
  it('emits a window once the watermark passes its end, not before', () => {
    const s = store();
    s.add('k', 10_000, { partition: 'p:0', offset: 0 }, inc);
    expect(s.advance(59_999)).toHaveLength(0);
    const [emission] = s.advance(60_000);
    expect(emission).toMatchObject({ keyId: 'k', windowStart: 0, windowEnd: MIN, eventCount: 1, onTime: true });
  });

  it('re-emits a window updated within allowed lateness, with a higher event count as its version', () => {
    const s = store(30_000);
    s.add('k', 10_000, { partition: 'p:0', offset: 0 }, inc);
    s.advance(65_000);
    expect(s.add('k', 20_000, { partition: 'p:0', offset: 1 }, inc)).toBe('accepted');
    const [update] = s.advance(66_000);
    expect(update).toMatchObject({ windowStart: 0, eventCount: 2, onTime: false });
    expect(update!.aggregate.n).toBe(2);
  });

  it('refuses an event later than the allowed lateness as late', () => {
    const s = store(30_000);
    s.add('k', 10_000, { partition: 'p:0', offset: 0 }, inc);
    s.advance(90_000);
    expect(s.add('k', 20_000, { partition: 'p:0', offset: 1 }, inc)).toBe('late');
    expect(s.size).toBe(0);
  });

  it('lets a partition commit only up to the first offset feeding a live window', () => {
    const s = store(30_000);
    s.add('a', 10_000, { partition: 'p:0', offset: 5 }, inc);
    s.add('b', 70_000, { partition: 'p:0', offset: 6 }, inc);
    s.add('a', 71_000, { partition: 'p:1', offset: 40 }, inc);
    expect(s.committableOffsets()).toEqual(new Map([['p:0', 5], ['p:1', 40]]));
    s.advance(90_000); // window 0 is past lateness and dropped; window 60s is still open
    expect(s.committableOffsets()).toEqual(new Map([['p:0', 6], ['p:1', 40]]));
    s.advance(150_000);
    expect(s.committableOffsets()).toEqual(new Map([['p:0', 7], ['p:1', 41]]));
  });

  it('counts every accepted event exactly once in the last emission of its window (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ key: fc.constantFrom('a', 'b', 'c'), t: fc.integer({ min: 0, max: 10 * MIN }), advanceBy: fc.integer({ min: 0, max: 20_000 }) }), { maxLength: 200 }),
        (events) => {
          const s = store(30_000);
          const latest = new Map<string, number>();
          let accepted = 0;
          let watermark = 0;
          events.forEach((e, offset) => {
            if (s.add(e.key, e.t, { partition: 'p:0', offset }, inc) === 'accepted') accepted += 1;
            watermark += e.advanceBy;
            for (const em of s.advance(watermark)) latest.set(`${em.keyId}@${em.windowStart}`, em.aggregate.n);
          });
          for (const em of s.advance(Number.MAX_SAFE_INTEGER)) latest.set(`${em.keyId}@${em.windowStart}`, em.aggregate.n);
          return [...latest.values()].reduce((x, y) => x + y, 0) === accepted;
        },
      ),
    );
  });
});

describe('WindowStore, a key first seen after its window fired', () => {
  it('emits that key\'s window as an update instead of losing it', () => {
    const s = store(30_000);
    s.add('b', 0, { partition: 'p:0', offset: 0 }, inc);
    s.advance(60_000);
    s.add('a', 1_000, { partition: 'p:0', offset: 1 }, inc);
    expect(s.advance(61_000)).toMatchObject([{ keyId: 'a', windowStart: 0, eventCount: 1, onTime: false }]);
  });
});

describe('WindowStore with packing', () => {
  it('keeps at most its limit of open windows unpacked after advance, the ones unpacked longest ago packed', () => {
    const s = store(30_000, packing(2));
    const opened = ['a', 'b', 'c', 'd'].map((key, offset) => s.aggregateFor(key, 1_000, { partition: 'p:0', offset })!);
    opened.forEach((a, i) => (a.n = i + 10));
    s.advance(2_000);
    // a and b were packed with what they held: folding into them again unpacks a new object.
    expect(s.aggregateFor('a', 1_500, { partition: 'p:0', offset: 4 })).not.toBe(opened[0]);
    expect(s.aggregateFor('d', 1_500, { partition: 'p:0', offset: 5 })).toBe(opened[3]);
    expect(s.aggregateAt('b', 0)).toEqual({ n: 11 });
  });

  it('emits the same windows as a store that never packs, whatever its limit (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ key: fc.constantFrom('a', 'b', 'c', 'd', 'e'), t: fc.integer({ min: 0, max: 5 * MIN }), advanceBy: fc.integer({ min: 0, max: 20_000 }) }), { maxLength: 150 }),
        fc.integer({ min: 0, max: 4 }),
        (events, limit) => {
          const [plain, packed] = [store(30_000), store(30_000, packing(limit))];
          const emitted = (s: typeof plain, watermark: number) => s.advance(watermark).map((em) => `${em.keyId}@${em.windowStart}:${em.aggregate.n}/${em.eventCount}/${em.onTime}`);
          let watermark = 0;
          return events.every((e, offset) => {
            plain.add(e.key, e.t, { partition: 'p:0', offset }, inc);
            packed.add(e.key, e.t, { partition: 'p:0', offset }, inc);
            watermark += e.advanceBy;
            return JSON.stringify(emitted(plain, watermark)) === JSON.stringify(emitted(packed, watermark));
          });
        },
      ),
    );
  });
});

describe('WindowStore keys', () => {
  it('holds a key in its table while a window of it lives; the table forgets it once it has doubled', () => {
    const s = store(30_000);
    for (let k = 0; k < 3000; k++) s.add(`k${k}`, 10_000, { partition: 'p:0', offset: k }, inc);
    s.keys.sweep();
    expect(s.keys.size).toBe(3000);
    s.advance(90_000);
    // Gone from the store, still in the table until it has twice the keys of its last sweep.
    for (let k = 3000; k < 6001; k++) s.add(`k${k}`, 100_000, { partition: 'p:0', offset: k }, inc);
    s.keys.sweep();
    expect(s.keys.size).toBe(3001);
    expect(s.keys.id(s.keys.indexOf('k6000', 'k6000'))).toBe('k6000');
  });
});
