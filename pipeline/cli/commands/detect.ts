import type { Command } from 'commander';
import { createReadStream, createWriteStream, existsSync, statSync } from 'node:fs';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { createSeriesDetector, DEFAULT_SERIES_DETECTOR, SERIES_DETECTORS } from '../../../detectors/index.js';

/** A bad series file: names the file, the row (1-based, the header is row 1) and what to fix. */
export class SeriesCsvError extends Error {
  constructor(file: string, row: number, reason: string) {
    super(`${file}, row ${row}: ${reason}`);
    this.name = 'SeriesCsvError';
  }
}

/** Splits one CSV line (RFC 4180 quoting, no line breaks inside fields). Undefined for an unterminated quote. */
export function splitCsvLine(line: string): string[] | undefined {
  const fields: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < line.length; i += 1) {
    const c = line[i]!;
    if (quoted) {
      if (c === '"' && line[i + 1] === '"') {
        field += '"';
        i += 1;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"' && field === '') quoted = true;
    else if (c === ',') {
      fields.push(field);
      field = '';
    } else field += c;
  }
  if (quoted) return undefined;
  fields.push(field);
  return fields;
}

const NAIVE_DATE_TIME = /^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)$/;

/**
 * Event time of a timestamp cell, in ms: ISO 8601 (a date-time without an offset is UTC, as in
 * NAB's "2014-04-01 00:05:00"), or epoch seconds or milliseconds (numbers below 10^11 are seconds).
 * Undefined when it is none of these.
 */
export function parseSeriesTimestamp(text: string): number | undefined {
  const trimmed = text.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) {
    const number = Number(trimmed);
    return number < 1e11 ? Math.round(number * 1000) : Math.round(number);
  }
  const naive = NAIVE_DATE_TIME.exec(trimmed);
  const parsed = Date.parse(naive ? `${naive[1]}T${naive[2]}Z` : trimmed);
  return Number.isFinite(parsed) ? parsed : undefined;
}

export interface SeriesRow {
  /** 1-based row number in the file (the header is row 1). */
  row: number;
  /** The row as it was read, to be written back unchanged. */
  line: string;
  timestamp: number;
  value: number;
}

/**
 * Reads a `timestamp,value` CSV as a stream of rows: a header naming (at least) the two columns,
 * in any order, then one row per point in time order. Blank lines are skipped; anything else
 * that is wrong stops with the row and the reason. `keepFileOrder` accepts a row whose time goes
 * back (the rows are taken in the file's order, as NAB scores them: one of its files repeats an
 * hour, a daylight-saving artifact).
 */
export async function* readSeriesCsv(file: string, options: { keepFileOrder?: boolean } = {}): AsyncGenerator<SeriesRow | { header: string }> {
  const lines = createInterface({ input: createReadStream(file, { encoding: 'utf8' }), crlfDelay: Number.POSITIVE_INFINITY });
  let row = 0;
  let columns: { timestamp: number; value: number } | undefined;
  let previous = Number.NEGATIVE_INFINITY;
  for await (const rawLine of lines) {
    row += 1;
    const line = row === 1 ? rawLine.replace(/^\uFEFF/, '') : rawLine;
    if (line.trim() === '') continue;
    const fields = splitCsvLine(line);
    if (!fields) throw new SeriesCsvError(file, row, 'a quoted field is not closed; close the quote (fields cannot span lines)');
    if (!columns) {
      const names = fields.map((f) => f.trim().toLowerCase());
      const timestamp = names.indexOf('timestamp');
      const value = names.indexOf('value');
      if (timestamp < 0 || value < 0) throw new SeriesCsvError(file, row, `the header must name a "timestamp" and a "value" column, found ${JSON.stringify(fields)}`);
      columns = { timestamp, value };
      yield { header: line };
      continue;
    }
    const timestampText = fields[columns.timestamp];
    const valueText = fields[columns.value];
    if (timestampText === undefined || valueText === undefined) throw new SeriesCsvError(file, row, `has ${fields.length} fields, the header has more; every row needs a timestamp and a value`);
    const timestamp = parseSeriesTimestamp(timestampText);
    if (timestamp === undefined) throw new SeriesCsvError(file, row, `timestamp "${timestampText}" is not ISO 8601 (2014-04-01 00:05:00, 2014-04-01T00:05:00Z) nor epoch seconds or milliseconds`);
    if (timestamp < previous && !options.keepFileOrder) throw new SeriesCsvError(file, row, `timestamp ${timestampText} is earlier than the row before it; sort the file by time (the detector reads it as a stream)`);
    const value = Number(valueText.trim());
    if (valueText.trim() === '' || !Number.isFinite(value)) throw new SeriesCsvError(file, row, `value "${valueText}" is not a finite number; fix or remove the row`);
    previous = timestamp;
    yield { row, line, timestamp, value };
  }
  if (!columns) throw new SeriesCsvError(file, Math.max(row, 1), 'the file is empty; it needs a header "timestamp,value" and rows');
}

export interface DetectSummary {
  rows: number;
  alerts: number;
}

/**
 * Scores a series CSV into another: every input row, unchanged, with `anomaly_score` (0-1) and
 * `alert` (1 at the detector's operating point) appended. Streams: memory does not grow with the file.
 */
export async function detectCsv(input: string, output: string, detectorName = DEFAULT_SERIES_DETECTOR, onProgress?: (fraction: number, rows: number) => void): Promise<DetectSummary> {
  const detector = createSeriesDetector(detectorName);
  if (!existsSync(input)) throw new Error(`input ${input} does not exist; give the path of a timestamp,value CSV`);
  const size = statSync(input).size;
  const out = createWriteStream(output, { encoding: 'utf8' });
  const failed = new Promise<never>((_, reject) => out.once('error', reject));
  const write = async (text: string): Promise<void> => {
    if (!out.write(text)) await Promise.race([once(out, 'drain'), failed]);
  };
  let rows = 0;
  let alerts = 0;
  let bytes = 0;
  try {
    for await (const item of readSeriesCsv(input)) {
      if ('header' in item) {
        await write(`${item.header},anomaly_score,alert\n`);
        continue;
      }
      const point = detector.score(item.timestamp, item.value);
      const alert = point.score >= 0.5 ? 1 : 0;
      rows += 1;
      alerts += alert;
      bytes += item.line.length + 1;
      await write(`${item.line},${point.score.toFixed(6)},${alert}\n`);
      if (onProgress && rows % 10_000 === 0) onProgress(Math.min(1, bytes / Math.max(1, size)), rows);
    }
  } finally {
    out.end();
    await Promise.race([once(out, 'finish'), failed]);
  }
  return { rows, alerts };
}

export function registerDetectCommand(program: Command): void {
  program
    .command('detect')
    .description('run a detector over a timestamp,value CSV as a stream; writes each row with anomaly_score (0-1) and alert (0/1)')
    .requiredOption('-i, --input <csv>', 'series to score: a header with timestamp and value columns, rows in time order')
    .requiredOption('-o, --output <csv>', 'where to write the rows with anomaly_score and alert appended')
    .option('-d, --detector <name>', `one of: ${Object.keys(SERIES_DETECTORS).join(', ')}`, DEFAULT_SERIES_DETECTOR)
    .action(async (options: { input: string; output: string; detector: string }) => {
      const started = Date.now();
      const showProgress = (fraction: number, rows: number): void => {
        process.stderr.write(`${process.stderr.isTTY ? '\r' : ''}costline detect: ${Math.round(fraction * 100)}% (${rows.toLocaleString('en-US')} rows)${process.stderr.isTTY ? '' : '\n'}`);
      };
      const summary = await detectCsv(options.input, options.output, options.detector, showProgress);
      if (process.stderr.isTTY && summary.rows >= 10_000) process.stderr.write('\n');
      process.stderr.write(`costline detect: scored ${summary.rows.toLocaleString('en-US')} rows with ${options.detector} in ${((Date.now() - started) / 1000).toFixed(1)} s; ${summary.alerts} alerts; wrote ${options.output}\n`);
    });
}
