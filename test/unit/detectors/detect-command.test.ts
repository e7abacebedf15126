import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { detectCsv, parseSeriesTimestamp, readSeriesCsv, splitCsvLine } from '../../../pipeline/cli/commands/detect.js';
import { Random } from './builders.js';

const directory = mkdtempSync(join(tmpdir(), 'costline-detect-'));

function file(name: string, text: string): string {
  const path = join(directory, name);
  writeFileSync(path, text);
  return path;
}

function series(values: number[]): string {
  return ['timestamp,value', ...values.map((v, i) => `${new Date(Date.UTC(2026, 0, 1) + i * 300_000).toISOString().slice(0, 19).replace('T', ' ')},${v}`)].join('\n');
}

describe('costline detect', () => {
  it('writes every input row unchanged with an anomaly score in [0, 1] and an alert flag', async () => {
    const random = new Random(1);
    const values = Array.from({ length: 1500 }, (_, i) => (i < 1200 ? 50 : 90) + random.normal());
    const input = file('shift.csv', series(values));
    const output = join(directory, 'shift.out.csv');
    const summary = await detectCsv(input, output);
    const lines = readFileSync(output, 'utf8').trim().split('\n');
    expect(lines[0]).toBe('timestamp,value,anomaly_score,alert');
    expect(lines).toHaveLength(1501);
    const inputLines = readFileSync(input, 'utf8').split('\n');
    lines.slice(1).forEach((line, i) => {
      const fields = line.split(',');
      expect(fields.slice(0, 2).join(',')).toBe(inputLines[i + 1]);
      const score = Number(fields[2]);
      expect(score).toBeGreaterThanOrEqual(0);
      expect(score).toBeLessThanOrEqual(1);
      expect(fields[3]).toBe(score >= 0.5 ? '1' : '0');
    });
    const alerts = lines.slice(1).flatMap((line, i) => (line.endsWith(',1') ? [i] : []));
    expect(summary).toEqual({ rows: 1500, alerts: alerts.length });
    expect(alerts.some((i) => i >= 1200 && i < 1210)).toBe(true);
  });

  it('keeps extra columns and accepts them in any order', async () => {
    const output = join(directory, 'extra.out.csv');
    await detectCsv(file('extra.csv', 'host,value,timestamp\n"a,b",1.5,1767225600\nc,2,1767225900\n'), output);
    expect(readFileSync(output, 'utf8')).toBe('host,value,timestamp,anomaly_score,alert\n"a,b",1.5,1767225600,0.000000,0\nc,2,1767225900,0.000000,0\n');
  });

  it('names the row and the reason of a value that is not a number', async () => {
    await expect(detectCsv(file('bad-value.csv', 'timestamp,value\n2026-01-01 00:00:00,1\n2026-01-01 00:05:00,abc\n'), join(directory, 'x.csv'))).rejects.toThrow(/bad-value\.csv, row 3: value "abc" is not a finite number; fix or remove the row/);
  });

  it('names the row of a timestamp that goes back in time, and of one it cannot read', async () => {
    await expect(detectCsv(file('unsorted.csv', 'timestamp,value\n2026-01-01 00:05:00,1\n2026-01-01 00:00:00,1\n'), join(directory, 'x.csv'))).rejects.toThrow(/row 3: timestamp 2026-01-01 00:00:00 is earlier than the row before it; sort the file by time/);
    await expect(detectCsv(file('bad-time.csv', 'timestamp,value\nyesterday,1\n'), join(directory, 'x.csv'))).rejects.toThrow(/row 2: timestamp "yesterday" is not ISO 8601/);
  });

  it('takes rows in the file\'s order, time going back included, when asked to (as NAB scores its files)', async () => {
    const input = file('repeated-hour.csv', 'timestamp,value\n2014-01-07 02:55:00,1\n2014-01-07 02:00:00,2\n2014-01-07 02:05:00,3\n');
    const rows: number[] = [];
    for await (const row of readSeriesCsv(input, { keepFileOrder: true })) if (!('header' in row)) rows.push(row.value);
    expect(rows).toEqual([1, 2, 3]);
  });

  it('asks for the two columns when the header lacks them', async () => {
    await expect(detectCsv(file('no-header.csv', 'time,v\n1,2\n'), join(directory, 'x.csv'))).rejects.toThrow(/row 1: the header must name a "timestamp" and a "value" column/);
  });

  it('refuses an unknown detector, listing the known ones', async () => {
    await expect(detectCsv(file('ok.csv', series([1, 2])), join(directory, 'x.csv'), 'magic')).rejects.toThrow(/unknown detector "magic": use one of change-point, change-point-live/);
  });

  it('reads ISO 8601, NAB-style naive UTC, epoch seconds and epoch milliseconds', () => {
    expect(parseSeriesTimestamp('2014-04-01 00:05:00')).toBe(Date.UTC(2014, 3, 1, 0, 5));
    expect(parseSeriesTimestamp('2014-04-10 07:15:00.000000')).toBe(Date.UTC(2014, 3, 10, 7, 15));
    expect(parseSeriesTimestamp('2014-04-01T02:05:00+02:00')).toBe(Date.UTC(2014, 3, 1, 0, 5));
    expect(parseSeriesTimestamp('1396310700')).toBe(Date.UTC(2014, 3, 1, 0, 5));
    expect(parseSeriesTimestamp('1396310700000')).toBe(Date.UTC(2014, 3, 1, 0, 5));
    expect(parseSeriesTimestamp('soon')).toBeUndefined();
  });

  it('splits quoted CSV fields, doubled quotes included', () => {
    expect(splitCsvLine('a,"b,c","say ""hi"""')).toEqual(['a', 'b,c', 'say "hi"']);
    expect(splitCsvLine('"open')).toBeUndefined();
  });
});
