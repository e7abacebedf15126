import avro from 'avsc';
import type { Contract } from './contracts.js';

/**
 * The Confluent wire format, in one place: byte 0 is the magic byte 0, bytes 1-4 the schema id
 * (big-endian), the rest the Avro binary body written with that schema.
 */
export const MAGIC_BYTE = 0;
export const HEADER_LENGTH = 5;

/** The writer wrote with exactly the reader's schema: no resolution needed. */
const SAME_SCHEMA = Symbol('same-schema');

/** Why a record could not be decoded; each reason becomes a dead-letter reason. */
export type DecodeFailureReason = 'empty-value' | 'wrong-magic-byte' | 'truncated-header' | 'unknown-schema-id' | 'incompatible-schema' | 'undecodable-avro';

export type DecodeResult<T> = { ok: true; value: T; schemaId: number } | { ok: false; reason: DecodeFailureReason; detail: string; schemaId?: number };

/** The registry calls the codec needs; implemented over the Schema Registry REST API in registry-client.ts. */
export interface SchemaSource {
  /** The writer schema registered under id, or undefined when the registry does not know the id. */
  schemaById(id: number): Promise<Record<string, unknown> | undefined>;
  /** Registers schema under subject (idempotent) and returns its id. */
  register(subject: string, schema: Record<string, unknown>): Promise<number>;
}

/** What avsc's string readers see of its Tap (avsc's types do not declare it). */
interface AvroTap {
  buf: Buffer;
  pos: number;
  readLong(): number;
}

const INTERNED_SLOTS = 4096;
const INTERNED_MAX_BYTES = 64;
const internedStrings: (string | undefined)[] = new Array<string | undefined>(INTERNED_SLOTS).fill(undefined);
const internedBytes = new Uint8Array(INTERNED_SLOTS * INTERNED_MAX_BYTES);
const internedLengths = new Int32Array(INTERNED_SLOTS);
/** 1 when a slot's string was asked for again since it came in or was last spared. */
const internedReferenced = new Uint8Array(INTERNED_SLOTS);

/**
 * Reads a string the way avsc does, but returns the string decoded last time for the same bytes.
 * Telemetry repeats a few values endlessly (model, version, region, team): decoding each anew cost
 * more than the rest of the record, and made garbage, and an interned string keeps its hash for the
 * window-key lookups that follow. A fixed table (one string per hash slot, bytes compared in full)
 * keeps memory bounded whatever the producers send.
 *
 * A value seen once must not push out one seen all the time: a slot whose string was asked for
 * again since it came in is spared once (the newcomer is decoded but not kept), so a stray unique
 * value takes over only a slot nobody used in between (the second-chance rule of CLOCK caches).
 * Without it, 1,000 endpoints among unique values lost a fifth of their slots between uses
 * (measured with the throughput bench: 17.5 instead of 14.8 µs of CPU per event).
 */
function readInternedString(tap: AvroTap): string | undefined {
  const length = tap.readLong();
  const { buf, pos } = tap;
  if (length < 0) {
    tap.pos = buf.length + 1; // avsc's invalid position: decode reports a truncated body
    return '';
  }
  tap.pos = pos + length;
  if (tap.pos > buf.length) return undefined;
  if (length > INTERNED_MAX_BYTES) return buf.toString('utf8', pos, pos + length);
  let hash = 0x811c9dc5 ^ length; // FNV-1a
  for (let i = 0; i < length; i++) hash = Math.imul(hash ^ buf[pos + i]!, 0x01000193);
  const slot = hash & (INTERNED_SLOTS - 1);
  const base = slot * INTERNED_MAX_BYTES;
  const cached = internedStrings[slot];
  if (cached !== undefined && internedLengths[slot] === length) {
    let same = 0;
    while (same < length && internedBytes[base + same] === buf[pos + same]) same += 1;
    if (same === length) {
      internedReferenced[slot] = 1;
      return cached;
    }
  }
  const value = buf.toString('utf8', pos, pos + length);
  if (internedReferenced[slot] === 1) {
    internedReferenced[slot] = 0;
    return value;
  }
  internedStrings[slot] = value;
  internedLengths[slot] = length;
  for (let i = 0; i < length; i++) internedBytes[base + i] = buf[pos + i]!;
  return value;
}

export class InterningStringType extends avro.types.StringType {
  _read(tap: AvroTap): string | undefined {
    return readInternedString(tap);
  }
}

/**
 * Fields whose every value is new (a request's id): interning them would only cost a hash and
 * evict a value that repeats. They are read as avsc reads strings.
 */
const UNIQUE_STRING_FIELDS = new Set(['request_id']);
const PLAIN_STRING = 'costline.plainString';

/** A copy of the schema with the unique fields' strings marked, for the type hook to leave alone. */
function markUniqueStrings(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(markUniqueStrings);
  if (typeof node !== 'object' || node === null) return node;
  const copy: Record<string, unknown> = { ...(node as Record<string, unknown>) };
  if (copy.type === 'record' && Array.isArray(copy.fields)) {
    copy.fields = (copy.fields as Record<string, unknown>[]).map((field) => ({
      ...field,
      type: UNIQUE_STRING_FIELDS.has(field.name as string) && field.type === 'string' ? { type: 'string', [PLAIN_STRING]: true } : markUniqueStrings(field.type),
    }));
  } else if ('items' in copy) copy.items = markUniqueStrings(copy.items);
  else if ('values' in copy) copy.values = markUniqueStrings(copy.values);
  return copy;
}

/**
 * The reader side of a contract: the same schema (the mark is an attribute, outside its canonical
 * form, so a writer with the contract's schema still needs no resolver), its plain strings read
 * through the interning table.
 */
export function readerTypeOf(schema: Record<string, unknown>): avro.Type {
  const interned = (node: unknown) => node === 'string' || (typeof node === 'object' && node !== null && !Array.isArray(node) && (node as { type?: unknown }).type === 'string' && !('logicalType' in node) && !(PLAIN_STRING in node));
  return avro.Type.forSchema(markUniqueStrings(schema) as avro.Schema, { typeHook: (node) => (interned(node) ? new InterningStringType() : undefined) });
}

export function encodeWithId(schemaId: number, type: avro.Type, value: unknown): Buffer {
  const body = type.toBuffer(value);
  const out = Buffer.allocUnsafe(HEADER_LENGTH + body.length);
  out.writeUInt8(MAGIC_BYTE, 0);
  out.writeUInt32BE(schemaId, 1);
  body.copy(out, HEADER_LENGTH);
  return out;
}

/**
 * Encodes and decodes one topic's values. Decoding resolves the writer's schema (by id, cached)
 * to this reader's schema, so producers may add optional fields without breaking this consumer.
 */
export class WireCodec<T> {
  private readonly resolvers = new Map<number, avro.Resolver | typeof SAME_SCHEMA | DecodeFailureReason>();
  private writerId: Promise<number> | undefined;
  /** Decodes (and resolves writers to) the contract's schema; encoding uses the contract's own type. */
  private readonly reader: avro.Type;

  constructor(
    private readonly source: SchemaSource,
    private readonly contract: Contract<T>,
    private readonly subject: string,
  ) {
    this.reader = readerTypeOf(contract.schema);
  }

  /** Registers the reader schema under the subject (once, however many encodes wait on it) and returns its id. */
  schemaId(): Promise<number> {
    if (!this.writerId) {
      this.writerId = this.source.register(this.subject, this.contract.schema);
      // A failed registration is not cached: the next encode tries again.
      this.writerId.catch(() => {
        this.writerId = undefined;
      });
    }
    return this.writerId;
  }

  async encode(value: T): Promise<Buffer> {
    return encodeWithId(await this.schemaId(), this.contract.type, value);
  }

  /** Registry outages throw (they are transient: the caller retries); bad bytes return a failure value. */
  async decode(bytes: Buffer | null): Promise<DecodeResult<T>> {
    const result = this.decodeKnown(bytes);
    if (result !== undefined) return result;
    await this.resolverFor(bytes!.readUInt32BE(1));
    return this.decodeKnown(bytes)!;
  }

  /**
   * The hot path: decodes without awaiting when the writer schema is already known, and returns
   * undefined only when its id has not been looked up yet (then `decode` fetches it once).
   */
  decodeKnown(bytes: Buffer | null): DecodeResult<T> | undefined {
    if (bytes === null || bytes.length === 0) return { ok: false, reason: 'empty-value', detail: 'the record has no value' };
    if (bytes[0] !== MAGIC_BYTE) return { ok: false, reason: 'wrong-magic-byte', detail: `first byte is 0x${bytes[0]!.toString(16).padStart(2, '0')}, expected 0x00 (Confluent wire format)` };
    if (bytes.length < HEADER_LENGTH) return { ok: false, reason: 'truncated-header', detail: `value is ${bytes.length} bytes, shorter than the 5-byte header` };
    const schemaId = bytes.readUInt32BE(1);
    const resolver = this.resolvers.get(schemaId);
    if (resolver === undefined) return undefined;
    if (resolver === 'unknown-schema-id') return { ok: false, reason: 'unknown-schema-id', detail: `schema id ${schemaId} is not in the registry`, schemaId };
    if (typeof resolver === 'string') {
      return { ok: false, reason: 'incompatible-schema', detail: `schema id ${schemaId} (${this.subject}) cannot be read as ${this.contract.name}`, schemaId };
    }
    // decode() at an offset reads in place (no sub-buffer per record); a writer schema equal to the
    // reader's needs no resolver. Offset -1 means the body ended early; short of the end, trailing bytes.
    let decoded: { value: unknown; offset: number };
    try {
      decoded = resolver === SAME_SCHEMA ? this.reader.decode(bytes, HEADER_LENGTH) : this.reader.decode(bytes, HEADER_LENGTH, resolver);
    } catch (error) {
      return { ok: false, reason: 'undecodable-avro', detail: `Avro body does not decode with schema id ${schemaId}: ${(error as Error).message}`, schemaId };
    }
    if (decoded.offset !== bytes.length) {
      const detail = decoded.offset < 0 ? 'the body ends before the record does (truncated)' : `${bytes.length - decoded.offset} bytes follow the record`;
      return { ok: false, reason: 'undecodable-avro', detail: `Avro body does not decode with schema id ${schemaId}: ${detail}`, schemaId };
    }
    return { ok: true, value: decoded.value as T, schemaId };
  }

  /** Resolvers by writer schema id; a failure is cached too, so a flood of bad ids costs one registry call each. */
  private async resolverFor(schemaId: number): Promise<avro.Resolver | typeof SAME_SCHEMA | DecodeFailureReason> {
    const cached = this.resolvers.get(schemaId);
    if (cached) return cached;
    const writerSchema = await this.source.schemaById(schemaId);
    let outcome: avro.Resolver | typeof SAME_SCHEMA | DecodeFailureReason;
    if (!writerSchema) outcome = 'unknown-schema-id';
    else {
      try {
        const writer = avro.Type.forSchema(writerSchema as avro.Schema);
        outcome = writer.equals(this.reader) ? SAME_SCHEMA : this.reader.createResolver(writer);
      } catch {
        outcome = 'incompatible-schema';
      }
    }
    this.resolvers.set(schemaId, outcome);
    return outcome;
  }
}
