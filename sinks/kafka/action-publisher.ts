import type { Producer } from 'kafkajs';
import type { PlaybookAction, WireCodec } from '../../schemas/index.js';
import { sendInChunks } from './send.js';

/**
 * Publishes playbook decisions as Avro keyed by the target key, so one target's decisions stay in
 * order; action_id is the idempotency key automation deduplicates by (see schemas/avro/action.avsc).
 */
export class ActionPublisher {
  constructor(
    private readonly producer: Producer,
    private readonly topic: string,
    private readonly codec: WireCodec<PlaybookAction>,
  ) {}

  async publish(actions: PlaybookAction[]): Promise<void> {
    if (actions.length === 0) return;
    const messages = await Promise.all(
      actions.map(async (action) => ({
        key: action.target_key,
        value: await this.codec.encode(action),
        headers: { 'costline.action_id': action.action_id, 'costline.alert_id': action.alert_id },
      })),
    );
    await sendInChunks(this.producer, this.topic, messages);
  }
}
