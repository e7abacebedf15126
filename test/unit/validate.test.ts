import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { defaultLimits, tokenUsageProblem, validateTokenUsage } from '../../pipeline/sources/validate.js';
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

describe('token usage validation, fast path', () => {
  const limits = defaultLimits;
  // Values at and around every bound, so the property walks each edge rather than the middle.
  const text = fc.constantFrom('', 'a', 'é', 'x'.repeat(limits.maxStringLength), 'x'.repeat(limits.maxStringLength + 1));
  const count = (max: number) => fc.constantFrom(-1, 0, 1, max, max + 1, Number.NaN, Number.POSITIVE_INFINITY, -0.5);
  const edges = {
    request_id: text,
    model_name: text,
    model_version: text,
    region: text,
    endpoint: text,
    team: text,
    environment: text,
    operation_name: text,
    experiment: fc.option(text, { nil: null }),
    event_time: fc.constantFrom(at + limits.maxFutureSkewMs, at + limits.maxFutureSkewMs + 1, at - limits.maxAgeMs, at - limits.maxAgeMs - 1),
    input_tokens: count(limits.maxTokensPerRequest),
    output_tokens: count(limits.maxTokensPerRequest),
    cached_input_tokens: fc.constantFrom(0, 1, sampleTokenUsage.input_tokens, sampleTokenUsage.input_tokens + 1, -1, Number.NaN),
    latency_ms: count(limits.maxLatencyMs),
    time_to_first_token_ms: fc.option(count(limits.maxLatencyMs), { nil: null }),
    retry_count: count(1000),
    egress_bytes: count(Number.MAX_SAFE_INTEGER),
  };
  // A plausible request with one or two fields moved to an edge: with every field at an edge at
  // once, nearly every event is refused several times over and a wrong bound never shows.
  const event = fc
    .subarray(Object.keys(edges) as (keyof typeof edges)[], { minLength: 1, maxLength: 2 })
    .chain((fields) => fc.record(Object.fromEntries(fields.map((f) => [f, edges[f]])) as { [K in keyof typeof edges]?: typeof edges[K] }));

  it('gives exactly the verdict of the checks that explain a refusal, at every bound', () => {
    fc.assert(
      fc.property(event, (change) => {
        const e = { ...sampleTokenUsage, ...change };
        expect(validateTokenUsage(e, at, limits)).toEqual(tokenUsageProblem(e, at, limits));
      }),
      { numRuns: 5_000 },
    );
  });
});
