import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { RollupKeyTable } from '../../pipeline/core/key-table.js';
import { CardinalityGuard, OVERFLOW_VALUE } from '../../pipeline/core/cardinality.js';
import { rollupKeyId } from '../../pipeline/core/rollup-key.js';

/** Adds keys until the table sweeps: past its minimum size, each forgetting what no window holds. */
const fill = (table: RollupKeyTable, from: number, count: number) => {
  for (let k = from; k < from + count; k++) table.indexOf('model', `filler-${k}`, 'v', 'r');
};

describe('RollupKeyTable', () => {
  it('gives one index per distinct key and the key back from it (property)', () => {
    const values = fc.constantFrom('a', 'b', 'c', '');
    fc.assert(
      fc.property(fc.array(fc.tuple(values, values, values), { maxLength: 60 }), (keys) => {
        const table = new RollupKeyTable();
        const byId = new Map<string, number>();
        for (const [a, b, c] of keys) {
          const index = table.indexOf('model', a, b, c);
          const key = table.key(index);
          expect(key).toEqual({ kind: 'model', dimensions: { model_name: a, model_version: b, region: c } });
          const id = rollupKeyId(key);
          expect(byId.get(id) ?? index).toBe(index);
          byId.set(id, index);
        }
        expect(table.size).toBe(byId.size);
      }),
    );
  });

  it('keeps two-dimension keys apart from three-dimension ones with the same first values', () => {
    const table = new RollupKeyTable();
    const provider = table.indexOf('provider_region', 'aws', 'us-east-1');
    expect(table.indexOf('model', 'aws', 'us-east-1', '')).not.toBe(provider);
    expect(table.id(provider)).toBe('provider_region|aws|us-east-1');
  });

  it('folds values past the cardinality limit into the overflow key, counting each event', () => {
    const guard = new CardinalityGuard(2);
    const table = new RollupKeyTable(guard);
    const [v1, v2, v3, v4] = ['v1', 'v2', 'v3', 'v4'].map((v) => table.indexOf('model', 'm', v, 'r'));
    expect(new Set([v1, v2, v3]).size).toBe(3);
    expect(v4).toBe(v3);
    expect(table.key(v3!).dimensions.model_version).toBe(OVERFLOW_VALUE);
    expect(table.indexOf('model', 'm', 'v3', 'r')).toBe(v3);
    expect(guard.overflowCounts().get('model_version')).toBe(3);
  });

  it('forgets on sweep only the keys no window holds, and finds the others by their values still', () => {
    const table = new RollupKeyTable();
    const held = table.indexOf('model', 'm', 'v1', 'r');
    // A sibling under the same prefix: forgetting it leaves the prefix with the held key alone.
    table.indexOf('model', 'm', 'v1', 'r2');
    table.retain(held);
    fill(table, 0, 1100);
    table.sweep();
    expect(table.size).toBe(1);
    expect(table.indexOf('model', 'm', 'v1', 'r')).toBe(held);
    expect(table.key(table.indexOf('model', 'm', 'v1', 'r2'))).toEqual({ kind: 'model', dimensions: { model_name: 'm', model_version: 'v1', region: 'r2' } });
    table.release(held);
  });

  it('refuses to release a key more often than it was retained', () => {
    const table = new RollupKeyTable();
    const index = table.indexOf('owner', 'team', '', 'prod');
    expect(() => table.release(index)).toThrow(/released more often than it was retained/);
  });
});
