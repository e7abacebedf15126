import type { CardinalityGuard } from './cardinality.js';
import { DIMENSIONS, rollupKey, rollupKeyId, type RollupKey, type RollupKind } from './rollup-key.js';
import { ValuePool } from './value-pool.js';

/**
 * How window stores hold their keys: as small integer indices into a key table, which keeps each
 * key once however many windows refer to it (a live series has two or three at a time in each
 * stage), and turns an index back into a key only when a window is emitted. A store retains a
 * key for every window it creates and releases it when the window leaves memory.
 */
export interface KeyReferences {
  retain(index: number): void;
  release(index: number): void;
}

/** Below this many keys a table never sweeps: a few stale keys cost less than looking them up again. */
const MIN_SWEEP_SIZE = 1024;
/** The reference count of an index on the free list. */
const FREE = -1;

/**
 * Key indices with reference counts and a free list. Keys no window holds stay (a series between
 * two events is looked up again soon) until the table has doubled since its last sweep, which
 * then forgets them: memory stays proportional to the live keys, at O(1) amortized per key.
 */
abstract class KeyTable implements KeyReferences {
  private readonly references: number[] = [];
  private readonly free: number[] = [];
  private sweepAbove = MIN_SWEEP_SIZE;

  /** Keys in the table, held by a window or not. */
  get size(): number {
    return this.references.length - this.free.length;
  }

  retain(index: number): void {
    if (!(this.references[index]! >= 0)) throw new Error(`key index ${index} is not in the table: a window store retained a key its table forgot`);
    this.references[index]! += 1;
  }

  release(index: number): void {
    if (!(this.references[index]! > 0)) throw new Error(`key index ${index} is released more often than it was retained: a window store lost count of its windows`);
    this.references[index]! -= 1;
  }

  protected allocate(): number {
    const reused = this.free.pop();
    if (reused !== undefined) {
      this.references[reused] = 0;
      return reused;
    }
    return this.references.push(0) - 1;
  }

  /**
   * Forgets the keys no window holds once the table has doubled since the last sweep. Only
   * between events (the stages call it from advance): a key looked up for an event holds no
   * window until the event is folded.
   */
  sweep(): void {
    if (this.size <= this.sweepAbove) return;
    for (let index = 0; index < this.references.length; index++) {
      if (this.references[index] !== 0) continue;
      this.forget(index);
      this.references[index] = FREE;
      this.free.push(index);
    }
    this.sweepAbove = Math.max(MIN_SWEEP_SIZE, 2 * this.size);
  }

  /** Removes the key at index from the lookup and drops what it holds. */
  protected abstract forget(index: number): void;
}

/** The keys under one (first, second) prefix: the index of the only one (the common case: one version of a model in a region), or indices by last value. */
type LastLevel = number | Map<string, number>;
type KeyTrie = Map<string, Map<string, LastLevel>>;

/**
 * Rollup keys by their dimension values, looked up without building a string: a map per level,
 * and a last level holding a single key stored as its index rather than as a map of its own.
 * Per key it holds its kind and three values, strings shared with every key that has them.
 * With a cardinality guard (stage 1, raw event values), a new key's values go through it, and
 * values past the limit look up the overflow key instead.
 */
export class RollupKeyTable extends KeyTable {
  private readonly tries: Record<RollupKind, KeyTrie> = { model: new Map(), owner: new Map(), provider_region: new Map() };
  private readonly kinds: RollupKind[] = [];
  /** Three per key, in DIMENSIONS order ('' after the last dimension of a two-dimension kind). */
  private readonly values: string[] = [];
  private readonly pool = new ValuePool();

  constructor(private readonly guard?: CardinalityGuard) {
    super();
  }

  /** The index of the key with these values (the third '' for a kind with two dimensions), added on first sight. */
  indexOf(kind: RollupKind, a: string, b: string, c = ''): number {
    return this.find(kind, a, b, c) ?? this.admit(kind, a, b, c);
  }

  private find(kind: RollupKind, a: string, b: string, c: string): number | undefined {
    const last = this.tries[kind].get(a)?.get(b);
    if (last === undefined) return undefined;
    if (typeof last === 'number') return this.values[3 * last + 2] === c ? last : undefined;
    return last.get(c);
  }

  private admit(kind: RollupKind, a: string, b: string, c: string): number {
    const guard = this.guard;
    if (guard === undefined) return this.add(kind, a, b, c);
    // In dimension order, as the guard has always seen them.
    const names = DIMENSIONS[kind];
    const admittedA = guard.admit(names[0]!, a);
    const admittedB = guard.admit(names[1]!, b);
    const admittedC = names.length > 2 ? guard.admit(names[2]!, c) : c;
    if (admittedA === a && admittedB === b && admittedC === c) return this.add(kind, a, b, c);
    // Past the limit: the overflow key, under its own values (each raw combination folding into it is not kept).
    return this.find(kind, admittedA, admittedB, admittedC) ?? this.add(kind, admittedA, admittedB, admittedC);
  }

  private add(kind: RollupKind, rawA: string, rawB: string, rawC: string): number {
    const index = this.allocate();
    const [a, b, c] = [this.pool.intern(rawA), this.pool.intern(rawB), this.pool.intern(rawC)];
    this.kinds[index] = kind;
    this.values[3 * index] = a;
    this.values[3 * index + 1] = b;
    this.values[3 * index + 2] = c;
    const trie = this.tries[kind];
    let byB = trie.get(a);
    if (byB === undefined) trie.set(a, (byB = new Map()));
    const last = byB.get(b);
    if (last === undefined) byB.set(b, index);
    else if (typeof last === 'number') byB.set(b, new Map([[this.values[3 * last + 2]!, last], [c, index]]));
    else last.set(c, index);
    return index;
  }

  protected forget(index: number): void {
    const [a, b, c] = [this.values[3 * index]!, this.values[3 * index + 1]!, this.values[3 * index + 2]!];
    const trie = this.tries[this.kinds[index]!];
    const byB = trie.get(a)!;
    const last = byB.get(b)!;
    if (typeof last === 'number') byB.delete(b);
    else {
      last.delete(c);
      if (last.size === 1) byB.set(b, last.values().next().value!);
    }
    if (byB.size === 0) trie.delete(a);
    this.values[3 * index] = this.values[3 * index + 1] = this.values[3 * index + 2] = '';
  }

  override sweep(): void {
    const before = this.size;
    super.sweep();
    // Values of forgotten keys would otherwise stay pooled; keys still here keep their own copies.
    if (this.size < before) this.pool.clear();
  }

  kindOf(index: number): RollupKind {
    return this.kinds[index]!;
  }

  /** The key at index, built for an emission (the table keeps values, not key objects). */
  key(index: number): RollupKey {
    const kind = this.kinds[index]!;
    return rollupKey(kind, this.values.slice(3 * index, 3 * index + DIMENSIONS[kind].length));
  }

  id(index: number): string {
    return rollupKeyId(this.key(index));
  }
}

/** Keys of any shape by their string id: for keys with few live windows, such as stage 1's GPU usage per resource. */
export class IdKeyTable<K> extends KeyTable {
  private readonly byId = new Map<string, number>();
  private readonly keys: (K | undefined)[] = [];
  private readonly ids: string[] = [];

  indexOf(key: K, id: string): number {
    const found = this.byId.get(id);
    if (found !== undefined) return found;
    const index = this.allocate();
    this.keys[index] = key;
    this.ids[index] = id;
    this.byId.set(id, index);
    return index;
  }

  protected forget(index: number): void {
    this.byId.delete(this.ids[index]!);
    this.keys[index] = undefined;
    this.ids[index] = '';
  }

  key(index: number): K {
    return this.keys[index]!;
  }

  id(index: number): string {
    return this.ids[index]!;
  }
}

/**
 * A map from key index to a small non-negative number (a window's position in its bucket), as an
 * Int32Array indexed by key: 4 bytes a key instead of a Map entry's 30 to 60.
 */
export class KeyPositions {
  private positions = new Int32Array(64).fill(-1);

  get(index: number): number {
    return index < this.positions.length ? this.positions[index]! : -1;
  }

  set(index: number, position: number): void {
    if (index >= this.positions.length) {
      let length = this.positions.length;
      while (length <= index) length *= 2;
      const grown = new Int32Array(length).fill(-1);
      grown.set(this.positions);
      this.positions = grown;
    }
    this.positions[index] = position;
  }
}
