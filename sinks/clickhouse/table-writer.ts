import type { ClickHouseClient } from '@clickhouse/client';
import { qualified } from './sql.js';

/**
 * Buffers rows for one table and writes them as one JSONEachRow insert per flush (split only
 * beyond maxBatchRows). The runtime decides when to flush: it commits offsets after a flush
 * succeeds, so a failed flush keeps the rows and throws for the runtime to back off and retry.
 */
export class TableWriter<T> {
  private buffer: Record<string, unknown>[] = [];
  private inserts = 0;
  private rowsWritten = 0;

  constructor(
    private readonly client: ClickHouseClient,
    private readonly database: string,
    readonly table: string,
    private readonly toRow: (value: T) => Record<string, unknown>,
    private readonly maxBatchRows: number,
    private readonly onInsert?: (table: string, rows: number, seconds: number) => void,
  ) {
    qualified(database, table);
  }

  add(value: T): void {
    this.buffer.push(this.toRow(value));
  }

  /** Drops buffered rows (after a rebalance: the records they came from will be replayed). */
  discard(): void {
    this.buffer = [];
  }

  get pending(): number {
    return this.buffer.length;
  }

  /** The table, as an output of a stage is named. */
  get name(): string {
    return this.table;
  }

  get stats(): { inserts: number; rows: number } {
    return { inserts: this.inserts, rows: this.rowsWritten };
  }

  async flush(): Promise<number> {
    let written = 0;
    while (this.buffer.length > 0) {
      const chunk = this.buffer.slice(0, this.maxBatchRows);
      const started = performance.now();
      await this.client.insert({ table: qualified(this.database, this.table), values: chunk, format: 'JSONEachRow' });
      this.onInsert?.(this.table, chunk.length, (performance.now() - started) / 1000);
      this.buffer = this.buffer.slice(chunk.length);
      this.inserts += 1;
      this.rowsWritten += chunk.length;
      written += chunk.length;
    }
    return written;
  }
}
