import { describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { SchemaRegistry, SchemaType } from '@kafkajs/confluent-schema-registry';
import { inject } from 'vitest';
import { contracts, SchemaRegistryClient, SchemaRegistryError, WireCodec, type TokenUsage } from '../../schemas/index.js';
import { sampleTokenUsage } from '../support/contract-samples.js';

const url = () => inject('endpoints').schemaRegistryUrl;
const subject = () => `costline-test-${randomBytes(4).toString('hex')}-value`;
const tokenSchema = contracts.tokenUsage.schema;

describe('the real Schema Registry (Confluent REST API)', () => {
  it('registers the token-usage schema and serves it back by id', async () => {
    const client = new SchemaRegistryClient({ url: url() });
    const name = subject();
    const id = await client.registerWithCompatibility(name, tokenSchema, 'BACKWARD');
    expect(id).toBeGreaterThan(0);
    const fresh = new SchemaRegistryClient({ url: url() });
    expect(await fresh.schemaById(id)).toMatchObject({ name: 'TokenUsage' });
  });

  it('accepts a backward-compatible v2 (an added optional field) and refuses an incompatible one in plain words', async () => {
    const client = new SchemaRegistryClient({ url: url() });
    const name = subject();
    await client.registerWithCompatibility(name, tokenSchema, 'BACKWARD');
    const fields = tokenSchema.fields as object[];
    const v2 = { ...tokenSchema, fields: [...fields, { name: 'gpu_type', type: ['null', 'string'], default: null }] };
    await expect(client.register(name, v2)).resolves.toBeGreaterThan(0);
    const incompatible = { ...tokenSchema, fields: [...fields, { name: 'tenant_tier', type: 'string' }] };
    expect(await client.isCompatible(name, incompatible)).toBe(false);
    const error = await client.register(name, incompatible).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SchemaRegistryError);
    expect((error as SchemaRegistryError).status).toBe(409);
    expect((error as Error).message).toMatch(/not compatible.*Fix: make the change backward compatible/s);
  });

  it('speaks the same wire format as @kafkajs/confluent-schema-registry, both ways', async () => {
    const name = subject();
    const theirs = new SchemaRegistry({ host: url() });
    const { id } = await theirs.register({ type: SchemaType.AVRO, schema: JSON.stringify(tokenSchema) }, { subject: name });
    const ours = new WireCodec<TokenUsage>(new SchemaRegistryClient({ url: url() }), contracts.tokenUsage, name);

    const encodedByThem = await theirs.encode(id, sampleTokenUsage);
    expect(await ours.decode(encodedByThem)).toEqual({ ok: true, value: sampleTokenUsage, schemaId: id });

    const encodedByUs = await ours.encode(sampleTokenUsage);
    expect(encodedByUs.readUInt32BE(1)).toBe(id);
    expect(await theirs.decode(encodedByUs)).toEqual(sampleTokenUsage);
  });
});
