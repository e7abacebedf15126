import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import type { BillingCost } from '../../schemas/index.js';
import { contracts } from '../../schemas/index.js';
import { formatMoney, moneyFromDecimalBytes, parseMoney } from '../../pipeline/core/money.js';
import { loadConfig } from '../../pipeline/config/load.js';
import { runImportFocus } from '../../pipeline/cli/commands/import-focus.js';
import {
  billingRecordKey,
  FocusFileError,
  FocusHeaderError,
  importFocusCsv,
  openFocusExport,
  parseFocusTimestamp,
  parseTags,
  REQUIRED_COLUMNS,
  type ImportSummary,
  type RejectedRow,
  type RejectReason,
} from '../../pipeline/importers/focus/index.js';

/**
 * A FOCUS export written the way providers deliver them: a byte-order mark, CRLF, header names in
 * mixed case and their own order, a column costline does not know, three providers, NULL in three
 * spellings, enum values in any casing, JSON tags, scientific notation, a quoted field with a
 * comma, doubled quotes and a line break; then one row for every reason a row is rejected.
 */
const HEADER = 'billedcost,ChargePeriodStart,CHARGEPERIODEND,ChargeCategory,EffectiveCost,ListCost,BillingCurrency,ProviderName,BillingAccountId,SubAccountId,ServiceCategory,ServiceName,ResourceId,ResourceName,RegionId,ConsumedQuantity,ChargeFrequency,Tags,ChargeDescription,x_Custom';
const GOOD = [
  // row 1, lines 2-3: AWS, a description with a comma, doubled quotes and a line break.
  '12.5,2024-09-01 00:00:00,2024-09-01 01:00:00,Usage,10.25,14.00,USD,AWS,111111111111,222222222222,Compute,Amazon Elastic Compute Cloud,i-0abc,gpu-node-1,us-east-1,1,Usage-Based,"{""team"": ""ml"", ""model_version"": ""v2""}","GPU hours, ""p4d.24xlarge""\nsecond line",ignored',
  // row 2, line 4: Microsoft, lower-case enums and currency, scientific notation, "NULL" and "" as null, tags of every JSON type.
  '1.5E-3,2024-09-01T00:00:00Z,2024-09-02T00:00:00Z,usage,0.0015,NULL,usd,Microsoft,/providers/Microsoft.Billing/billingAccounts/86,/subscriptions/64e3,compute,Virtual Machines,/subscriptions/64e3/resourcegroups/rg/providers/microsoft.compute/virtualmachines/vm1,,eastus,2.5e-8,usage-based,"{""cost_center"": 1234, ""spot"": true, ""owner"": null}",,',
  // row 3, line 5: Oracle, upper-case category, "null" as null, Tags NULL.
  '0.012,2024-09-21 17:00:00,2024-09-21 18:00:00,USAGE,0,null,USD,Oracle,20209880,null,Compute,COMPUTE,ocid1.instance.oc1.us-sanjose-1.abc,,null,8,Usage-based,NULL,Standard - E3 - Memory,',
  // row 4, line 6: a credit, negative, not tied to a resource.
  '-2.6137,2024-09-01 00:00:00,2024-10-01 00:00:00,credit,-2.6137,-2.6137,USD,AWS,111111111111,NULL,Other,AWS Credits,NULL,NULL,NULL,NULL,One-Time,NULL,Promotional credit,',
  // row 5, line 7: an amount with digits below 10^-12 (rounded half-even, and counted).
  '0.0000000000015,2024-09-01 00:00:00,2024-09-01 01:00:00,Usage,0.0000000000015,0,USD,AWS,111111111111,222222222222,Networking,Amazon VPC,vpc-1,NULL,us-west-2,0.0001,Usage-Based,{},data transfer,',
];
const OK_TAIL = '2024-09-01 00:00:00,2024-09-01 01:00:00,Usage,1,1,USD,AWS,111111111111,222222222222,Compute,EC2,i-1,NULL,us-east-1,1,Usage-Based,NULL,a row,';
const BAD: { line: string; reasons: RejectReason[]; detail: RegExp }[] = [
  { line: `NULL,${OK_TAIL}`, reasons: ['missing-value'], detail: /BilledCost is NULL or empty; FOCUS requires a value/ },
  { line: `"12,50",${OK_TAIL}`, reasons: ['invalid-number'], detail: /BilledCost "12,50" is not a decimal number/ },
  { line: '1,09/18/2024 10:00,2024-09-01 01:00:00,Usage,1,1,USD,AWS,1,2,Compute,EC2,i-1,NULL,us-east-1,1,Usage-Based,NULL,a row,', reasons: ['invalid-timestamp'], detail: /ChargePeriodStart "09\/18\/2024 10:00" is not a date\/time/ },
  { line: '1,2024-09-01 02:00:00,2024-09-01 01:00:00,Usage,1,1,USD,AWS,1,2,Compute,EC2,i-1,NULL,us-east-1,1,Usage-Based,NULL,a row,', reasons: ['invalid-period'], detail: /ChargePeriodEnd 2024-09-01T01:00:00.000Z is before ChargePeriodStart 2024-09-01T02:00:00.000Z/ },
  { line: '1,2024-09-01 00:00:00,2024-09-01 01:00:00,Refund,1,1,USD,AWS,1,2,Compute,EC2,i-1,NULL,us-east-1,1,Usage-Based,NULL,a row,', reasons: ['unknown-charge-category'], detail: /ChargeCategory "Refund" is not one of Usage, Purchase, Tax, Credit, Adjustment/ },
  { line: '1,2024-09-01 00:00:00,2024-09-01 01:00:00,Usage,1,1,US Dollar,AWS,1,2,Compute,EC2,i-1,NULL,us-east-1,1,Usage-Based,NULL,a row,', reasons: ['invalid-currency'], detail: /BillingCurrency "US Dollar" is not an ISO 4217 three-letter code/ },
  { line: '1,2024-09-01 00:00:00,2024-09-01 01:00:00,Usage,1,1,USD,AWS,1,2,Compute,EC2,i-1,NULL,us-east-1,1,Usage-Based,{team:ml},a row,', reasons: ['invalid-tags'], detail: /Tags "\{team:ml\}" is not JSON/ },
  { line: '1,2024-09-01 00:00:00,2024-09-01 01:00:00', reasons: ['field-count'], detail: /the row has 3 fields but the header has 20/ },
  { line: `1,2024-09-01 00:00:00,2024-09-01 01:00:00,Us"age,${OK_TAIL.split(',').slice(3).join(',')}`, reasons: ['malformed-csv'], detail: /not valid CSV \(a quote inside a field that does not start with one\); line 16 could not be read as a row/ },
  { line: '1,2024-09-01 00:00:00,2024-09-01 01:00:00,Usage,1,1,USD,AWS,1,2,Compute,EC2,i-1,NULL,us-east-1,lots,Usage-Based,NULL,a row,', reasons: ['invalid-number'], detail: /ConsumedQuantity "lots" is not a number/ },
  { line: ',2024-09-01 00:00:00,2024-09-01 01:00:00,Usage,1,1,USD,,1,2,Compute,EC2,i-1,NULL,us-east-1,1,Usage-Based,[1],a row,', reasons: ['missing-value', 'missing-value', 'invalid-tags'], detail: /BilledCost is NULL.*; ProviderName is NULL.*; Tags "\[1\]" is JSON but not an object/ },
];
// One more good row after the bad ones: a rejected row never stops the import.
const LAST_GOOD = `3.25,${OK_TAIL}`;
const EXPORT = `\uFEFF${[HEADER, ...GOOD, ...BAD.map((b) => b.line), LAST_GOOD].join('\r\n')}\r\n`;
const FIRST_BAD_ROW = GOOD.length + 1;
const FIRST_BAD_LINE = 8; // the header is line 1 and the first good row spans two lines
const EXPECTED_BILLED = parseMoney('12.5') + parseMoney('0.0015') + parseMoney('0.012') + parseMoney('-2.6137') + 2n + parseMoney('3.25');

interface Imported {
  summary: ImportSummary;
  costs: BillingCost[];
  rejected: RejectedRow[];
  batches: number;
}

async function importText(text: string | Buffer, batchSize = 2): Promise<Imported> {
  const costs: BillingCost[] = [];
  const rejected: RejectedRow[] = [];
  let batches = 0;
  const summary = await importFocusCsv(Readable.from([Buffer.from(text)]), {
    file: 'export.csv',
    eventTime: Date.UTC(2024, 9, 2, 6),
    batchSize,
    publish: async (batch) => {
      batches += 1;
      costs.push(...batch);
    },
    onReject: (r) => {
      rejected.push(r);
    },
  });
  return { summary, costs, rejected, batches };
}

let result: Imported;
let dir: string;
beforeAll(async () => {
  result = await importText(EXPORT);
  dir = mkdtempSync(join(tmpdir(), 'focus-import-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const costOf = (resourceId: string) => result.costs.find((c) => c.ResourceId === resourceId)!;

describe('import-focus: accounting', () => {
  it('accounts for every data row: imported plus rejected equals the rows read', () => {
    expect(result.summary.rows).toBe(GOOD.length + BAD.length + 1);
    expect(result.summary.imported).toBe(GOOD.length + 1);
    expect(result.summary.rejected).toBe(BAD.length);
    expect(result.costs).toHaveLength(result.summary.imported);
    expect(result.rejected).toHaveLength(result.summary.rejected);
  });

  it('sums the imported BilledCost exactly, per currency', () => {
    expect(result.summary.billedCost).toEqual(new Map([['USD', EXPECTED_BILLED]]));
    expect(formatMoney(EXPECTED_BILLED)).toBe('13.149800000002');
  });

  it('carries each amount exactly in the Avro decimal bytes of the line', () => {
    const fromLines = result.costs.reduce((sum, c) => sum + moneyFromDecimalBytes(c.BilledCost), 0n);
    expect(fromLines).toBe(EXPECTED_BILLED);
    expect(moneyFromDecimalBytes(costOf('i-0abc').EffectiveCost)).toBe(parseMoney('10.25'));
  });

  it('counts the amounts that had to be rounded below 10^-12', () => {
    expect(result.summary.roundedAmounts).toBe(2); // BilledCost and EffectiveCost of row 5
  });

  it('hands the lines over in batches, in file order', () => {
    expect(result.batches).toBe(Math.ceil((GOOD.length + 1) / 2));
    expect(result.costs.map((c) => c.source.row)).toEqual([1, 2, 3, 4, 5, BAD.length + GOOD.length + 1]);
  });

  it('produces values the billing contract accepts', () => {
    for (const cost of result.costs) expect(contracts.billingCost.type.isValid(cost)).toBe(true);
  });
});

describe('import-focus: exports as providers deliver them', () => {
  it('reads a quoted field with a comma, doubled quotes and a line break', () => {
    expect(costOf('i-0abc').ChargeDescription).toBe('GPU hours, "p4d.24xlarge"\nsecond line');
  });

  it('finds columns by name in any case and order, and ignores columns it does not know', () => {
    expect(costOf('i-0abc').BillingAccountId).toBe('111111111111');
    expect(costOf('i-0abc').ChargePeriodEnd).toBe(Date.UTC(2024, 8, 1, 1));
    expect(Object.values(costOf('i-0abc'))).not.toContain('ignored');
  });

  it('reads NULL, null and an empty field as null', () => {
    const microsoft = result.costs.find((c) => c.ProviderName === 'Microsoft')!;
    const oracle = result.costs.find((c) => c.ProviderName === 'Oracle')!;
    expect(microsoft.ListCost).toBeNull();
    expect(microsoft.ResourceName).toBeNull();
    expect(microsoft.ChargeDescription).toBeNull();
    expect(oracle.ListCost).toBeNull();
    expect(oracle.RegionId).toBeNull();
    expect(oracle.SubAccountId).toBeNull();
  });

  it('normalises the casing of FOCUS allowed values and currency codes', () => {
    const byProvider = new Map(result.costs.map((c) => [c.ProviderName, c]));
    expect(byProvider.get('Microsoft')).toMatchObject({ ChargeCategory: 'Usage', ChargeFrequency: 'Usage-Based', ServiceCategory: 'Compute', BillingCurrency: 'USD' });
    expect(byProvider.get('Oracle')).toMatchObject({ ChargeCategory: 'Usage', ChargeFrequency: 'Usage-Based' });
    expect(result.costs.find((c) => c.ChargeDescription === 'Promotional credit')).toMatchObject({ ChargeCategory: 'Credit', ChargeFrequency: 'One-Time' });
  });

  it('reads JSON tags, flattening numbers and booleans to text and leaving null values out', () => {
    expect(costOf('i-0abc').Tags).toEqual({ team: 'ml', model_version: 'v2' });
    expect(result.costs.find((c) => c.ProviderName === 'Microsoft')!.Tags).toEqual({ cost_center: '1234', spot: 'true' });
    expect(result.costs.find((c) => c.ProviderName === 'Oracle')!.Tags).toEqual({});
  });

  it('reads numbers in plain and scientific notation', () => {
    const microsoft = result.costs.find((c) => c.ProviderName === 'Microsoft')!;
    expect(moneyFromDecimalBytes(microsoft.BilledCost)).toBe(parseMoney('0.0015'));
    expect(microsoft.ConsumedQuantity).toBe(2.5e-8);
  });

  it('keys a line by its ResourceId, and a line without one by a stable fallback', () => {
    expect(billingRecordKey(costOf('i-0abc'))).toBe('i-0abc');
    const credit = result.costs.find((c) => c.ChargeCategory === 'Credit')!;
    expect(billingRecordKey(credit)).toBe('no-resource|AWS|111111111111||AWS Credits');
  });

  it('stamps every line with the import time as event time and with its file, row and line', () => {
    expect(costOf('i-0abc').event_time).toBe(Date.UTC(2024, 9, 2, 6));
    expect(costOf('i-0abc').source).toEqual({ file: 'export.csv', row: 1, line: 2 });
    expect(result.costs.find((c) => c.ProviderName === 'Microsoft')!.source).toEqual({ file: 'export.csv', row: 2, line: 4 });
  });

  it('reads a gzip-compressed export as AWS delivers it', async () => {
    const path = join(dir, 'export.csv.gz');
    writeFileSync(path, gzipSync(EXPORT));
    const { stream } = await openFocusExport(path);
    const summary = await importFocusCsv(stream, { file: path, eventTime: 0 });
    expect({ imported: summary.imported, rejected: summary.rejected, billed: summary.billedCost.get('USD') }).toEqual({ imported: GOOD.length + 1, rejected: BAD.length, billed: EXPECTED_BILLED });
  });
});

describe('import-focus: rejected rows', () => {
  it.each(BAD.map((bad, i) => ({ ...bad, row: FIRST_BAD_ROW + i, fileLine: FIRST_BAD_LINE + i })))(
    'rejects row $row (line $fileLine) for $reasons, saying why',
    ({ row, fileLine, reasons, detail }) => {
      const rejected = result.rejected.find((r) => r.row === row)!;
      expect(rejected.line).toBe(fileLine);
      expect(rejected.problems.map((p) => p.reason)).toEqual(reasons);
      expect(rejected.problems.map((p) => p.detail).join('; ')).toMatch(detail);
    },
  );

  it('counts the rejected rows by reason', () => {
    expect(Object.fromEntries(result.summary.rejectedByReason)).toEqual({
      'missing-value': 2,
      'invalid-number': 2,
      'invalid-timestamp': 1,
      'invalid-period': 1,
      'unknown-charge-category': 1,
      'invalid-currency': 1,
      'invalid-tags': 2,
      'field-count': 1,
      'malformed-csv': 1,
    });
  });

  it('reports a quote that never closes, with the lines it swallowed, instead of losing them', async () => {
    const { summary, rejected } = await importText(`${HEADER}\r\n${GOOD[2]}\r\n1,"never closed,x\r\n${GOOD[3]}\r\n${GOOD[4]}\r\n`);
    expect(summary).toMatchObject({ rows: 2, imported: 1, rejected: 1 });
    expect(rejected[0]).toMatchObject({ row: 2, line: 3 });
    expect(rejected[0]!.problems[0]!.detail).toBe('not valid CSV (a quoted field is never closed); lines 3-5 could not be read as a row');
  });

  it('stops reading at a record longer than the limit, a quote that never closes, and says the file was not read to its end', async () => {
    const rest = Array.from({ length: 200 }, () => 'no quotes here, just text').join('\r\n');
    const rejected: RejectedRow[] = [];
    const summary = await importFocusCsv(Readable.from([`${HEADER}\r\n${GOOD[2]}\r\n1,"never closed\r\n${rest}\r\n`]), {
      file: 'export.csv',
      eventTime: 0,
      maxRecordBytes: 1000,
      onReject: (r) => {
        rejected.push(r);
      },
    });
    expect(summary).toMatchObject({ rows: 2, imported: 1, rejected: 1, readToEnd: false });
    expect(rejected[0]!.problems[0]!.detail).toMatch(/^not valid CSV from line 3: a record exceeds 1,000 bytes, most likely a quoted field that never closes; reading stopped there/);
    expect(rejected[0]!.text).toMatch(/^1,"never closed\r\nno quotes here/);
  });

  it('keeps line numbers right after a quoted field with CRLF line breaks inside', async () => {
    const description = '"first\r\nsecond\r\nthird"';
    const multiLine = GOOD[2]!.replace('Standard - E3 - Memory', description);
    const { rejected } = await importText(`${HEADER}\r\n${multiLine}\r\n${BAD[0]!.line}\r\n1,x"y\r\n${BAD[1]!.line}\r\n`);
    expect(rejected.map((r) => [r.row, r.line])).toEqual([
      [2, 5],
      [3, 6],
      [4, 7],
    ]);
  });
});

describe('import-focus: files that cannot be imported at all', () => {
  it('refuses a header without the required columns, naming every one missing', async () => {
    const header = HEADER.replace('billedcost,', '').replace('ProviderName,', 'Provider,');
    await expect(importText(`${header}\r\n`)).rejects.toThrow(FocusHeaderError);
    await expect(importText(`${header}\r\n`)).rejects.toThrow(/lacks the required FOCUS columns BilledCost, ProviderName\./);
  });

  it('refuses a header that names a column twice', async () => {
    await expect(importText(`${HEADER},BILLEDCOST\r\n`)).rejects.toThrow(/column BilledCost appears twice in the header \(columns 1 and 21\)/);
  });

  it('refuses an empty file', async () => {
    await expect(importText('')).rejects.toThrow(FocusFileError);
  });

  it('refuses a path that does not exist, naming it and the fix', async () => {
    await expect(openFocusExport(join(dir, 'missing.csv'))).rejects.toThrow(/cannot read .*missing\.csv: it does not exist\. Fix: check the path/);
  });

  it('imports a file that has only the required columns, every other field null', async () => {
    const header = REQUIRED_COLUMNS.join(',');
    const row = '2024-09-01T00:00:00Z,2024-09-01T01:00:00Z,Usage,1.25,1.25,EUR,Google Cloud,acct-1,AI and Machine Learning,Vertex AI';
    const { costs } = await importText(`${header}\n${row}\n`);
    expect(costs).toHaveLength(1);
    expect(costs[0]).toMatchObject({ ResourceId: null, ListCost: null, Tags: {}, BillingCurrency: 'EUR', ServiceCategory: 'AI and Machine Learning' });
  });
});

describe('import-focus command (dry run)', () => {
  const config = loadConfig({ env: {} });
  const capture = () => {
    const out = { stdout: '', stderr: '' };
    return { out, output: { stdout: (t: string) => (out.stdout += t), stderr: (t: string) => (out.stderr += t) } };
  };

  it('prints the summary with exact totals and every rejected row with its row, line and reason', async () => {
    const path = join(dir, 'export.csv');
    writeFileSync(path, EXPORT);
    const { out, output } = capture();
    const outcome = await runImportFocus(config, path, { dryRun: true }, output);
    expect(outcome.exitCode).toBe(0);
    expect(out.stdout).toContain(`${BAD.length + GOOD.length + 1} rows read: ${GOOD.length + 1} valid (dry run), ${BAD.length} rejected`);
    expect(out.stdout).toContain('BilledCost of valid rows: 13.149800000002 USD');
    expect(out.stdout).toContain('dry run: nothing was produced');
    expect(out.stderr).toContain('row 6 (line 8): BilledCost is NULL or empty; FOCUS requires a value');
    expect(out.stderr.match(/^row \d+ \(line \d+\): /gm)).toHaveLength(BAD.length);
  });

  it('writes rejected rows with their reasons to a CSV that imports again as it is', async () => {
    const path = join(dir, 'export.csv');
    const rejectsPath = join(dir, 'rejects.csv');
    writeFileSync(path, EXPORT);
    await runImportFocus(config, path, { dryRun: true, rejects: rejectsPath }, capture().output);
    const again = await importText(readFileSync(rejectsPath));
    expect(again.summary).toMatchObject({ rows: BAD.length, imported: 0, rejected: BAD.length });
    // The same reasons come back, except that a row which was not CSV is now an empty row of the right width.
    expect(again.rejected.map((r) => r.problems[0]!.reason)).toEqual(BAD.map((b) => (b.reasons[0] === 'malformed-csv' || b.reasons[0] === 'field-count' ? 'missing-value' : b.reasons[0])));
    expect(readFileSync(rejectsPath, 'utf8').split('\r\n')[0]).toBe(`${HEADER},x_RejectedRow,x_RejectedLine,x_RejectReason,x_RejectedText`);
  });

  it('exits with 3 under --strict when rows were rejected', async () => {
    const path = join(dir, 'export.csv');
    writeFileSync(path, EXPORT);
    const outcome = await runImportFocus(config, path, { dryRun: true, strict: true }, capture().output);
    expect(outcome.exitCode).toBe(3);
  });
});

describe('FOCUS values', () => {
  it.each([
    ['2024-09-01T00:00:00Z', Date.UTC(2024, 8, 1)],
    ['2024-09-01 13:45:10', Date.UTC(2024, 8, 1, 13, 45, 10)],
    ['2024-09-01T13:45:10.250Z', Date.UTC(2024, 8, 1, 13, 45, 10, 250)],
    ['2024-09-01T13:45:10+02:00', Date.UTC(2024, 8, 1, 11, 45, 10)],
    ['2024-09-01T13:45:10-0530', Date.UTC(2024, 8, 1, 19, 15, 10)],
    ['2024-09-01 13:45:10 UTC', Date.UTC(2024, 8, 1, 13, 45, 10)],
    ['2024-09-01', Date.UTC(2024, 8, 1)],
  ])('reads the date/time %s', (text, millis) => {
    expect(parseFocusTimestamp(text)).toBe(millis);
  });

  it.each(['2024-02-30T00:00:00Z', '2024-09-01T24:00:00Z', '09/01/2024', '2024-09-01T00:00:60Z', '1725148800', 'yesterday'])('refuses the date/time %s', (text) => {
    expect(parseFocusTimestamp(text)).toBeUndefined();
  });

  it('unwraps tags that were JSON-encoded twice', () => {
    expect(parseTags(JSON.stringify(JSON.stringify({ team: 'ml' })))).toEqual({ ok: true, tags: { team: 'ml' } });
  });

  it('keeps a nested tag value, which FOCUS forbids, as its JSON text rather than losing it', () => {
    expect(parseTags('{"k8s": {"ns": "serving"}, "ids": [1, 2]}')).toEqual({ ok: true, tags: { k8s: '{"ns":"serving"}', ids: '[1,2]' } });
  });
});
