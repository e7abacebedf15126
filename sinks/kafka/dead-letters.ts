import type { Producer, IHeaders } from 'kafkajs';
import { sendInChunks } from './send.js';

/** Header names on every dead letter; the value and key are the original bytes, untouched. */
export const DLQ_HEADERS = {
  reason: 'costline.dlq.reason',
  detail: 'costline.dlq.detail',
  topic: 'costline.source.topic',
  partition: 'costline.source.partition',
  offset: 'costline.source.offset',
  timestamp: 'costline.source.timestamp',
} as const;

export interface DeadLetter {
  reason: string;
  detail: string;
  topic: string;
  partition: number;
  offset: string;
  timestamp: string;
  key: Buffer | null;
  value: Buffer | null;
  headers?: IHeaders;
}

/** Sends refused records to the dead-letter topic; a batch is acknowledged before its offsets commit. */
export class DeadLetterPublisher {
  constructor(
    /** A producer, or a transaction of one. */
    private readonly producer: Pick<Producer, 'send'>,
    private readonly topic: string,
  ) {}

  async publish(letters: DeadLetter[]): Promise<void> {
    if (letters.length === 0) return;
    await sendInChunks(
      this.producer,
      this.topic,
      letters.map((l) => ({
        key: l.key,
        value: l.value,
        headers: {
          ...l.headers,
          [DLQ_HEADERS.reason]: l.reason,
          [DLQ_HEADERS.detail]: l.detail.slice(0, 1000),
          [DLQ_HEADERS.topic]: l.topic,
          [DLQ_HEADERS.partition]: String(l.partition),
          [DLQ_HEADERS.offset]: l.offset,
          [DLQ_HEADERS.timestamp]: l.timestamp,
        },
      })),
    );
  }
}
