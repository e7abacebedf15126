import type { Command } from 'commander';
import { basename } from 'node:path';
import { loadConfig } from '../../config/load.js';
import type { CostlineConfig } from '../../config/schema.js';
import { connect } from '../../runtime/bootstrap.js';
import { formatMoney } from '../../core/money.js';
import { BillingPublisher, describeProblems, importFocusCsv, openFocusExport, parseFocusTimestamp, RejectsFile, type ImportSummary, type RejectedRow } from '../../importers/focus/index.js';

export interface ImportFocusSettings {
  dryRun?: boolean;
  /** Write rejected rows, with their reasons, to this CSV file. */
  rejects?: string;
  /** Billing topic; config.topics.billing when absent. */
  topic?: string;
  batchSize?: number;
  /** Every line's event_time (when costline learned of it); the current time when absent. */
  eventTime?: number;
  /** Exit with 3 when any row is rejected. */
  strict?: boolean;
}

export interface ImportFocusOutput {
  stdout(text: string): void;
  stderr(text: string): void;
}

export interface ImportFocusOutcome {
  summary: ImportSummary;
  /** What produced lines went to; absent on a dry run. */
  topic?: string;
  schemaId?: number;
  exitCode: number;
}

/** Rejected rows echoed to the terminal when they also go to a rejects file; without one, every rejected row is printed. */
const REJECTS_ECHOED_WITH_FILE = 10;

const count = (n: number) => n.toLocaleString('en-US');

function rejectLine(rejected: RejectedRow): string {
  return `row ${rejected.row} (line ${rejected.line}): ${describeProblems(rejected)}\n`;
}

export function formatImportSummary(file: string, outcome: Omit<ImportFocusOutcome, 'exitCode'>, rejectsPath?: string): string {
  const { summary } = outcome;
  const lines = [`${file}: ${count(summary.rows)} rows read: ${count(summary.imported)} ${outcome.topic ? 'imported' : 'valid (dry run)'}, ${count(summary.rejected)} rejected`];
  const money = (label: string, totals: ReadonlyMap<string, bigint>) => {
    for (const [currency, units] of [...totals].sort(([a], [b]) => a.localeCompare(b))) lines.push(`  ${label}: ${formatMoney(units)} ${currency}`);
  };
  money(outcome.topic ? 'BilledCost imported' : 'BilledCost of valid rows', summary.billedCost);
  money(outcome.topic ? 'EffectiveCost imported' : 'EffectiveCost of valid rows', summary.effectiveCost);
  if (summary.roundedAmounts > 0) lines.push(`  ${count(summary.roundedAmounts)} amounts had digits below 10^-12 and were rounded half-even to that unit`);
  if (summary.rejected > 0) {
    const reasons = [...summary.rejectedByReason].sort(([, a], [, b]) => b - a).map(([reason, n]) => `${reason} ${count(n)}`);
    lines.push(`  rejected rows by reason: ${reasons.join(', ')}`);
  }
  if (rejectsPath) lines.push(`  rejected rows and their reasons written to ${rejectsPath}`);
  lines.push(outcome.topic ? `  produced ${count(summary.imported)} billing lines to ${outcome.topic} (schema id ${outcome.schemaId})` : '  dry run: nothing was produced');
  if (!summary.readToEnd) lines.push('  the file was NOT read to its end: see the malformed-csv rejection');
  return `${lines.join('\n')}\n`;
}

function progressLine(file: string, p: { rows: number; imported: number; rejected: number; bytesRead?: number; totalBytes?: number }, startedAt: number): string {
  const seconds = Math.max((Date.now() - startedAt) / 1000, 0.001);
  const share = p.bytesRead !== undefined && p.totalBytes ? `, ${Math.min(100, Math.round((100 * p.bytesRead) / p.totalBytes))}% of ${(p.totalBytes / 1024 / 1024).toFixed(1)} MB` : '';
  return `import-focus ${file}: ${count(p.rows)} rows (${count(p.imported)} ok, ${count(p.rejected)} rejected)${share}, ${count(Math.round(p.rows / seconds))} rows/s\n`;
}

/** The command's work, for the CLI and for tests: reads the export, produces its lines (unless a dry run), reports. */
export async function runImportFocus(config: CostlineConfig, file: string, settings: ImportFocusSettings, output: ImportFocusOutput): Promise<ImportFocusOutcome> {
  const { stream, bytes } = await openFocusExport(file);
  const rejectsFile = settings.rejects ? await RejectsFile.create(settings.rejects).catch((error: Error) => {
        stream.destroy();
        throw error;
      }) : undefined;
  const connections = settings.dryRun ? undefined : connect(config, '-import-focus');
  let publisher: BillingPublisher | undefined;
  let produced = 0;
  let echoed = 0;
  const startedAt = Date.now();
  try {
    if (connections) {
      publisher = await BillingPublisher.connect({ kafka: connections.kafka, registry: connections.registry, topic: settings.topic ?? config.topics.billing, partitions: config.kafka.partitions });
    }
    const summary = await importFocusCsv(stream, {
      file,
      eventTime: settings.eventTime ?? Date.now(),
      batchSize: settings.batchSize,
      bytes,
      publish: publisher
        ? async (batch) => {
            try {
              await publisher!.publish(batch);
            } catch (error) {
              throw new Error(`producing to ${publisher!.topic} failed after ${count(produced)} lines of ${file} were produced: ${(error as Error).message}`);
            }
            produced += batch.length;
          }
        : undefined,
      onHeader: rejectsFile ? (names) => rejectsFile.header(names) : undefined,
      onReject: async (rejected) => {
        await rejectsFile?.add(rejected);
        if (!rejectsFile || echoed < REJECTS_ECHOED_WITH_FILE) output.stderr(rejectLine(rejected));
        else if (echoed === REJECTS_ECHOED_WITH_FILE) output.stderr(`... further rejected rows only in ${rejectsFile.path}\n`);
        echoed += 1;
      },
      onProgress: (p) => output.stderr(progressLine(basename(file), p, startedAt)),
    });
    const outcome = { summary, topic: publisher?.topic, schemaId: publisher?.schemaId };
    output.stdout(formatImportSummary(file, outcome, rejectsFile?.path));
    const exitCode = !summary.readToEnd ? 1 : settings.strict && summary.rejected > 0 ? 3 : 0;
    return { ...outcome, exitCode };
  } finally {
    await rejectsFile?.close();
    await publisher?.close();
    await connections?.close();
  }
}

function positiveInteger(name: string, max: number): (text: string) => number {
  return (text) => {
    const value = Number(text);
    if (!Number.isInteger(value) || value < 1 || value > max) throw new Error(`${name} is "${text}": use a whole number from 1 to ${max}`);
    return value;
  };
}

function eventTime(text: string): number {
  const millis = parseFocusTimestamp(text);
  if (millis === undefined) throw new Error(`--event-time is "${text}": use an ISO 8601 date/time such as 2024-10-02T06:00:00Z`);
  return millis;
}

export function registerImportFocusCommand(program: Command): void {
  program
    .command('import-focus')
    .description('import a FinOps FOCUS 1.x cost and usage export (CSV or CSV.gz) onto the billing topic')
    .argument('<file>', 'the FOCUS export, as the provider delivered it')
    .option('--dry-run', 'parse and report only; produce nothing to Kafka')
    .option('--rejects <file>', 'write rejected rows, with their reasons, to this CSV file (fix it and import it again)')
    .option('--topic <name>', 'billing topic (default: topics.billing from the config)')
    .option('--batch-size <n>', 'billing lines per produce request', positiveInteger('--batch-size', 10_000), 500)
    .option('--event-time <iso>', 'when costline learned of these lines (default: now)', eventTime)
    .option('--strict', 'exit with code 3 when any row is rejected')
    .addHelpText(
      'after',
      '\nExit codes: 0 the file was read (rejected rows are listed and counted), 1 the file or Kafka could not be used, or reading stopped early, 3 with --strict when rows were rejected.\n',
    )
    .action(async (file: string, options: ImportFocusSettings) => {
      const config = loadConfig({ file: program.opts().config });
      const outcome = await runImportFocus(config, file, options, { stdout: (t) => process.stdout.write(t), stderr: (t) => process.stderr.write(t) });
      process.exitCode = outcome.exitCode;
    });
}
