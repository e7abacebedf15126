import { createReadStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { contracts, type BillingCost } from '../../../schemas/index.js';
import type { MoneyUnits } from '../../core/money.js';
import { resolveColumns, type ColumnLayout } from './columns.js';
import { readCsvRecords, type CsvItem } from './csv.js';
import { toBillingCost, type RejectReason, type RowProblem } from './row.js';

/** A row the importer could not use, with every reason. */
export interface RejectedRow {
  row: number;
  line: number;
  problems: RowProblem[];
  /** The row's fields as read; empty when it was not valid CSV. */
  fields: readonly string[];
  /** The raw text when it was not valid CSV (at most 64 KiB of it). */
  text?: string;
}

export interface ImportProgress {
  rows: number;
  imported: number;
  rejected: number;
  bytesRead?: number;
  totalBytes?: number;
}

export interface ImportSummary {
  /** Data rows read (the header is not one): imported + rejected. */
  rows: number;
  imported: number;
  rejected: number;
  /** Exact sums over imported rows, per BillingCurrency (amounts in different currencies are never added). */
  billedCost: ReadonlyMap<string, MoneyUnits>;
  effectiveCost: ReadonlyMap<string, MoneyUnits>;
  /** Imported amounts that had digits below 10^-12 and were rounded half-even to that unit. */
  roundedAmounts: number;
  rejectedByReason: ReadonlyMap<RejectReason, number>;
  /** False when a malformed record stopped the reading before the end of the file. */
  readToEnd: boolean;
}

export interface ImportOptions {
  /** The export as named to the user; recorded in every line's source.file. */
  file: string;
  /** When costline learned of these lines (every line's event_time). */
  eventTime: number;
  /** Receives imported lines in batches, in file order; absent for a dry run. */
  publish?: (batch: readonly BillingCost[]) => Promise<void>;
  batchSize?: number;
  onHeader?: (names: readonly string[]) => void | Promise<void>;
  /** Every rejected row, in file order. */
  onReject?: (rejected: RejectedRow) => void | Promise<void>;
  onProgress?: (progress: ImportProgress) => void;
  /** Progress is reported every this many rows or milliseconds, whichever comes first. */
  progressEvery?: { rows: number; ms: number };
  /** A record longer than this stops the reading (a quote that never closes); MAX_RECORD_BYTES by default. */
  maxRecordBytes?: number;
  /** Bytes of the input consumed so far and in total, for progress on large files. */
  bytes?: { read(): number; total: number };
}

/** An export that cannot be read at all: missing, not a file, unreadable, empty or without a header. */
export class FocusFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FocusFileError';
  }
}

function addTo<K>(totals: Map<K, bigint>, key: K, amount: bigint): void {
  totals.set(key, (totals.get(key) ?? 0n) + amount);
}

/**
 * Reads a FOCUS export from a byte stream and hands its lines, as BillingCost values, to publish
 * in batches. Every data row ends up either imported or rejected with its reasons; the summary
 * accounts for all of them. Throws FocusFileError or FocusHeaderError when the file cannot be
 * read at all (FocusHeaderError from columns.ts), and whatever publish throws (the lines of earlier batches are then already out).
 */
export async function importFocusCsv(input: Readable, options: ImportOptions): Promise<ImportSummary> {
  const batchSize = options.batchSize ?? 500;
  const progressEvery = options.progressEvery ?? { rows: 50_000, ms: 5_000 };
  const billingType = contracts.billingCost.type;
  const billedCost = new Map<string, MoneyUnits>();
  const effectiveCost = new Map<string, MoneyUnits>();
  const rejectedByReason = new Map<RejectReason, number>();
  let layout: ColumnLayout | undefined;
  let rows = 0;
  let imported = 0;
  let rejected = 0;
  let roundedAmounts = 0;
  let readToEnd = true;
  let batch: BillingCost[] = [];
  let lastProgressRows = 0;
  let lastProgressAt = Date.now();

  const progress = (force: boolean) => {
    if (!options.onProgress) return;
    const now = Date.now();
    if (!force && rows - lastProgressRows < progressEvery.rows && now - lastProgressAt < progressEvery.ms) return;
    lastProgressRows = rows;
    lastProgressAt = now;
    options.onProgress({ rows, imported, rejected, bytesRead: options.bytes?.read(), totalBytes: options.bytes?.total });
  };
  const flush = async () => {
    if (batch.length === 0) return;
    const out = batch;
    batch = [];
    await options.publish?.(out);
  };
  const reject = async (rejectedRow: RejectedRow) => {
    rejected += 1;
    for (const reason of new Set(rejectedRow.problems.map((p) => p.reason))) rejectedByReason.set(reason, (rejectedByReason.get(reason) ?? 0) + 1);
    await options.onReject?.(rejectedRow);
  };

  const items = readCsvRecords(input, options.maxRecordBytes);
  const nextItem = async (): Promise<IteratorResult<CsvItem>> => {
    try {
      return await items.next();
    } catch (error) {
      // The bytes stopped coming (a truncated gzip stream, a disk error): what was read is accounted for, the rest is not.
      throw new FocusFileError(`${options.file}: reading stopped after ${rows} data rows (${imported} imported, ${rejected} rejected): ${(error as Error).message}`);
    }
  };
  try {
    for (let next = await nextItem(); !next.done; next = await nextItem()) {
      const item = next.value;
      if (item.kind === 'header') {
        layout = resolveColumns(item.names);
        await options.onHeader?.(item.names);
        continue;
      }
      if (!layout) throw new FocusFileError(`${options.file}: the header row cannot be read: ${item.kind === 'malformed' ? item.detail : 'no header'}`);
      rows += 1;
      progress(false);
      if (item.kind === 'malformed') {
        if (item.readingStopped) readToEnd = false;
        await reject({ row: item.row, line: item.line, problems: [{ reason: 'malformed-csv', detail: item.detail }], fields: [], text: item.text });
        continue;
      }
      const result = toBillingCost(item.fields, layout, { file: options.file, row: item.row, line: item.line, eventTime: options.eventTime });
      if (!result.ok) {
        await reject({ row: item.row, line: item.line, problems: result.problems, fields: item.fields });
        continue;
      }
      // A line that passed every check but does not fit the contract is a bug here, not bad input.
      if (!billingType.isValid(result.cost)) throw new Error(`row ${item.row} of ${options.file} produced a BillingCost that does not match billing-cost.avsc: ${JSON.stringify(result.cost)}`);
      imported += 1;
      roundedAmounts += result.roundedAmounts;
      addTo(billedCost, result.cost.BillingCurrency, result.billedCost);
      addTo(effectiveCost, result.cost.BillingCurrency, result.effectiveCost);
      batch.push(result.cost);
      if (batch.length >= batchSize) await flush();
    }
  } finally {
    await items.return(undefined); // closes the file when an error ends the import early
  }
  if (!layout) throw new FocusFileError(`${options.file} is empty: a FOCUS export starts with a header row naming its columns`);
  await flush();
  progress(true);
  return { rows, imported, rejected, billedCost, effectiveCost, roundedAmounts, rejectedByReason, readToEnd };
}

/**
 * Opens an export file for importFocusCsv: plain CSV, or gzip-compressed CSV (as AWS Data Exports
 * deliver it), recognised by its magic bytes whatever its name. Throws FocusFileError, naming the
 * file and the fix, when it cannot be read.
 */
export async function openFocusExport(path: string): Promise<{ stream: Readable; bytes: { read(): number; total: number } }> {
  let total: number;
  let gzip: boolean;
  try {
    const info = await stat(path);
    if (!info.isFile()) throw new FocusFileError(`${path} is not a file: give the path of a FOCUS export (.csv or .csv.gz)`);
    total = info.size;
    const handle = await open(path, 'r');
    try {
      const magic = Buffer.alloc(2);
      const { bytesRead } = await handle.read(magic, 0, 2, 0);
      gzip = bytesRead === 2 && magic[0] === 0x1f && magic[1] === 0x8b;
    } finally {
      await handle.close();
    }
  } catch (error) {
    if (error instanceof FocusFileError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'it does not exist' : code === 'EACCES' ? 'permission denied' : (error as Error).message;
    throw new FocusFileError(`cannot read ${path}: ${why}. Fix: check the path and that this user may read it`);
  }
  const file = createReadStream(path);
  const bytes = { read: () => file.bytesRead, total };
  if (!gzip) return { stream: file, bytes };
  const gunzip = createGunzip();
  file.on('error', (error) => gunzip.destroy(error));
  gunzip.on('error', (error) => file.destroy(error));
  return { stream: file.pipe(gunzip), bytes };
}
