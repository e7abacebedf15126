import { describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BillingCost } from '../../schemas/index.js';
import { formatMoney } from '../../pipeline/core/money.js';
import { importFocusCsv, openFocusExport, type ImportSummary, type RejectedRow } from '../../pipeline/importers/focus/index.js';

/**
 * The FOCUS 1.0 sample of the FinOps Foundation (github.com/FinOps-Open-Cost-and-Usage-Spec/FOCUS-Sample-Data,
 * CC BY 4.0): 1,000 anonymized real rows from AWS, Microsoft and Oracle with the real world's
 * inconsistencies. It lives beside the project, never in it; without it this test skips.
 */
const projectRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const dataDir = process.env.COSTLINE_DATA_DIR ?? join(projectRoot, '../shared/data');
const sample = join(dataDir, 'focus-1.0', 'focus_sample.csv');
const present = existsSync(sample);
if (!present) process.stderr.write(`focus-sample.test.ts: skipped, ${sample} not found (set COSTLINE_DATA_DIR to the folder holding focus-1.0/)\n`);

// Sums of the sample's BilledCost and EffectiveCost columns computed independently (Python's decimal module over the raw CSV).
const SAMPLE_BILLED_USD = '20.52022672899';
const SAMPLE_EFFECTIVE_USD = '14.97651418586';

describe.skipIf(!present)(`the FOCUS 1.0 sample export (${sample})`, () => {
  it('accounts for all 1,000 rows, imports them with exact totals, and says so', async () => {
    const costs: BillingCost[] = [];
    const rejected: RejectedRow[] = [];
    const { stream } = await openFocusExport(sample);
    const summary: ImportSummary = await importFocusCsv(stream, {
      file: 'focus_sample.csv',
      eventTime: Date.UTC(2024, 9, 2),
      publish: async (batch) => {
        costs.push(...batch);
      },
      onReject: (r) => {
        rejected.push(r);
      },
    });
    const byProvider = Object.fromEntries(['AWS', 'Microsoft', 'Oracle'].map((p) => [p, costs.filter((c) => c.ProviderName === p).length]));
    process.stderr.write(
      `focus_sample.csv: ${summary.rows} rows, ${summary.imported} imported, ${summary.rejected} rejected; ` +
        `BilledCost ${formatMoney(summary.billedCost.get('USD') ?? 0n)} USD, EffectiveCost ${formatMoney(summary.effectiveCost.get('USD') ?? 0n)} USD; ` +
        `by provider ${JSON.stringify(byProvider)}; rejected: ${rejected.map((r) => `row ${r.row}: ${r.problems.map((p) => p.detail).join('; ')}`).join(' | ') || 'none'}\n`,
    );

    expect(summary.rows).toBe(1000);
    expect(summary.imported + summary.rejected).toBe(1000);
    expect(summary.rejected).toBe(rejected.length);
    expect(summary.imported).toBe(1000);
    expect(summary.roundedAmounts).toBe(0);
    expect([...summary.billedCost.keys()]).toEqual(['USD']);
    expect(formatMoney(summary.billedCost.get('USD')!)).toBe(SAMPLE_BILLED_USD);
    expect(formatMoney(summary.effectiveCost.get('USD')!)).toBe(SAMPLE_EFFECTIVE_USD);
    expect(byProvider).toEqual({ AWS: 942, Microsoft: 51, Oracle: 7 });
  });
});
