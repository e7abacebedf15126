import { createWriteStream, type WriteStream } from 'node:fs';
import { once } from 'node:events';
import type { RejectedRow } from './importer.js';

/**
 * Rejected rows as CSV: the export's own columns, as read, then x_RejectedRow, x_RejectedLine,
 * x_RejectReason and x_RejectedText (the raw text of a row that was not valid CSV); FOCUS
 * reserves the x_ prefix for custom columns. The importer ignores columns it does not know, so a
 * fixed rejects file can be imported again as it is.
 */
export const REJECT_COLUMNS = ['x_RejectedRow', 'x_RejectedLine', 'x_RejectReason', 'x_RejectedText'] as const;

/** One CSV field per RFC 4180: quoted when it holds a comma, a quote, a line break or edge spaces. */
export function csvField(value: string): string {
  return /[",\r\n]|^\s|\s$/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

export function csvLine(values: readonly string[]): string {
  return `${values.map(csvField).join(',')}\r\n`;
}

/** Why the row was rejected, in one sentence per problem. */
export function describeProblems(rejected: RejectedRow): string {
  return rejected.problems.map((p) => p.detail).join('; ');
}

export class RejectsFile {
  private readonly out: WriteStream;
  private width = 0;
  written = 0;

  private constructor(
    readonly path: string,
    out: WriteStream,
  ) {
    this.out = out;
  }

  /** Creates (or truncates) the file; fails here, before any import work, when it cannot be written. */
  static async create(path: string): Promise<RejectsFile> {
    const out = createWriteStream(path, { encoding: 'utf8' });
    try {
      await once(out, 'open');
    } catch (error) {
      throw new Error(`cannot write the rejects file ${path}: ${(error as Error).message}. Fix: give a path in a writable directory`);
    }
    return new RejectsFile(path, out);
  }

  async header(names: readonly string[]): Promise<void> {
    this.width = names.length;
    await this.write([...names, ...REJECT_COLUMNS]);
  }

  async add(rejected: RejectedRow): Promise<void> {
    // A row that was not valid CSV has no fields: its own columns stay empty, the reason says why.
    const own = Array.from({ length: this.width }, (_, i) => rejected.fields[i] ?? '');
    await this.write([...own, String(rejected.row), String(rejected.line), describeProblems(rejected), rejected.text ?? '']);
    this.written += 1;
  }

  async close(): Promise<void> {
    this.out.end();
    await once(this.out, 'close');
  }

  private async write(values: readonly string[]): Promise<void> {
    if (!this.out.write(csvLine(values))) await once(this.out, 'drain');
  }
}
