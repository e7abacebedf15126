import { Partitioners, type Kafka, type Message, type Producer } from 'kafkajs';

/** Below the broker's default message.max.bytes (1 MiB): one send becomes one record batch per partition. */
const MAX_CHUNK_BYTES = 512 * 1024;

/**
 * Sends many messages as several requests, each under the broker's batch size limit, in order:
 * a flush of thousands of records must not fail as one oversized batch forever.
 */
export async function sendInChunks(producer: Pick<Producer, 'send'>, topic: string, messages: Message[]): Promise<void> {
  let chunk: Message[] = [];
  let bytes = 0;
  for (const message of messages) {
    const size = (message.value?.length ?? 0) + (typeof message.key === 'string' ? message.key.length : (message.key?.length ?? 0)) + 64;
    if (chunk.length > 0 && bytes + size > MAX_CHUNK_BYTES) {
      await producer.send({ topic, acks: -1, messages: chunk });
      chunk = [];
      bytes = 0;
    }
    chunk.push(message);
    bytes += size;
  }
  if (chunk.length > 0) await producer.send({ topic, acks: -1, messages: chunk });
}

/**
 * The producer every costline writer uses: idempotent, one request in flight (so a retry cannot
 * reorder a partition), and KafkaJS's default (Java-compatible murmur2) partitioner chosen
 * explicitly, which also keeps KafkaJS from warning about its v2 partitioner change at start.
 */
export function idempotentProducer(kafka: Kafka): Producer {
  return kafka.producer({ idempotent: true, maxInFlightRequests: 1, createPartitioner: Partitioners.DefaultPartitioner });
}
