import type { Kafka, Producer } from 'kafkajs';
import { contracts, valueSubject, WireCodec, type BillingCost, type SchemaRegistryClient } from '../../../schemas/index.js';
import { ensureTopics } from '../../../sinks/kafka/index.js';
import { billingRecordKey } from './row.js';
import { idempotentProducer } from '../../../sinks/kafka/index.js';

export interface BillingPublisherSettings {
  kafka: Kafka;
  registry: SchemaRegistryClient;
  topic: string;
  /** Partitions when the topic has to be created; keep it equal to telemetry.gpu's so billing and GPU samples are co-partitioned. */
  partitions: number;
}

/**
 * Produces billing lines to the billing topic: Avro in the Confluent wire format, subject
 * `<topic>-value` registered with BACKWARD compatibility, keyed by resource (billingRecordKey),
 * through an idempotent producer so a retried batch is not written twice.
 */
export class BillingPublisher {
  private constructor(
    private readonly producer: Producer,
    private readonly codec: WireCodec<BillingCost>,
    readonly topic: string,
    readonly schemaId: number,
  ) {}

  static async connect(settings: BillingPublisherSettings): Promise<BillingPublisher> {
    const admin = settings.kafka.admin();
    try {
      await admin.connect().catch((error: Error) => {
        throw new Error(`Kafka did not answer: ${error.message}. Check KAFKA_BROKERS and that the broker runs (costline stack status)`);
      });
      await ensureTopics(admin, [settings.topic], settings.partitions);
    } finally {
      await admin.disconnect();
    }
    const subject = valueSubject(settings.topic);
    const schemaId = await settings.registry.registerWithCompatibility(subject, contracts.billingCost.schema, 'BACKWARD');
    const codec = new WireCodec<BillingCost>(settings.registry, contracts.billingCost, subject);
    const producer = idempotentProducer(settings.kafka);
    await producer.connect();
    return new BillingPublisher(producer, codec, settings.topic, schemaId);
  }

  /** Sends one batch and returns when every record of it is acknowledged by all in-sync replicas. */
  async publish(batch: readonly BillingCost[]): Promise<void> {
    const messages = await Promise.all(batch.map(async (cost) => ({ key: billingRecordKey(cost), value: await this.codec.encode(cost) })));
    await this.producer.send({ topic: this.topic, acks: -1, messages });
  }

  async close(): Promise<void> {
    await this.producer.disconnect();
  }
}
