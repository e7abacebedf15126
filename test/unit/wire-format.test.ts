import { describe, expect, it } from 'vitest';
import avro from 'avsc';
import fc from 'fast-check';
import { contracts, encodeWithId, WireCodec, type SchemaSource, type TokenUsage } from '../../schemas/index.js';
import { sampleTokenUsage } from '../support/contract-samples.js';
import { SchemasInMemory } from '../support/schemas-in-memory.js';
import { InterningStringType, readerTypeOf } from '../../schemas/wire-format.js';



const codec = (source = new SchemasInMemory()) => ({ source, codec: new WireCodec<TokenUsage>(source, contracts.tokenUsage, 'telemetry.tokens-value') });

describe('Confluent wire format', () => {
  it('round-trips a value: magic byte 0, 4-byte big-endian schema id, Avro body', async () => {
    const { codec: c } = codec();
    const bytes = await c.encode(sampleTokenUsage);
    expect(bytes[0]).toBe(0);
    expect(bytes.readUInt32BE(1)).toBe(1);
    expect(await c.decode(bytes)).toEqual({ ok: true, value: sampleTokenUsage, schemaId: 1 });
  });

  it('resolves a newer writer schema with an added optional field to this reader', async () => {
    const { source, codec: c } = codec();
    const v2 = { ...contracts.tokenUsage.schema, fields: [...(contracts.tokenUsage.schema.fields as object[]), { name: 'gpu_type', type: ['null', 'string'], default: null }] };
    source.byId.set(7, v2);
    const bytes = encodeWithId(7, avro.Type.forSchema(v2 as avro.Schema), { ...sampleTokenUsage, gpu_type: 'H100' });
    expect(await c.decode(bytes)).toEqual({ ok: true, value: sampleTokenUsage, schemaId: 7 });
  });

  it.each([
    ['an empty value', Buffer.alloc(0), 'empty-value'],
    ['JSON where Avro was expected', Buffer.from('{"model_name":"x"}'), 'wrong-magic-byte'],
    ['a header cut short', Buffer.from([0, 0, 1]), 'truncated-header'],
    ['an id the registry does not know', Buffer.from([0, 0, 0, 0, 99, 1, 2]), 'unknown-schema-id'],
  ])('refuses %s with a reason', async (_name, bytes, reason) => {
    const { codec: c } = codec();
    await c.encode(sampleTokenUsage);
    expect(await c.decode(bytes)).toMatchObject({ ok: false, reason });
  });

  it('refuses a truncated Avro body', async () => {
    const { codec: c } = codec();
    const bytes = await c.encode(sampleTokenUsage);
    expect(await c.decode(bytes.subarray(0, bytes.length - 10))).toMatchObject({ ok: false, reason: 'undecodable-avro' });
  });

  it('refuses a writer schema that cannot be read as this contract', async () => {
    const { source, codec: c } = codec();
    source.byId.set(3, { type: 'record', name: 'Other', fields: [{ name: 'x', type: 'int' }] });
    expect(await c.decode(encodeWithId(3, avro.Type.forSchema({ type: 'record', name: 'Other', fields: [{ name: 'x', type: 'int' }] }), { x: 1 }))).toMatchObject({ ok: false, reason: 'incompatible-schema' });
  });
});

describe('registering the writer schema', () => {
  it('registers once however many encodes start at the same time', async () => {
    const source = new SchemasInMemory();
    let registrations = 0;
    const counting: SchemaSource = { schemaById: (id) => source.schemaById(id), register: async (s, schema) => ((registrations += 1), source.register(s, schema)) };
    const c = new WireCodec<TokenUsage>(counting, contracts.tokenUsage, 'telemetry.tokens-value');
    await Promise.all(Array.from({ length: 100 }, () => c.encode(sampleTokenUsage)));
    expect(registrations).toBe(1);
  });
});

describe('decoding repeated strings', () => {
  // The codec hands out one string per distinct byte sequence from a bounded table (see wire-format.ts);
  // thousands of distinct values, more than the table has slots, force slots to be taken over.
  it('decodes every record exactly as avsc does, whatever strings repeat or collide', async () => {
    const { codec: c } = codec();
    const text = fc.oneof(fc.constantFrom('us-east-1', 'eu-west-1', 'llama-3.1-70b', 'v2', 'prod', ''), fc.string({ maxLength: 12 }), fc.string({ unit: 'grapheme', maxLength: 40 }), fc.string({ minLength: 60, maxLength: 90 }));
    await fc.assert(
      fc.asyncProperty(fc.array(fc.record({ model_name: text, model_version: text, region: text, team: text, request_id: text }), { minLength: 1, maxLength: 3000 }), async (variants) => {
        const encoded = await Promise.all(variants.map((v) => c.encode({ ...sampleTokenUsage, ...v })));
        for (const bytes of [...encoded, ...encoded.reverse()]) {
          const decoded = await c.decode(bytes);
          expect(decoded).toEqual({ ok: true, value: contracts.tokenUsage.type.decode(bytes, 5).value, schemaId: 1 });
        }
      }),
      { numRuns: 25 },
    );
  });
});

describe('the reader type of a contract', () => {
  const fieldType = (type: avro.Type, name: string) => (type as avro.types.RecordType).fields.find((f) => f.name === name)!.type;

  it('reads a request id with avsc\'s own string reader and the repeating strings through the interning table', () => {
    const reader = readerTypeOf(contracts.tokenUsage.schema);
    expect(fieldType(reader, 'request_id')).not.toBeInstanceOf(InterningStringType);
    expect(fieldType(reader, 'request_id')).toBeInstanceOf(avro.types.StringType);
    for (const name of ['model_name', 'model_version', 'region', 'endpoint', 'team']) expect(fieldType(reader, name)).toBeInstanceOf(InterningStringType);
  });

  it('has the contract\'s canonical schema, so a writer with the contract\'s schema needs no resolver', () => {
    expect(readerTypeOf(contracts.tokenUsage.schema).fingerprint().toString('hex')).toBe(contracts.tokenUsage.type.fingerprint().toString('hex'));
  });
});
