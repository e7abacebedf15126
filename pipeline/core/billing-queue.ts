import type { BillingLine } from './cost-attribution.js';
import type { SourcePosition } from './window-store.js';

/**
 * Billing lines wait here until the usage they are allocated by is final: until the task's
 * telemetry watermark has passed the end of their charge period plus the telemetry lateness.
 * Their offsets are not committable while they wait, so a crash loses none.
 */
export class BillingQueue {
  private pending: { line: BillingLine; position: SourcePosition }[] = [];

  constructor(private readonly usageFinalAfterMs: number) {}

  get size(): number {
    return this.pending.length;
  }

  /** The position is copied: the caller may reuse its object for the next record. */
  add(line: BillingLine, position: SourcePosition): void {
    this.pending.push({ line, position: { partition: position.partition, offset: position.offset } });
  }

  /** Lines whose usage is final at this watermark, in arrival order; they leave the queue. */
  takeDue(watermark: number): { line: BillingLine; position: SourcePosition }[] {
    const due = this.pending.filter((p) => p.line.chargePeriodEnd + this.usageFinalAfterMs <= watermark);
    if (due.length > 0) this.pending = this.pending.filter((p) => p.line.chargePeriodEnd + this.usageFinalAfterMs > watermark);
    return due;
  }

  /** Puts lines back (their allocation could not be written); they are retried on the next flush. */
  restore(lines: { line: BillingLine; position: SourcePosition }[]): void {
    this.pending = [...lines, ...this.pending];
  }

  /** The lowest offset per partition still waiting. */
  firstOffsets(): Map<string, number> {
    const result = new Map<string, number>();
    for (const { position } of this.pending) {
      if (position.offset < (result.get(position.partition) ?? Number.POSITIVE_INFINITY)) result.set(position.partition, position.offset);
    }
    return result;
  }
}
