import { parse, type CsvError, type Info } from 'csv-parse';
import type { Readable } from 'node:stream';

/**
 * CSV records, streamed, with the row and line each one came from. Parsing is csv-parse's (the
 * node-csv project): RFC 4180 quoting with commas, line breaks and doubled quotes inside fields,
 * a UTF-8 byte-order mark (Azure exports carry one), CRLF or LF, and records that fail to parse
 * reported instead of ending the stream. What this module adds is the accounting: every record is
 * either yielded or reported as malformed, in file order, so no row disappears unnoticed.
 */

/** A single record longer than this is taken for a quoted field that never closes (default of readCsvRecords). */
export const MAX_RECORD_BYTES = 16 * 1024 * 1024;

export type CsvItem =
  | { kind: 'header'; names: string[]; line: number }
  /** A data record: row is 1-based among data records, line the file line it starts on. */
  | { kind: 'record'; row: number; line: number; fields: string[] }
  /** Text that is not valid CSV; it takes a row number, since it stands where one or more rows were. */
  | { kind: 'malformed'; row: number; line: number; endLine: number; detail: string; text: string; readingStopped: boolean };

/** How much of an unparseable record's text is kept for the report. */
const MAX_REPORTED_TEXT = 64 * 1024;

/** A record csv-parse skipped: where it says it ended, its text, and the CRLFs in it (which csv-parse counts twice). */
interface Skip {
  line: number;
  text: string;
  crlfs: number;
  error: CsvError;
}

interface ParsedRecord {
  record: string[];
  info: Info;
}

/** Line breaks inside a record's fields (CRLF counts once). */
function lineBreaksIn(fields: readonly string[]): number {
  let count = 0;
  for (const field of fields) count += field.match(/\r\n|\r|\n/g)?.length ?? 0;
  return count;
}

/** csv-parse counts the CR and the LF of a CRLF inside a quoted field as two lines; this is how many it over-counts. */
function crlfsIn(fields: readonly string[]): number {
  let count = 0;
  for (const field of fields) count += field.match(/\r\n/g)?.length ?? 0;
  return count;
}

/** Why csv-parse skipped a record, in words (its own messages carry its line count, which CRLFs inside quotes inflate). */
function describeCsvError(error: CsvError): string {
  switch (error.code) {
    case 'INVALID_OPENING_QUOTE':
      return 'a quote inside a field that does not start with one';
    case 'CSV_INVALID_CLOSING_QUOTE':
      return 'a quoted field is followed by something other than a comma or a line break';
    case 'CSV_QUOTE_NOT_CLOSED':
      return 'a quoted field is never closed';
    default:
      return error.message.replace(/ at line \d+/, '');
  }
}

/** The header first (or a malformed item when the first record cannot be read), then data records and malformed items in file order. */
export async function* readCsvRecords(input: Readable, maxRecordBytes = MAX_RECORD_BYTES): AsyncGenerator<CsvItem> {
  const parser = parse({
    bom: true,
    relax_column_count: true, // a row with the wrong number of fields is rejected by the importer, with the counts
    skip_empty_lines: true,
    skip_records_with_error: true,
    max_record_size: maxRecordBytes,
    info: true,
    raw: true, // the text of a record that fails to parse, for the report and its line count
  });
  // csv-parse reports a skipped record as an event while parsing; records reach this generator
  // later, so skips wait here and are released in line order between the records.
  const skipped: Skip[] = [];
  let stopped = false;
  parser.on('skip', (error: CsvError) => {
    if (stopped) return;
    const raw = typeof error.raw === 'string' ? error.raw : '';
    skipped.push({ line: Number(error.lines ?? 0), text: raw.slice(0, MAX_REPORTED_TEXT), crlfs: raw.match(/\r\n/g)?.length ?? 0, error });
    if (error.code === 'CSV_MAX_RECORD_SIZE') {
      // csv-parse keeps buffering after this error (gigabytes for a quote that never closes): stop
      // feeding it, and end it once the records parsed before this one have been read.
      stopped = true;
      input.unpipe(parser);
      input.destroy();
      setImmediate(() => parser.end());
    }
  });
  input.on('error', (error) => parser.destroy(error));
  input.pipe(parser);

  let headerSeen = false;
  let row = 0;
  let lastLine = 0;
  // Lines as csv-parse counts them, less what CRLFs inside quoted fields have added so far.
  let overCounted = 0;
  const malformed = (skip: Skip): CsvItem => {
    const first = lastLine + 1;
    // The text a quote never closed swallowed has CRLFs csv-parse counted twice, like any quoted field.
    overCounted += skip.crlfs;
    lastLine = Math.max(skip.line - overCounted, first);
    if (headerSeen) row += 1;
    const readingStopped = skip.error.code === 'CSV_MAX_RECORD_SIZE';
    const lines = lastLine > first ? `lines ${first}-${lastLine}` : `line ${first}`;
    const detail = readingStopped
      ? `not valid CSV from line ${first}: a record exceeds ${maxRecordBytes.toLocaleString('en-US')} bytes, most likely a quoted field that never closes; reading stopped there and the rest of the file was not imported`
      : `not valid CSV (${describeCsvError(skip.error)}); ${lines} could not be read as a row`;
    return { kind: 'malformed', row, line: first, endLine: lastLine, detail, text: skip.text, readingStopped };
  };

  try {
    for await (const { record, info } of parser as AsyncIterable<ParsedRecord>) {
      // Both counts are csv-parse's, so they compare: a skip on an earlier line came before this record.
      while (skipped.length > 0 && skipped[0]!.line < info.lines) yield malformed(skipped.shift()!);
      const endLine = info.lines - overCounted - crlfsIn(record);
      const line = endLine - lineBreaksIn(record);
      overCounted += crlfsIn(record);
      lastLine = endLine;
      if (!headerSeen) {
        headerSeen = true;
        yield { kind: 'header', names: record, line };
        continue;
      }
      row += 1;
      yield { kind: 'record', row, line, fields: record };
    }
    while (skipped.length > 0) yield malformed(skipped.shift()!);
  } finally {
    // The consumer may stop early (an error downstream): release the file either way.
    input.destroy();
    parser.destroy();
  }
}
