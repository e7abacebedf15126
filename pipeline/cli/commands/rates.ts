import type { Command } from 'commander';
import type { ClickHouseClient } from '@clickhouse/client';
import { loadConfig } from '../../config/load.js';
import type { CostlineConfig } from '../../config/schema.js';
import { effectiveFromFor, learnGpuRates, type LearnedGpuRate, type LearnRatesOutcome, type LearnedRateVersion } from '../../core/learned-rates.js';
import { createClickHouse, migrate } from '../../../sinks/clickhouse/index.js';
import { readLearnedRates, readRateEvidence, writeLearnedRates } from '../../../sinks/clickhouse/learned-rates.js';

const DAY_MS = 86_400_000;

export interface LearnedRatesRun extends LearnRatesOutcome {
  version: LearnedRateVersion;
  evidence: { fromMs: number; toMs: number; resources: number };
  written: boolean;
}

/**
 * One learning pass: the evidence of the last `lookbackDays` up to `nowMs`, a rate per instance
 * type and region, stored (unless dryRun) to take effect `leadMs` ahead.
 */
export async function learnRates(client: ClickHouseClient, config: CostlineConfig, nowMs: number, dryRun: boolean): Promise<LearnedRatesRun> {
  const settings = config.cost.learnedRates;
  const evidenceSpan = { fromMs: nowMs - settings.lookbackDays * DAY_MS, toMs: nowMs };
  const evidence = await readRateEvidence(client, config.clickhouse.database, evidenceSpan.fromMs, evidenceSpan.toMs);
  const outcome = learnGpuRates(evidence, { currency: config.cost.currency, minGpuHours: settings.minGpuHours });
  const version = { effectiveFrom: effectiveFromFor(nowMs, settings.leadMs), rates: outcome.rates };
  if (!dryRun) await writeLearnedRates(client, config.clickhouse.database, version, evidenceSpan, nowMs);
  return { ...outcome, version, evidence: { ...evidenceSpan, resources: evidence.length }, written: !dryRun && outcome.rates.length > 0 };
}

const iso = (ms: number) => new Date(ms).toISOString().replace('.000Z', 'Z');
const rateLine = (r: LearnedGpuRate, currency: string) => `  ${r.provider.padEnd(6)} ${r.instanceType.padEnd(26)} ${r.region.padEnd(16)} ${r.perGpuHour.toFixed(4).padStart(10)} ${currency}/GPU-hour`;

function printRun(run: LearnedRatesRun, currency: string): void {
  const out = (line: string) => process.stdout.write(`${line}\n`);
  out(`evidence: ${run.evidence.resources} resources with billed usage and GPU telemetry, ${iso(run.evidence.fromMs)} .. ${iso(run.evidence.toMs)}`);
  const { otherCurrency, noInstanceType, tooLittleEvidence } = run.skipped;
  if (otherCurrency + noInstanceType + tooLittleEvidence > 0) {
    out(`skipped: ${otherCurrency} resources billed in another currency than ${currency}, ${noInstanceType} without an instance type in their telemetry, ${tooLittleEvidence} instance types with too little evidence (cost.learnedRates.minGpuHours)`);
  }
  if (run.rates.length === 0) {
    out('no rate learned: the estimate keeps the configured and built-in rates. Billing must have been attributed (costline run with billing) for telemetry that names instance types.');
    return;
  }
  for (const r of run.rates) {
    out(`${rateLine(r, currency)}  (${r.gpuHours.toFixed(1)} GPU-hours, ${r.resources} resources)`);
  }
  out(run.written ? `stored: estimates use these rates for events from ${iso(run.version.effectiveFrom)} on` : '(dry run: nothing stored)');
}

export function registerRatesCommand(program: Command): void {
  const rates = program.command('rates').description('GPU rates learned from billing: the effective cost per GPU-hour by instance type and region');
  rates
    .command('learn')
    .description('learn rates from the billing attributed in ClickHouse over the last days and store them to take effect ahead (run it from cron, e.g. daily)')
    .option('--dry-run', 'print what would be learned, store nothing')
    .action(async (options: { dryRun?: boolean }) => {
      const config = loadConfig({ file: program.opts().config });
      const client = createClickHouse(config.clickhouse);
      try {
        await migrate(client, config.clickhouse.database);
        printRun(await learnRates(client, config, Date.now(), options.dryRun === true), config.cost.currency);
      } finally {
        await client.close();
      }
    });
  rates
    .command('show')
    .description('print the learned rates in effect now and those scheduled')
    .action(async () => {
      const config = loadConfig({ file: program.opts().config });
      const client = createClickHouse(config.clickhouse);
      try {
        await migrate(client, config.clickhouse.database);
        const versions = await readLearnedRates(client, config.clickhouse.database, config.cost.currency, Date.now());
        if (versions.length === 0) process.stdout.write('no learned rates: run `costline rates learn` once billing has been attributed\n');
        for (const v of versions) {
          process.stdout.write(`from ${iso(v.effectiveFrom)}${v.effectiveFrom > Date.now() ? ' (scheduled)' : ''}\n`);
          for (const r of v.rates) process.stdout.write(`${rateLine(r, config.cost.currency)}\n`);
        }
      } finally {
        await client.close();
      }
    });
}
