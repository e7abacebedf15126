import { describe, expect, it } from 'vitest';
import { identifier, literal } from '../../sinks/clickhouse/sql.js';

describe('the one SQL literal escaper', () => {
  it('quotes and escapes quotes, backslashes and control characters', () => {
    expect(literal("o'brien")).toBe("'o\\'brien'");
    expect(literal('a\\b')).toBe("'a\\\\b'");
    expect(literal('line\nbreak\ttab\0nul')).toBe("'line\\nbreak\\ttab\\0nul'");
  });

  it('keeps an injection attempt inside one string literal', () => {
    expect(literal("x'); DROP TABLE alerts; --")).toBe("'x\\'); DROP TABLE alerts; --'");
    expect(literal("\\'; SELECT 1; --")).toBe("'\\\\\\'; SELECT 1; --'");
  });

  it('writes numbers plainly and refuses NaN and infinities', () => {
    expect(literal(42)).toBe('42');
    expect(literal(-1.5)).toBe('-1.5');
    expect(() => literal(Number.NaN)).toThrow(/NaN/);
    expect(() => literal(Number.POSITIVE_INFINITY)).toThrow(/Infinity/);
  });

  it('writes NULL and booleans', () => {
    expect(literal(null)).toBe('NULL');
    expect(literal(true)).toBe('1');
  });
});

describe('identifier validation', () => {
  it('accepts plain names', () => {
    expect(identifier('token_rollup_1m')).toBe('token_rollup_1m');
  });

  it.each(['1table', 'a-b', 'a.b', 'a b', "a'b", 'a`b', '', 'x'.repeat(64)])('refuses %j', (name) => {
    expect(() => identifier(name)).toThrow(/not a valid ClickHouse identifier/);
  });
});
