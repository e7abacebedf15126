import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { IHeaders, Message, Producer, ProducerRecord } from 'kafkajs';
import { deadLetterMetadataFromHeaders, type KafkaHeaders } from '../../schemas/index.js';
import { DeadLetterPublisher, DLQ_HEADERS, type DeadLetter } from '../../sinks/kafka/index.js';

/** The headers DeadLetterPublisher writes for one letter, as a consumer of the dead-letter topic receives them (values as Buffers). */
async function headersAsPublished(letter: DeadLetter): Promise<IHeaders> {
  const sent: Message[] = [];
  const producer = { send: async (record: ProducerRecord) => void sent.push(...record.messages) } as unknown as Producer;
  await new DeadLetterPublisher(producer, 'costline.dlq').publish([letter]);
  const asReceived: IHeaders = {};
  for (const [name, value] of Object.entries(sent[0]!.headers ?? {})) asReceived[name] = Buffer.from(String(value));
  return asReceived;
}

const letter: DeadLetter = {
  reason: 'out-of-bounds',
  detail: 'output_tokens=-5 is outside [0, 1000000]',
  topic: 'telemetry.tokens',
  partition: 2,
  offset: '48213',
  timestamp: '1795000000000',
  key: Buffer.from('chat-a'),
  value: Buffer.from([0, 0, 0, 0, 1, 2]),
  headers: { traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' },
};
const DEAD_LETTERED_AT = '1795000004321';

function withoutHeader(headers: IHeaders, name: string): KafkaHeaders {
  const { [name]: _removed, ...rest } = headers;
  return rest;
}

describe('dead-letter metadata from headers', () => {
  it('reads back what the pipeline wrote, with the dead-letter record timestamp as event_time', async () => {
    expect(deadLetterMetadataFromHeaders(await headersAsPublished(letter), DEAD_LETTERED_AT)).toEqual({
      ok: true,
      value: {
        reason: 'out-of-bounds',
        detail: 'output_tokens=-5 is outside [0, 1000000]',
        source_topic: 'telemetry.tokens',
        source_partition: 2,
        source_offset: 48213,
        source_timestamp: 1_795_000_000_000,
        event_time: 1_795_000_004_321,
      },
    });
  });

  it('reads back any letter the pipeline can write (detail cut to 1000 characters, as published)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          reason: fc.constantFrom('empty-value', 'wrong-magic-byte', 'unknown-schema-id', 'out-of-bounds', 'late'),
          detail: fc.string({ maxLength: 1500 }),
          topic: fc.string({ minLength: 1, maxLength: 249 }),
          partition: fc.nat({ max: 10_000 }),
          offset: fc.bigInt({ min: 0n, max: 2n ** 53n - 1n }),
          timestamp: fc.integer({ min: 0, max: 4_102_444_800_000 }),
        }),
        async ({ reason, detail, topic, partition, offset, timestamp }) => {
          const headers = await headersAsPublished({ ...letter, reason, detail, topic, partition, offset: String(offset), timestamp: String(timestamp) });
          const read = deadLetterMetadataFromHeaders(headers, timestamp + 5);
          expect(read).toEqual({
            ok: true,
            value: { reason, detail: detail.slice(0, 1000), source_topic: topic, source_partition: partition, source_offset: Number(offset), source_timestamp: timestamp, event_time: timestamp + 5 },
          });
        },
      ),
      { numRuns: 200 },
    );
  });

  it('reads a source record without a timestamp (-1) as a null source_timestamp', async () => {
    const read = deadLetterMetadataFromHeaders(await headersAsPublished({ ...letter, timestamp: '-1' }), DEAD_LETTERED_AT);
    expect(read).toMatchObject({ ok: true, value: { source_timestamp: null } });
  });

  it('takes the newest value of a header a record carries twice (dead-lettered again after a re-drive)', async () => {
    const headers = await headersAsPublished(letter);
    headers[DLQ_HEADERS.reason] = [Buffer.from('unknown-schema-id'), Buffer.from('late')];
    expect(deadLetterMetadataFromHeaders(headers, DEAD_LETTERED_AT)).toMatchObject({ ok: true, value: { reason: 'late' } });
  });

  it('names a missing header, the headers present and why it can happen', async () => {
    const read = deadLetterMetadataFromHeaders(withoutHeader(await headersAsPublished(letter), DLQ_HEADERS.offset), DEAD_LETTERED_AT);
    expect(read.ok).toBe(false);
    expect(!read.ok && read.error).toMatch(/^dead letter has no header costline\.source\.offset \(headers present: costline\.dlq\.detail, .*traceparent\)\..*another producer.*dropped or rewrote its headers/);
  });

  it('refuses a record with no headers at all, saying there are none', () => {
    expect(deadLetterMetadataFromHeaders(undefined, DEAD_LETTERED_AT)).toEqual({ ok: false, error: expect.stringContaining('dead letter has no header costline.dlq.reason (headers present: none)') });
  });

  it.each([
    ['a partition that is not a number', DLQ_HEADERS.partition, 'two', /header costline\.source\.partition is "two", expected a whole number >= 0/],
    ['a negative offset', DLQ_HEADERS.offset, '-3', /header costline\.source\.offset is "-3", expected a whole number >= 0/],
    ['a fractional timestamp', DLQ_HEADERS.timestamp, '1795000000000.5', /header costline\.source\.timestamp is "1795000000000\.5", expected a whole number >= -1/],
    ['an empty reason', DLQ_HEADERS.reason, ' ', /header costline\.dlq\.reason is empty/],
  ])('refuses %s, naming the header and the value', async (_name, header, value, message) => {
    const headers = await headersAsPublished(letter);
    headers[header] = Buffer.from(value);
    const read = deadLetterMetadataFromHeaders(headers, DEAD_LETTERED_AT);
    expect(read.ok).toBe(false);
    expect(!read.ok && read.error).toMatch(message);
  });

  it('refuses a dead-letter record timestamp that is not ms since the epoch, saying what to pass', async () => {
    const read = deadLetterMetadataFromHeaders(await headersAsPublished(letter), 'yesterday');
    expect(read).toEqual({ ok: false, error: expect.stringMatching(/record's timestamp is "yesterday".*KafkaJS message\.timestamp/) });
  });
});
