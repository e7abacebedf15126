import type { Producer } from 'kafkajs';
import type { Alert, WireCodec } from '../../schemas/index.js';
import { sendInChunks } from './send.js';

/**
 * Publishes alerts as Avro (Confluent wire format) keyed by the alert key, so one key's episode
 * stays in order on one partition. The producer is idempotent and alert ids are deterministic,
 * so a retry or a replay never yields a message consumers cannot recognise as a duplicate.
 */
export class AlertPublisher {
  constructor(
    private readonly producer: Producer,
    private readonly topic: string,
    private readonly codec: WireCodec<Alert>,
  ) {}

  async publish(alerts: Alert[]): Promise<void> {
    if (alerts.length === 0) return;
    const messages = await Promise.all(
      alerts.map(async (alert) => ({
        key: alert.key,
        value: await this.codec.encode(alert),
        headers: { 'costline.alert_id': alert.alert_id, 'costline.sequence': String(alert.sequence) },
      })),
    );
    await sendInChunks(this.producer, this.topic, messages);
  }
}
