import { describe, expect, it } from 'vitest';
import avro from 'avsc';
import { contracts, encodeWithId, WireCodec, type Contract } from '../../schemas/index.js';
import { inferenceGpuSample, queueSample, rollbackAction, trainingGpuSample } from '../support/contract-samples.js';
import { SchemasInMemory } from '../support/schemas-in-memory.js';


type Field = { name: string; type: unknown; aliases?: string[] };
const fieldsOf = (schema: Record<string, unknown>) => schema.fields as Field[];

/** Encodes value with a writer schema that differs from the contract, and decodes it with the contract as reader. */
async function readWithContract<T>(contract: Contract<T>, writerSchema: Record<string, unknown>, value: unknown) {
  const schemas = new SchemasInMemory();
  const writerId = await schemas.register('writer', writerSchema);
  const bytes = encodeWithId(writerId, avro.Type.forSchema(writerSchema as avro.Schema), value);
  return new WireCodec<T>(schemas, contract, 'reader').decode(bytes);
}

/** The contract's schema with one more symbol in one of its enums, as a later version would have it. */
function withEnumSymbol(schema: Record<string, unknown>, enumName: string, symbol: string): Record<string, unknown> {
  const copy = structuredClone(schema);
  const field = fieldsOf(copy).find((f) => (f.type as { name?: string }).name === enumName);
  if (!field) throw new Error(`no enum ${enumName} in ${String(schema.name)}`);
  (field.type as { symbols: string[] }).symbols.push(symbol);
  return copy;
}

const topicContracts = [
  ['GpuSample (an inference GPU)', contracts.gpuSample, inferenceGpuSample],
  ['GpuSample (a training GPU, no model version)', contracts.gpuSample, trainingGpuSample],
  ['QueueSample', contracts.queueSample, queueSample],
  ['PlaybookAction', contracts.action, rollbackAction],
] as const;

describe('telemetry and action contracts', () => {
  it.each(topicContracts)('%s: a realistic value is valid for its schema and round-trips through the wire format', async (_name, contract, value) => {
    expect(avro.Type.forSchema(contract.schema as avro.Schema).isValid(value)).toBe(true);
    const codec = new WireCodec<typeof value>(new SchemasInMemory(), contract as Contract<typeof value>, 'telemetry-value');
    expect(await codec.decode(await codec.encode(value))).toEqual({ ok: true, value, schemaId: 1 });
  });

  it.each([contracts.gpuSample, contracts.queueSample, contracts.deadLetterMetadata])('$name carries its event time as event_time, timestamp-millis', (contract) => {
    expect(fieldsOf(contract.schema).find((f) => f.name === 'event_time')?.type).toEqual({ type: 'long', logicalType: 'timestamp-millis' });
  });

  it.each([contracts.gpuSample, contracts.action])('$name gives every enum a default, so a symbol added later never breaks an older reader', (contract) => {
    const enums = fieldsOf(contract.schema)
      .map((f) => f.type as { type?: string; name?: string; default?: string })
      .filter((t) => t.type === 'enum');
    expect(enums.length).toBeGreaterThan(0);
    for (const e of enums) expect(e.default, e.name).toBeDefined();
  });

  it('reads a GPU workload kind added later as other, never as unassigned (which would count it as waste)', async () => {
    const writer = withEnumSymbol(contracts.gpuSample.schema, 'GpuWorkload', 'batch_inference');
    const decoded = await readWithContract(contracts.gpuSample, writer, { ...inferenceGpuSample, workload: 'batch_inference' });
    expect(decoded).toMatchObject({ ok: true, value: { ...inferenceGpuSample, workload: 'other' } });
  });

  it('reads an action added later as unknown, which automation must not carry out', async () => {
    const writer = withEnumSymbol(contracts.action.schema, 'ActionType', 'drain_node');
    const decoded = await readWithContract(contracts.action, writer, { ...rollbackAction, action: 'drain_node' });
    expect(decoded).toMatchObject({ ok: true, value: { ...rollbackAction, action: 'unknown' } });
  });

  it('reads an action status added later as unknown, never as proposed', async () => {
    const writer = withEnumSymbol(contracts.action.schema, 'ActionStatus', 'superseded');
    const decoded = await readWithContract(contracts.action, writer, { ...rollbackAction, status: 'superseded' });
    expect(decoded).toMatchObject({ ok: true, value: { ...rollbackAction, status: 'unknown' } });
  });

  it("reads a queue sample written with vLLM's former name gpu_cache_usage_perc into kv_cache_usage_perc", async () => {
    const writer = structuredClone(contracts.queueSample.schema);
    for (const field of fieldsOf(writer)) {
      if (field.name !== 'kv_cache_usage_perc') continue;
      field.name = 'gpu_cache_usage_perc';
      delete field.aliases;
    }
    const { kv_cache_usage_perc, ...rest } = queueSample;
    const decoded = await readWithContract(contracts.queueSample, writer, { ...rest, gpu_cache_usage_perc: kv_cache_usage_perc });
    expect(decoded).toEqual({ ok: true, value: queueSample, schemaId: 1 });
  });
});
