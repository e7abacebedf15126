import type { Kafka } from 'kafkajs';
import type { WireCodec } from '../../schemas/index.js';

/**
 * Every decodable value of a topic from its beginning, read by a new consumer group until no
 * message has come for `idleMs`: what automation subscribed to the topic would have seen.
 */
export async function readTopicUntilIdle<T>(kafka: Kafka, topic: string, codec: WireCodec<T>, group: string, idleMs = 8_000): Promise<T[]> {
  const consumer = kafka.consumer({ groupId: group });
  const values: T[] = [];
  let last = Date.now();
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message }) => {
      last = Date.now();
      const decoded = await codec.decode(message.value);
      if (decoded.ok) values.push(decoded.value);
    },
  });
  while (Date.now() - last < idleMs) await new Promise((r) => setTimeout(r, 250));
  await consumer.disconnect();
  return values;
}
