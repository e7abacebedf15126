import { afterAll, describe, expect, it } from 'vitest';
import avro from 'avsc';
import { Kafka } from 'kafkajs';
import { contracts, SchemaRegistryClient, SchemaRegistryError, valueSubject, WireCodec, type Contract, type GpuSample } from '../../schemas/index.js';
import { kafkaOptions } from '../../pipeline/config/kafka-options.js';
import { ensureTopics } from '../../sinks/kafka/index.js';
import { inferenceGpuSample, queueSample, rollbackAction, trainingGpuSample } from '../support/contract-samples.js';
import { eventually, isolatedConfig } from '../support/services.js';

const config = isolatedConfig('evolution');
const registry = new SchemaRegistryClient(config.schemaRegistry);
const kafka = new Kafka(kafkaOptions(config.kafka, '-evolution-test'));

interface AvroField {
  name: string;
  type: unknown;
  default?: unknown;
  doc?: string;
}

/** The next version of a contract: its schema with fields changed by edit, same record name, as a producer team would ship it. */
function nextVersion<T>(contract: Contract<T>, edit: (fields: AvroField[]) => AvroField[]): Contract<T & Record<string, unknown>> {
  const schema = { ...contract.schema, fields: edit(structuredClone(contract.schema.fields as AvroField[])) };
  return { name: contract.name, schema, type: avro.Type.forSchema(schema as avro.Schema) };
}

/**
 * For each contract: v2 adds one optional field with a default (a compatible change), and two
 * changes the registry must refuse: a required field without a default, and a retyped field.
 */
interface EvolutionCase {
  name: string;
  topic: string;
  v1: Contract<unknown>;
  value: object;
  added: AvroField;
  addedValue: unknown;
  required: AvroField;
  retyped: string;
}

const cases: EvolutionCase[] = [
  {
    name: 'GpuSample',
    topic: config.topics.gpu,
    v1: contracts.gpuSample,
    value: inferenceGpuSample,
    added: { name: 'mig_profile', type: 'string', default: 'full', doc: 'MIG slice the sample covers, or full for the whole GPU.' },
    addedValue: '1g.10gb',
    required: { name: 'rack', type: 'string', doc: 'Rack of the node.' },
    retyped: 'gpu_id',
  },
  {
    name: 'QueueSample',
    topic: config.topics.queue,
    v1: contracts.queueSample,
    value: queueSample,
    added: { name: 'prefix_cache_hit_rate', type: ['null', 'double'], default: null, doc: 'Prefix-cache hit rate over the interval.' },
    addedValue: 0.41,
    required: { name: 'max_num_seqs', type: 'int', doc: 'Batch size limit of the replica.' },
    retyped: 'num_requests_waiting',
  },
  {
    name: 'PlaybookAction',
    topic: config.topics.actions,
    v1: contracts.action,
    value: rollbackAction,
    added: { name: 'priority', type: 'int', default: 3, doc: 'Order in which automation should carry out concurrent actions.' },
    addedValue: 1,
    required: { name: 'approver', type: 'string', doc: 'Who approved.' },
    retyped: 'dry_run',
  },
];

let subjects = 0;
/** A subject of its own per test, at BACKWARD compatibility, with v1 registered: the state every producer upgrade starts from. */
async function subjectWithV1(topic: string, v1: Contract<unknown>): Promise<string> {
  const subject = valueSubject(`${topic}.${++subjects}`);
  await registry.registerWithCompatibility(subject, v1.schema, 'BACKWARD');
  return subject;
}

async function refusal(subject: string, schema: Record<string, unknown>): Promise<SchemaRegistryError> {
  const error = await registry.register(subject, schema).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(SchemaRegistryError);
  return error as SchemaRegistryError;
}

describe.each(cases)('evolution of $name under BACKWARD compatibility (the real registry)', ({ topic, v1, value, added, addedValue, required, retyped }) => {
  const v2 = nextVersion(v1, (fields) => [...fields, added]);

  it('a consumer still on v1 reads what a producer on v2 writes, in the v1 shape', async () => {
    const subject = await subjectWithV1(topic, v1);
    const producerV2 = new WireCodec(registry, v2, subject);
    const consumerV1 = new WireCodec(new SchemaRegistryClient(config.schemaRegistry), v1, subject);
    const bytes = await producerV2.encode({ ...value, [added.name]: addedValue });
    expect(await consumerV1.decode(bytes)).toEqual({ ok: true, value, schemaId: await producerV2.schemaId() });
  });

  it('a consumer on v2 reads what a producer still on v1 writes, with the added field at its default', async () => {
    const subject = await subjectWithV1(topic, v1);
    const producerV1 = new WireCodec(registry, v1, subject);
    const consumerV2 = new WireCodec(new SchemaRegistryClient(config.schemaRegistry), v2, subject);
    await consumerV2.schemaId(); // v2 is registered first, as when consumers upgrade before producers
    const bytes = await producerV1.encode(value);
    expect(await consumerV2.decode(bytes)).toEqual({ ok: true, value: { ...value, [added.name]: added.default }, schemaId: await producerV1.schemaId() });
  });

  it('refuses a new field without a default, naming the field and saying how to fix it', async () => {
    const subject = await subjectWithV1(topic, v1);
    const error = await refusal(subject, nextVersion(v1, (fields) => [...fields, required]).schema);
    expect(error.status).toBe(409);
    expect(error.message).toContain(`the registry refused this version of ${subject}: it is not compatible with the version already registered`);
    expect(error.message).toContain(required.name);
    expect(error.message).toContain('Fix: make the change backward compatible: add a field only with a default');
    expect(error.message).not.toMatch(/Exception:/);
  });

  it('refuses a retyped field, naming the field and saying how to fix it', async () => {
    const subject = await subjectWithV1(topic, v1);
    const error = await refusal(subject, nextVersion(v1, (fields) => fields.map((f) => (f.name === retyped ? { ...f, type: 'bytes' } : f))).schema);
    expect(error.status).toBe(409);
    expect(error.message).toContain(`(field ${retyped})`);
    expect(error.message).toContain('do not retype a field');
  });
});

describe('GpuSample through Kafka while producers upgrade', () => {
  const consumer = kafka.consumer({ groupId: config.kafka.groupId });
  afterAll(async () => {
    await consumer.disconnect();
  });

  it('a v1 consumer decodes a topic where v1 and v2 producers interleave, every record in the v1 shape', async () => {
    const topic = config.topics.gpu;
    const subject = valueSubject(topic);
    await registry.setCompatibility(subject, 'BACKWARD');
    const gpu = cases[0]!;
    const v2 = nextVersion(contracts.gpuSample, (fields) => [...fields, gpu.added]);
    const producerV1 = new WireCodec<GpuSample>(registry, contracts.gpuSample, subject);
    const producerV2 = new WireCodec(registry, v2, subject);
    await producerV1.schemaId(); // v1 was there first; v2 arrives with the rolling upgrade

    const samples = Array.from({ length: 16 }, (_, i) => ({ ...(i % 2 === 0 ? inferenceGpuSample : trainingGpuSample), gpu_id: i % 8, event_time: inferenceGpuSample.event_time + i * 15_000 }));
    const messages = await Promise.all(
      samples.map(async (sample, i) => ({ key: sample.resource_id, value: i % 3 === 0 ? await producerV1.encode(sample) : await producerV2.encode({ ...sample, mig_profile: '3g.40gb' }) })),
    );
    const admin = kafka.admin();
    await admin.connect();
    await ensureTopics(admin, [topic], config.kafka.partitions);
    await admin.disconnect();
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    await producer.send({ topic, acks: -1, messages });
    await producer.disconnect();

    const received: { key: string; value: Buffer | null }[] = [];
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({ eachMessage: async ({ message }) => void received.push({ key: String(message.key), value: message.value }) });
    await eventually(async () => received.length, (n) => n >= samples.length, 60_000, `${samples.length} GPU samples on ${topic}`);

    const consumerV1 = new WireCodec<GpuSample>(new SchemaRegistryClient(config.schemaRegistry), contracts.gpuSample, subject);
    const decoded = await Promise.all(received.map(async ({ key, value }) => ({ key, result: await consumerV1.decode(value) })));
    const schemaIds = new Set(decoded.map(({ result }) => (result.ok ? result.schemaId : -1)));
    expect(schemaIds).toEqual(new Set([await producerV1.schemaId(), await producerV2.schemaId()]));
    const values = decoded.map(({ key, result }) => {
      if (!result.ok) throw new Error(`record keyed ${key} did not decode: ${result.reason}: ${result.detail}`);
      expect(key).toBe(result.value.resource_id);
      return result.value;
    });
    const byTime = (a: GpuSample, b: GpuSample) => a.event_time - b.event_time;
    expect(values.sort(byTime)).toEqual(samples.sort(byTime));
  });
});
