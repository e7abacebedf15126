import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { Kafka } from 'kafkajs';
import { kafkaOptions } from '../../pipeline/config/kafka-options.js';
import { moneyFromDecimalBytes, parseMoney, sumMoney } from '../../pipeline/core/money.js';
import { runImportFocus, type ImportFocusOutcome } from '../../pipeline/cli/commands/import-focus.js';
import { billingRecordKey } from '../../pipeline/importers/focus/index.js';
import { contracts, SchemaRegistryClient, valueSubject, WireCodec, type BillingCost } from '../../schemas/index.js';
import { eventually, isolatedConfig } from '../support/services.js';

const config = isolatedConfig('focus');
const HEADER = 'ChargePeriodStart,ChargePeriodEnd,ChargeCategory,BilledCost,EffectiveCost,BillingCurrency,ProviderName,BillingAccountId,ServiceCategory,ServiceName,ResourceId,RegionId,Tags';
// Twelve lines over three GPU nodes and one charge without a resource, in amounts whose double sum is not exact; one bad row.
const AMOUNTS = ['0.1', '0.2', '0.3', '1.005', '2.675', '1e-11', '33.333333333333', '-0.7', '12.5', '0.000000000001', '7.77', '1234567.891011'];
const GOOD_ROWS = AMOUNTS.map((amount, i) => {
  const resource = i === 7 ? 'NULL' : `i-gpu-${i % 3}`;
  return `2024-09-01T0${i % 10}:00:00Z,2024-09-01T0${i % 10}:59:59Z,${i === 7 ? 'Credit' : 'usage'},${amount},${amount},USD,AWS,111111111111,Compute,Amazon EC2,${resource},us-east-1,"{""team"": ""ml""}"`;
});
const CSV = `${[HEADER, ...GOOD_ROWS.slice(0, 6), '2024-09-01T00:00:00Z,2024-09-01T01:00:00Z,Usage,NULL,1,USD,AWS,1,Compute,EC2,i-x,us-east-1,{}', ...GOOD_ROWS.slice(6)].join('\n')}\n`;
const EXPECTED_BILLED = sumMoney(AMOUNTS.map((a) => parseMoney(a)));

let dir: string;
let file: string;
let outcome: ImportFocusOutcome;
let stdout = '';
let stderr = '';

/** Reads the whole topic back through a throwaway consumer group, decoding every value. */
async function readTopic(topic: string, expected: number): Promise<{ key: string; partition: number; value: BillingCost }[]> {
  const kafka = new Kafka(kafkaOptions(config.kafka, '-focus-reader'));
  const codec = new WireCodec<BillingCost>(new SchemaRegistryClient(config.schemaRegistry), contracts.billingCost, valueSubject(topic));
  const consumer = kafka.consumer({ groupId: `${config.kafka.groupId}-reader-${Math.random().toString(16).slice(2)}` });
  const records: { key: string; partition: number; value: BillingCost }[] = [];
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ partition, message }) => {
      const decoded = await codec.decode(message.value);
      if (!decoded.ok) throw new Error(`undecodable billing record at ${partition}/${message.offset}: ${decoded.detail}`);
      records.push({ key: message.key?.toString() ?? '', partition, value: decoded.value });
    },
  });
  try {
    await eventually(async () => records.length, (n) => n >= expected, 60_000, `${expected} billing records on ${topic}`);
    return records;
  } finally {
    await consumer.disconnect();
  }
}

let read: ReturnType<typeof readTopic> | undefined;
/** The billing topic as the import left it, read once for the tests that inspect it. */
const billingRecords = () => (read ??= readTopic(config.topics.billing, 12));

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'focus-kafka-'));
  file = join(dir, 'export.csv');
  writeFileSync(file, CSV);
  outcome = await runImportFocus(config, file, { eventTime: Date.UTC(2024, 9, 2), batchSize: 5 }, { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t) });
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('import-focus against the real Kafka and Schema Registry', () => {
  it('reports every row: twelve imported, one rejected, and the exact BilledCost', () => {
    expect(outcome.summary).toMatchObject({ rows: 13, imported: 12, rejected: 1 });
    expect(outcome.summary.billedCost.get('USD')).toBe(EXPECTED_BILLED);
    expect(stdout).toContain(`produced 12 billing lines to ${config.topics.billing}`);
    expect(stderr).toContain('row 7 (line 8): BilledCost is NULL or empty');
  });

  it('delivers every imported row to the billing topic, decodable, with money that sums exactly', async () => {
    const records = await billingRecords();
    expect(records).toHaveLength(12);
    expect(records.map((r) => r.value.source.row).sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 8, 9, 10, 11, 12, 13]);
    expect(sumMoney(records.map((r) => moneyFromDecimalBytes(r.value.BilledCost)))).toBe(EXPECTED_BILLED);
    for (const { value } of records) expect(moneyFromDecimalBytes(value.BilledCost)).toBe(parseMoney(AMOUNTS[value.source.row <= 6 ? value.source.row - 1 : value.source.row - 2]!));
  });

  it('keys each line by its resource, so one resource stays on one partition', async () => {
    const records = await billingRecords();
    for (const r of records) expect(r.key).toBe(billingRecordKey(r.value));
    const partitionsByKey = new Map<string, Set<number>>();
    for (const r of records) partitionsByKey.set(r.key, (partitionsByKey.get(r.key) ?? new Set()).add(r.partition));
    expect([...partitionsByKey.values()].every((p) => p.size === 1)).toBe(true);
    expect(partitionsByKey.has('no-resource|AWS|111111111111||Amazon EC2')).toBe(true);
  });

  it('registers the billing contract under <topic>-value with BACKWARD compatibility', async () => {
    const subject = valueSubject(config.topics.billing);
    const base = config.schemaRegistry.url.replace(/\/+$/, '');
    const compatibility = (await (await fetch(`${base}/config/${encodeURIComponent(subject)}`)).json()) as Record<string, unknown>;
    expect(compatibility.compatibilityLevel ?? compatibility.compatibility).toBe('BACKWARD');
    const registered = await new SchemaRegistryClient(config.schemaRegistry).schemaById(outcome.schemaId!);
    expect(registered).toMatchObject({ name: 'BillingCost', namespace: 'dev.costline.billing' });
  });

  it('runs as the costline command, exiting 3 under --strict when a row was rejected', async () => {
    const endpoints = inject('endpoints');
    const topic = `${config.topics.billing}.cli`;
    const cli = resolve(import.meta.dirname, '../../pipeline/cli/costline.mjs');
    const run = promisify(execFile)(process.execPath, [cli, 'import-focus', file, '--topic', topic, '--strict'], {
      env: { ...process.env, KAFKA_BROKERS: endpoints.kafkaBrokers, SCHEMA_REGISTRY_URL: endpoints.schemaRegistryUrl, CLICKHOUSE_URL: endpoints.clickhouseUrl },
    });
    const failure = (await run.then(() => undefined, (error: unknown) => error)) as { code: number; stdout: string } | undefined;
    expect(failure?.code).toBe(3);
    expect(failure?.stdout).toContain(`13 rows read: 12 imported, 1 rejected`);
    expect(failure?.stdout).toContain(`produced 12 billing lines to ${topic}`);
    expect(await readTopic(topic, 12)).toHaveLength(12);
  });
});
