import { ByteReader, ByteWriter } from './compact-bytes.js';

/**
 * Every quantile a sketch answers is within this relative error of the exact lower-rank value.
 * The rollups promise 1%; 0.8% keeps a margin for float rounding at bin edges.
 */
export const SKETCH_RELATIVE_ACCURACY = 0.008;

/** DDSketch's logarithmic mapping: value v > 0 goes to bin ceil(log_gamma(v)), so (gamma^(i-1), gamma^i]. */
const GAMMA = (1 + SKETCH_RELATIVE_ACCURACY) / (1 - SKETCH_RELATIVE_ACCURACY);
const INVERSE_LOG_GAMMA = 1 / Math.log(GAMMA);
/** The point of (gamma^(i-1), gamma^i] within the relative accuracy of both ends: 2 gamma^i / (gamma + 1). */
const REPRESENTATIVE_FACTOR = 2 / (GAMMA + 1);
/** Values at or below this count as zeros: a picosecond of latency in ms is zero for every reader. */
const ZERO_THRESHOLD = 1e-9;

/**
 * A bin is one number: its index (shifted to be non-negative) times 2^36 plus its count. Indices
 * of finite doubles above ZERO_THRESHOLD lie in [-1300, 44400], so index + 2^16 < 2^17 and the
 * packed value stays below 2^53, where doubles are exact integers; ordering packed bins orders
 * their indices. One array of doubles then holds a sparse sketch at 8 bytes a bin. A plain array
 * rather than a typed one: V8 stores it unboxed just the same, and it costs 48 bytes of heap
 * where a typed array costs ~180 before its first element (measured on Node 20).
 */
const INDEX_SHIFT = 2 ** 16;
const COUNT_RANGE = 2 ** 36;
const packBin = (index: number, count: number) => (index + INDEX_SHIFT) * COUNT_RANGE + count;
const binIndex = (bin: number) => Math.floor(bin / COUNT_RANGE) - INDEX_SHIFT;
const binCount = (bin: number) => bin % COUNT_RANGE;

/** Below this many bins a sketch's array is kept exactly as long as its bins (most windows hold a handful of values). */
const EXACT_ARRAY_BINS = 32;
const NO_BINS: readonly number[] = Object.freeze([]);
const NO_BYTES = new Uint8Array(0);

/** Bytes layout version 1: this mapping at this accuracy, bins listed sparsely. Another mapping or accuracy needs another version. */
const FORMAT_VERSION = 1;
/**
 * Layout 2, the same mapping and accuracy with bins dense: every count from the lowest occupied
 * bin to the highest, each in as many bits as the largest needs. An hour of a busy series fills
 * most bins of its range with small counts: half the bytes of layout 1 or less. Held in memory
 * only (see writeTo); the internal topic carries layout 1, which every costline reads.
 */
const DENSE_VERSION = 2;
/** Where dense counts are packed before they are copied out: one for all sketches, grown as needed. */
let denseBytes = new Uint8Array(256);
const denseScratch = (length: number) => (denseBytes.length >= length ? denseBytes : (denseBytes = new Uint8Array(length * 2)));
/** Bits a dense count may take: pending bits then fit a 32-bit integer (bins counting more stay sparse). */
const MAX_DENSE_WIDTH = 24;
/** Where a sketch is embedded in a larger layout, an empty one is this single byte. */
const EMPTY_MARK = 0;
const ACCURACY_PPM = Math.round(SKETCH_RELATIVE_ACCURACY * 1e6);

function indexOf(value: number): number {
  return Math.ceil(Math.log(value) * INVERSE_LOG_GAMMA);
}

function representativeValue(index: number): number {
  return Math.min(GAMMA ** index * REPRESENTATIVE_FACTOR, Number.MAX_VALUE);
}

function checkCount(count: number): number {
  if (count >= COUNT_RANGE) throw new RangeError(`a quantile sketch bin would hold ${count} values, more than the 2^36 it can count; split the window`);
  return count;
}

/**
 * A mergeable quantile sketch with a relative-error guarantee (DDSketch's logarithmic mapping),
 * stored sparsely: only occupied bins, sorted, so a window with a few values costs about a
 * hundred bytes and merging minutes into an hour is a merge of two sorted arrays. Non-negative
 * values only (negatives count as zero).
 */
export class QuantileSketch {
  private constructor(
    /** Occupied bins, packed (see packBin), ascending. Shared and frozen while empty. */
    private bins: readonly number[],
    private zeroCount: number,
    private total: number,
  ) {}

  static empty(): QuantileSketch {
    return new QuantileSketch(NO_BINS, 0, 0);
  }

  /** Reads what toBytes wrote (no bytes: an empty sketch); throws on another layout or accuracy, or a truncated sketch. */
  static fromBytes(bytes: Uint8Array): QuantileSketch {
    if (bytes.length === 0) return QuantileSketch.empty();
    const reader = new ByteReader(bytes, 'quantile sketch');
    const sketch = QuantileSketch.readFrom(reader);
    reader.end();
    return sketch;
  }

  /** Reads what writeTo wrote, from inside a larger layout. */
  static readFrom(reader: ByteReader): QuantileSketch {
    const version = reader.varint();
    if (version === EMPTY_MARK) return QuantileSketch.empty();
    // 0x0a is how a DDSketch protobuf (the sketches costline wrote before) begins.
    if (version !== FORMAT_VERSION && version !== DENSE_VERSION) throw new Error(`quantile sketch bytes have layout version ${version}, this costline reads version ${FORMAT_VERSION}${version === 0x0a ? ' (these look like a DDSketch protobuf from an older costline: let the internal topic drain before upgrading)' : ''}`);
    const accuracy = reader.varint();
    if (accuracy !== ACCURACY_PPM) throw new Error(`quantile sketch bytes were written at relative accuracy ${accuracy / 1e6}, this costline uses ${SKETCH_RELATIVE_ACCURACY}: sketches of different accuracy cannot merge`);
    const zeroCount = reader.varint();
    if (version === DENSE_VERSION) return QuantileSketch.readDense(reader, zeroCount);
    const binTotal = reader.varint();
    if (binTotal * 2 > reader.remaining) throw new Error(`quantile sketch bytes announce ${binTotal} bins in ${reader.remaining} bytes: they are cut short or corrupt`);
    const bins = new Array<number>(binTotal);
    let total = zeroCount;
    let index = 0;
    for (let i = 0; i < binTotal; i++) {
      index = i === 0 ? reader.signedVarint() : index + 1 + reader.varint();
      const count = reader.varint();
      if (count === 0 || index < -INDEX_SHIFT || index >= INDEX_SHIFT) throw new Error(`quantile sketch bytes hold bin ${index} with ${count} values, which this costline never writes: they are corrupt`);
      bins[i] = packBin(index, checkCount(count));
      total += count;
    }
    return new QuantileSketch(binTotal === 0 ? NO_BINS : bins, zeroCount, total);
  }

  /** The bins of layout 2, after its header and zero count. */
  private static readDense(reader: ByteReader, zeroCount: number): QuantileSketch {
    const lowest = reader.signedVarint();
    const span = reader.varint();
    const width = reader.varint();
    if (width < 1 || width > MAX_DENSE_WIDTH || lowest < -INDEX_SHIFT || lowest + span > INDEX_SHIFT || Math.ceil((span * width) / 8) > reader.remaining) throw new Error(`quantile sketch bytes announce ${span} dense bins of ${width} bits from bin ${lowest} in ${reader.remaining} bytes: they are cut short or corrupt`);
    const packed = reader.raw(Math.ceil((span * width) / 8));
    const bins: number[] = [];
    let total = zeroCount;
    const mask = (1 << width) - 1;
    // Little-endian bit packing; widths stop at 24 bits, so pending bits fit a 32-bit integer.
    let pending = 0;
    let bits = 0;
    let at = 0;
    for (let i = 0; i < span; i++) {
      while (bits < width) {
        pending |= packed[at++]! << bits;
        bits += 8;
      }
      const count = pending & mask;
      pending >>>= width;
      bits -= width;
      if (count > 0) {
        bins.push(packBin(lowest + i, checkCount(count)));
        total += count;
      }
    }
    if (bins.length === 0 || binIndex(bins[0]!) !== lowest || binIndex(bins[bins.length - 1]!) !== lowest + span - 1) throw new Error(`quantile sketch bytes hold dense bins that do not start and end occupied: they are corrupt`);
    return new QuantileSketch(bins, zeroCount, total);
  }

  add(value: number): void {
    if (Number.isNaN(value) || value === Number.POSITIVE_INFINITY) throw new RangeError(`quantile sketch cannot hold ${value}; validation should have refused the event`);
    this.total += 1;
    if (value <= ZERO_THRESHOLD) {
      this.zeroCount += 1;
      return;
    }
    this.increment(indexOf(value));
  }

  /** Adds one to the bin at index, inserting it in order when new. */
  private increment(index: number): void {
    const bins = this.bins;
    const lowest = packBin(index, 0);
    // Binary search for the first bin whose index is >= index.
    let lo = 0;
    let hi = bins.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (bins[mid]! < lowest) lo = mid + 1;
      else hi = mid;
    }
    if (lo < bins.length && bins[lo]! < lowest + COUNT_RANGE) {
      (bins as number[])[lo] = packBin(index, checkCount(binCount(bins[lo]!) + 1));
      return;
    }
    this.insertAt(lo, lowest + 1);
  }

  private insertAt(position: number, bin: number): void {
    const bins = this.bins;
    if (bins.length >= EXACT_ARRAY_BINS) {
      // Large: let the array grow geometrically; copying it for every new bin would be quadratic.
      (bins as number[]).splice(position, 0, bin);
      return;
    }
    const grown = new Array<number>(bins.length + 1);
    for (let i = 0; i < position; i++) grown[i] = bins[i]!;
    grown[position] = bin;
    for (let i = position; i < bins.length; i++) grown[i + 1] = bins[i]!;
    this.bins = grown;
  }

  /** Adds other's values to this sketch: the same as having added them here. */
  merge(other: QuantileSketch): void {
    if (other.total === 0) return;
    this.zeroCount += other.zeroCount;
    this.total += other.total;
    const a = this.bins;
    const b = other.bins;
    if (b.length === 0) return;
    // Into an empty sketch (a window's first part): a copy, never other's own array.
    if (a.length === 0) {
      this.bins = b.slice();
      return;
    }
    // One pass into room for both, then trimmed: shared bins make it shorter.
    const merged = new Array<number>(a.length + b.length);
    let i = 0;
    let j = 0;
    let k = 0;
    while (i < a.length && j < b.length) {
      const ia = binIndex(a[i]!);
      const ib = binIndex(b[j]!);
      if (ia === ib) merged[k++] = packBin(ia, checkCount(binCount(a[i++]!) + binCount(b[j++]!)));
      else if (ia < ib) merged[k++] = a[i++]!;
      else merged[k++] = b[j++]!;
    }
    while (i < a.length) merged[k++] = a[i++]!;
    while (j < b.length) merged[k++] = b[j++]!;
    merged.length = k;
    this.bins = merged;
  }

  get count(): number {
    return this.total;
  }

  /**
   * The q-quantile (0..1) by the lower-rank rule: the value of rank floor(q (count - 1)) in
   * sorted order, within the relative accuracy. 0 for an empty sketch, NaN for q outside [0, 1].
   */
  quantile(q: number): number {
    if (!(q >= 0 && q <= 1)) return Number.NaN;
    if (this.total === 0) return 0;
    const rank = q * (this.total - 1);
    if (rank < this.zeroCount) return 0;
    let seen = this.zeroCount;
    for (const bin of this.bins) {
      seen += binCount(bin);
      if (seen > rank) return representativeValue(binIndex(bin));
    }
    return representativeValue(binIndex(this.bins[this.bins.length - 1]!));
  }

  /**
   * Layout 1: version, accuracy (ppm), zero count, bin count, then per bin its index (zigzag for
   * the first, then the gap to the previous minus one) and its count, all varints: two or three
   * bytes a bin for latency-like data. An empty sketch is no bytes at all.
   */
  toBytes(): Uint8Array {
    if (this.total === 0) return NO_BYTES;
    const writer = new ByteWriter(8 + this.bins.length * 3);
    this.writeSparse(writer);
    return writer.finish();
  }

  /**
   * Writes the sketch inside a larger layout held in memory (an empty one as a single 0, which
   * readFrom knows): layout 1, or with `smallest` whichever of layouts 1 and 2 is shorter (for
   * state held long, such as an hour: layout 2 takes a little longer to write and read).
   */
  writeTo(writer: ByteWriter, smallest = false): void {
    if (this.total === 0) {
      writer.varint(EMPTY_MARK);
      return;
    }
    const bins = this.bins;
    // Dense pays off only once the bins crowd their range: against the two bytes a sparse bin takes at least.
    if (smallest && bins.length >= 8) {
      const lowest = binIndex(bins[0]!);
      const span = binIndex(bins[bins.length - 1]!) - lowest + 1;
      if (span < bins.length * 4) {
        let largest = 0;
        for (let i = 0; i < bins.length; i++) largest = Math.max(largest, bins[i]! % COUNT_RANGE);
        const width = 32 - Math.clz32(largest);
        if (largest < 2 ** MAX_DENSE_WIDTH && Math.ceil((span * width) / 8) + 4 < 2 * bins.length) {
          this.writeDense(writer, lowest, span, width);
          return;
        }
      }
    }
    this.writeSparse(writer);
  }

  private writeDense(writer: ByteWriter, lowest: number, span: number, width: number): void {
    writer.varint(DENSE_VERSION);
    writer.varint(ACCURACY_PPM);
    writer.varint(this.zeroCount);
    writer.signedVarint(lowest);
    writer.varint(span);
    writer.varint(width);
    const packed = denseScratch(Math.ceil((span * width) / 8));
    let pending = 0;
    let bits = 0;
    let at = 0;
    let next = 0;
    for (let i = 0; i < span; i++) {
      const bin = this.bins[next];
      const count = bin !== undefined && binIndex(bin) === lowest + i ? binCount(this.bins[next++]!) : 0;
      pending |= count << bits;
      bits += width;
      while (bits >= 8) {
        packed[at++] = pending & 0xff;
        pending >>>= 8;
        bits -= 8;
      }
    }
    if (bits > 0) packed[at++] = pending;
    writer.raw(packed.subarray(0, at));
  }

  /** Layout 1: see toBytes. */
  private writeSparse(writer: ByteWriter): void {
    writer.varint(FORMAT_VERSION);
    writer.varint(ACCURACY_PPM);
    writer.varint(this.zeroCount);
    writer.varint(this.bins.length);
    let previous = 0;
    for (let i = 0; i < this.bins.length; i++) {
      const index = binIndex(this.bins[i]!);
      if (i === 0) writer.signedVarint(index);
      else writer.varint(index - previous - 1);
      writer.varint(binCount(this.bins[i]!));
      previous = index;
    }
  }
}
