/**
 * The byte layout of state kept compact in memory (sketches, stage-2 partials and hours):
 * unsigned varints (7 bits a byte, low group first, as protobuf and Avro write them, here up to
 * 2^53), tagged numbers, and length-prefixed byte runs and strings. Only costline reads these
 * bytes back (the internal topic carries sketches in them); the Avro contracts stay the wire format.
 */

const TWO_POW_7 = 128;
const UTF8 = new TextEncoder();
const FROM_UTF8 = new TextDecoder('utf-8', { fatal: true });
/** For the 8 bytes of a float64; one for all readers and writers: they never interleave within a number. */
const FLOAT64 = new DataView(new ArrayBuffer(8));
/** A writer's buffer, reused by the next writer once one finishes (most layouts are a few hundred bytes). */
let spareBuffer: Uint8Array | undefined = new Uint8Array(1024);
const NO_BUFFER = new Uint8Array(0);

/**
 * Bytes held in memory for a long time (a closed window waiting out its lateness, stage 2's
 * partials and hours), as a one-byte string, one character a byte: V8 stores such a string in
 * 16 bytes plus its length, where a Buffer costs about 100 plus its share of a pooled 8 KiB slab
 * (which one surviving slice keeps whole). latin1 maps bytes 0-255 to characters 0-255 exactly.
 */
export type HeldBytes = string;

const holdBytes = (bytes: Uint8Array): HeldBytes => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('latin1');
const heldBytes = (held: HeldBytes): Buffer => Buffer.from(held, 'latin1');

export class ByteWriter {
  private buffer: Uint8Array;
  private length = 0;

  constructor(initialCapacity = 64) {
    const spare = spareBuffer;
    if (spare !== undefined && spare.length >= initialCapacity) {
      spareBuffer = undefined;
      this.buffer = spare;
    } else this.buffer = new Uint8Array(initialCapacity);
  }

  private reserve(bytes: number): void {
    if (this.length + bytes <= this.buffer.length) return;
    const grown = new Uint8Array(Math.max(this.buffer.length * 2, this.length + bytes));
    grown.set(this.buffer.subarray(0, this.length));
    this.buffer = grown;
  }

  /** A non-negative safe integer. Arithmetic, not bitwise: bitwise operators stop at 32 bits. */
  varint(value: number): void {
    this.reserve(8);
    // Most varints are one byte (bin gaps and counts, flags): integers 0-127 equal their low 7 bits.
    if ((value & 0x7f) === value) {
      this.buffer[this.length++] = value;
      return;
    }
    if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`varint ${value} is not a non-negative safe integer; only counts, lengths and offsets are written as varints`);
    let rest = value;
    while (rest >= TWO_POW_7) {
      this.buffer[this.length++] = (rest % TWO_POW_7) | TWO_POW_7;
      rest = Math.floor(rest / TWO_POW_7);
    }
    this.buffer[this.length++] = rest;
  }

  /** Bytes as they are, without a length (the reader knows it from what precedes them). */
  raw(value: Uint8Array): void {
    this.reserve(value.length);
    this.buffer.set(value, this.length);
    this.length += value.length;
  }

  /** Any safe integer: zigzag (0, -1, 1, -2, ... as 0, 1, 2, 3, ...), so small negatives stay short. */
  signedVarint(value: number): void {
    this.varint(value < 0 ? -2 * value - 1 : 2 * value);
  }

  /**
   * Any number, exactly: a whole non-negative one (counts, tokens, nano-units) as a varint of
   * twice its value, anything else (fractions, negatives, -0) as a 1 and its 8 IEEE-754 bytes.
   */
  number(value: number): void {
    if (Number.isSafeInteger(value) && value >= 0 && value < 2 ** 52 && !Object.is(value, -0)) {
      this.varint(value * 2);
      return;
    }
    this.varint(1);
    this.reserve(8);
    FLOAT64.setFloat64(0, value, true);
    for (let i = 0; i < 8; i++) this.buffer[this.length++] = FLOAT64.getUint8(i);
  }

  bytes(value: Uint8Array): void {
    this.varint(value.length);
    this.raw(value);
  }

  string(value: string): void {
    this.bytes(UTF8.encode(value));
  }

  /**
   * The bytes written, in a Buffer of exactly their length: small Buffers share Node's 8 KiB
   * slabs, so a held one costs about 100 bytes of heap less than a Uint8Array of its own.
   */
  finish(): Buffer {
    const bytes = Buffer.from(this.buffer.subarray(0, this.length));
    this.release();
    return bytes;
  }

  /** The bytes written, to be held (see HeldBytes). */
  finishHeld(): HeldBytes {
    const held = holdBytes(this.buffer.subarray(0, this.length));
    this.release();
    return held;
  }

  /** Hands the buffer to the next writer; this one must not write again. */
  private release(): void {
    if (spareBuffer === undefined || spareBuffer.length < this.buffer.length) spareBuffer = this.buffer;
    this.buffer = NO_BUFFER;
    this.length = 0;
  }
}

export class ByteReader {
  private offset = 0;

  private readonly buffer: Uint8Array;

  constructor(
    bytes: Uint8Array | HeldBytes,
    /** What is being read, for error messages ("quantile sketch", "stage-2 window parts"). */
    private readonly what: string,
  ) {
    this.buffer = typeof bytes === 'string' ? heldBytes(bytes) : bytes;
  }

  get done(): boolean {
    return this.offset >= this.buffer.length;
  }

  /** Bytes not read yet. */
  get remaining(): number {
    return this.buffer.length - this.offset;
  }

  private fail(problem: string): never {
    throw new Error(`${this.what} bytes are malformed: ${problem} at byte ${this.offset} of ${this.buffer.length}; they were not written by this costline (or were cut short)`);
  }

  varint(): number {
    const first = this.buffer[this.offset];
    if (first !== undefined && first < TWO_POW_7) {
      this.offset += 1;
      return first;
    }
    let value = 0;
    let scale = 1;
    for (;;) {
      if (this.offset >= this.buffer.length) this.fail('a varint runs past the end');
      const byte = this.buffer[this.offset++]!;
      value += (byte & 0x7f) * scale;
      if (byte < TWO_POW_7) break;
      scale *= TWO_POW_7;
      if (scale > 2 ** 56) this.fail('a varint is longer than 8 bytes');
    }
    if (!Number.isSafeInteger(value)) this.fail(`varint ${value} exceeds 2^53`);
    return value;
  }

  /** The next `length` bytes, as ByteWriter.raw wrote them. */
  raw(length: number): Uint8Array {
    if (this.offset + length > this.buffer.length) this.fail(`a run of ${length} bytes runs past the end`);
    const run = this.buffer.subarray(this.offset, this.offset + length);
    this.offset += length;
    return run;
  }

  signedVarint(): number {
    const zigzag = this.varint();
    return zigzag % 2 === 0 ? zigzag / 2 : -(zigzag + 1) / 2;
  }

  number(): number {
    const tag = this.varint();
    if (tag % 2 === 0) return tag / 2;
    if (tag !== 1) this.fail(`number tag ${tag} is neither even nor 1`);
    if (this.offset + 8 > this.buffer.length) this.fail('a float64 runs past the end');
    for (let i = 0; i < 8; i++) FLOAT64.setUint8(i, this.buffer[this.offset++]!);
    return FLOAT64.getFloat64(0, true);
  }

  bytes(): Uint8Array {
    return this.raw(this.varint());
  }

  string(): string {
    return FROM_UTF8.decode(this.bytes());
  }

  /** Throws unless every byte was read: trailing bytes mean the layout was misread. */
  end(): void {
    if (!this.done) this.fail(`${this.buffer.length - this.offset} bytes follow the end`);
  }
}
