/**
 * One of a stage's outputs: what it holds until the next flush, and how it makes that durable.
 * Stage 2 flushes its outputs as an ordered list (see pipeline/topology.ts), so the flush order is
 * data: a rollup table before the alerts that point at it, an alert before the actions it caused.
 */
export interface OutputSink {
  readonly name: string;
  /** Rows or records waiting for the next flush. */
  readonly pending: number;
  /** Makes what is pending durable; throws on failure, keeping it for the retry. */
  flush(): Promise<unknown>;
}

/** Records for a Kafka topic, published as one batch per flush; `onPublished` hears each once it is acknowledged. */
export class TopicOutput<T> implements OutputSink {
  private buffer: T[] = [];

  constructor(
    readonly name: string,
    private readonly publish: (values: T[]) => Promise<void>,
    private readonly onPublished: (value: T) => void = () => undefined,
  ) {}

  add(value: T): void {
    this.buffer.push(value);
  }

  get pending(): number {
    return this.buffer.length;
  }

  async flush(): Promise<void> {
    if (this.buffer.length === 0) return;
    const batch = this.buffer;
    await this.publish(batch);
    this.buffer = this.buffer.slice(batch.length);
    for (const value of batch) this.onPublished(value);
  }
}
