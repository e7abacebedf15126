import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig } from '../../pipeline/config/load.js';

const file = (text: string) => {
  const path = join(mkdtempSync(join(tmpdir(), 'costline-config-')), 'costline.yaml');
  writeFileSync(path, text);
  return path;
};

function problems(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    if (error instanceof ConfigError) return error.message;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('configuration', () => {
  it('works with no file at all, pointing at the local stack', () => {
    const config = loadConfig({ env: {} });
    expect(config.kafka.brokers).toEqual(['127.0.0.1:19092']);
    expect(config.windows.sizeMs).toBe(60_000);
  });

  it('takes the well-known endpoint variables over the file', () => {
    const config = loadConfig({ file: file('kafka:\n  brokers: ["a:1"]\n'), env: { KAFKA_BROKERS: 'b:2,c:3', CLICKHOUSE_URL: 'http://ch:8123' } });
    expect(config.kafka.brokers).toEqual(['b:2', 'c:3']);
    expect(config.clickhouse.url).toBe('http://ch:8123');
  });

  it('sets any key from a COSTLINE__section__key variable', () => {
    expect(loadConfig({ env: { COSTLINE__windows__sizeMs: '30000' } }).windows.sizeMs).toBe(30_000);
  });

  it('names the key, the value, where it came from and the fix when a value is wrong', () => {
    const message = problems(() => loadConfig({ env: { COSTLINE__windows__sizeMs: '10' } }));
    expect(message).toContain('windows.sizeMs');
    expect(message).toContain('got 10');
    expect(message).toContain('COSTLINE__windows__sizeMs');
    expect(message).toContain('Fix:');
  });

  it('refuses learned rates that could be reloaded after they take effect', () => {
    const message = problems(() => loadConfig({ file: file('cost:\n  learnedRates: { leadMs: 600000, reloadEveryMs: 900000 }\n'), env: {} }));
    expect(message).toMatch(/cost\.learnedRates\.reloadEveryMs/);
    expect(message).toMatch(/shorter than leadMs/);
  });

  it('refuses a misspelt key instead of ignoring it', () => {
    expect(problems(() => loadConfig({ file: file('windows:\n  sizeMS: 1000\n'), env: {} }))).toMatch(/sizeMS/);
  });

  it('never prints a secret in an error', () => {
    const message = problems(() => loadConfig({ env: { KAFKA_SASL_MECHANISM: 'gssapi', KAFKA_SASL_USERNAME: 'u', KAFKA_SASL_PASSWORD: 'hunter2' } }));
    expect(message).toContain('kafka.sasl.mechanism');
    expect(message).not.toContain('hunter2');
  });

  it('reads a secret from a _FILE variable', () => {
    const secret = file('s3cret\n');
    expect(loadConfig({ env: { CLICKHOUSE_PASSWORD_FILE: secret } }).clickhouse.password).toBe('s3cret');
  });

  it('lets the number of stage-1 worker threads come from COSTLINE_STAGE_ONE_WORKERS, a number or auto', () => {
    expect(loadConfig({ env: {} }).pipeline.stageOneWorkers).toBe(0);
    expect(loadConfig({ env: { COSTLINE_STAGE_ONE_WORKERS: '2' } }).pipeline.stageOneWorkers).toBe(2);
    expect(loadConfig({ env: { COSTLINE_STAGE_ONE_WORKERS: 'auto' } }).pipeline.stageOneWorkers).toBe('auto');
    expect(loadConfig({ file: file('pipeline:\n  stageOneWorkers: 3\n'), env: { COSTLINE_STAGE_ONE_WORKERS: 'auto' } }).pipeline.stageOneWorkers).toBe('auto');
  });

  it('refuses a stage-1 worker count that is not a whole number or auto, naming where it came from', () => {
    const message = problems(() => loadConfig({ env: { COSTLINE_STAGE_ONE_WORKERS: 'two' } }));
    expect(message).toContain('pipeline.stageOneWorkers');
    expect(message).toContain('got "two"');
    expect(message).toContain('COSTLINE_STAGE_ONE_WORKERS');
  });

  it('puts a command-line override over the environment, and names the option when it is wrong', () => {
    const override = (value: unknown) => [{ path: 'pipeline.stageOneWorkers', value, from: 'the --stage-one-workers option' }];
    expect(loadConfig({ env: { COSTLINE_STAGE_ONE_WORKERS: '4' }, overrides: override(1) }).pipeline.stageOneWorkers).toBe(1);
    expect(problems(() => loadConfig({ env: {}, overrides: override(-1) }))).toContain('the --stage-one-workers option');
  });

  it('says so when the config file is missing', () => {
    expect(problems(() => loadConfig({ file: '/nonexistent/costline.yaml', env: {} }))).toContain('does not exist');
  });
});
