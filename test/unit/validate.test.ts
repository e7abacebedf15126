import { describe, expect, it } from 'vitest';
import { validateTokenUsage } from '../../pipeline/sources/validate.js';
import { sampleTokenUsage } from '../support/contract-samples.js';

const at = sampleTokenUsage.event_time;

describe('token usage validation', () => {
  it('accepts a plausible request', () => {
    expect(validateTokenUsage(sampleTokenUsage, at)).toEqual({ ok: true });
  });

  it.each([
    ['negative tokens', { output_tokens: -1 }, 'out-of-bounds'],
    ['NaN latency', { latency_ms: Number.NaN }, 'out-of-bounds'],
    ['more cached than input tokens', { cached_input_tokens: 10_000 }, 'out-of-bounds'],
    ['an event a day in the future', { event_time: at + 86_400_000 }, 'future-timestamp'],
    ['an event a month old', { event_time: at - 30 * 86_400_000 }, 'stale-timestamp'],
    ['an oversized model version', { model_version: 'v'.repeat(10_000) }, 'oversized-field'],
    ['an empty region', { region: '' }, 'out-of-bounds'],
  ])('refuses %s', (_name, change, reason) => {
    expect(validateTokenUsage({ ...sampleTokenUsage, ...change }, at)).toMatchObject({ ok: false, reason });
  });
});
