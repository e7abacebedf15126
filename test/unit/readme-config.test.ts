import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../pipeline/config/load.js';

describe('the README', () => {
  it('shows a configuration example the loader accepts as it is', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const example = /## Configuration[\s\S]*?```yaml\n([\s\S]*?)```/.exec(readme)?.[1];
    expect(example, 'README has a yaml block under ## Configuration').toBeTruthy();
    const file = join(mkdtempSync(join(tmpdir(), 'costline-readme-')), 'costline.yaml');
    writeFileSync(file, example!);
    const config = loadConfig({ file, env: {} });
    expect(config.kafka.brokers.length).toBeGreaterThan(0);
  });
});
