/**
 * Reads the metadata of a dead letter back from its Kafka headers, typed by the DeadLetterMetadata
 * contract (schemas/avro/dead-letter.avsc). The header names are the ones the pipeline writes
 * (DLQ_HEADERS), imported rather than repeated so the two cannot drift apart.
 */
import { DLQ_HEADERS } from '../sinks/kafka/dead-letters.js';
import type { DeadLetterMetadata } from './types.generated.js';

/** Kafka record headers as KafkaJS delivers them (its IHeaders): a header repeated on one record arrives as an array. */
export type KafkaHeaders = Readonly<Record<string, Buffer | string | ReadonlyArray<Buffer | string> | undefined>>;

export type DeadLetterMetadataResult = { ok: true; value: DeadLetterMetadata } | { ok: false; error: string };

/** Thrown inside this module only; the exported function turns it into a result value. */
class DeadLetterHeaderError extends Error {}

const NOT_COSTLINE =
  'Records on the dead-letter topic carry the costline.dlq.* and costline.source.* headers the pipeline sets; ' +
  'this one was written by another producer, or something on the way (a mirror, a connector) dropped or rewrote its headers.';

function headerText(headers: KafkaHeaders | undefined, name: string): string {
  const raw = headers?.[name];
  // A record dead-lettered twice (re-driven from the dead-letter topic, refused again) has the header twice: the newest wins.
  const value = Array.isArray(raw) ? raw[raw.length - 1] : (raw as Buffer | string | undefined);
  if (value === undefined) {
    const present = Object.keys(headers ?? {}).sort();
    throw new DeadLetterHeaderError(`dead letter has no header ${name} (headers present: ${present.length > 0 ? present.join(', ') : 'none'}). ${NOT_COSTLINE}`);
  }
  return Buffer.isBuffer(value) ? value.toString('utf8') : value;
}

/** A decimal integer (as KafkaJS gives offsets and timestamps) no smaller than min. */
function parseInteger(text: string, what: string, min: number, why: string): number {
  const value = Number(text);
  if (!/^-?\d+$/.test(text) || !Number.isSafeInteger(value) || value < min) {
    throw new DeadLetterHeaderError(`${what} is ${JSON.stringify(text.slice(0, 80))}, expected a whole number >= ${min}. ${why}`);
  }
  return value;
}

function integerHeader(headers: KafkaHeaders | undefined, name: string, min: number): number {
  return parseInteger(headerText(headers, name), `dead-letter header ${name}`, min, NOT_COSTLINE);
}

/**
 * The metadata of one record on the dead-letter topic, from its headers and its own timestamp
 * (KafkaJS's message.timestamp: when the pipeline dead-lettered it). A missing or malformed header
 * is an error value naming the header, what was found and why it can happen.
 */
export function deadLetterMetadataFromHeaders(headers: KafkaHeaders | undefined, deadLetteredAt: string | number): DeadLetterMetadataResult {
  try {
    const reason = headerText(headers, DLQ_HEADERS.reason);
    if (reason.trim() === '') throw new DeadLetterHeaderError(`dead-letter header ${DLQ_HEADERS.reason} is empty. ${NOT_COSTLINE}`);
    const sourceTimestamp = integerHeader(headers, DLQ_HEADERS.timestamp, -1);
    return {
      ok: true,
      value: {
        reason,
        detail: headerText(headers, DLQ_HEADERS.detail),
        source_topic: headerText(headers, DLQ_HEADERS.topic),
        source_partition: integerHeader(headers, DLQ_HEADERS.partition, 0),
        source_offset: integerHeader(headers, DLQ_HEADERS.offset, 0),
        // Kafka's "no timestamp" is -1; the contract says null.
        source_timestamp: sourceTimestamp === -1 ? null : sourceTimestamp,
        event_time: parseInteger(String(deadLetteredAt), 'the dead-letter record\'s timestamp', 0, 'Pass the timestamp of the record read from the dead-letter topic (KafkaJS message.timestamp, ms since the epoch).'),
      },
    };
  } catch (error) {
    if (error instanceof DeadLetterHeaderError) return { ok: false, error: error.message };
    throw error;
  }
}
