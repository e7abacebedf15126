import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  allocateExactly,
  convertScale,
  divideRounded,
  formatMoney,
  MoneyFormatError,
  moneyFromDecimalBytes,
  moneyToDecimalBytes,
  multiplyByRatio,
  parseMoney,
  parseMoneyDetailed,
  sumMoney,
  UNITS_PER_CURRENCY_UNIT,
} from '../../pipeline/core/money.js';

const LIMIT = 10n ** 38n - 1n;
const amount = fc.bigInt({ min: -LIMIT, max: LIMIT });
const weight = fc.oneof(
  fc.double({ min: 0, max: 1e12, noNaN: true, noDefaultInfinity: true }),
  fc.integer({ min: 0, max: 10 }),
  fc.bigInt({ min: 0n, max: 10n ** 20n }),
);
const weights = fc.array(weight, { minLength: 1, maxLength: 40 }).filter((ws) => ws.some((w) => Number(w) > 0));

describe('parseMoney', () => {
  it('reads plain decimals exactly into 10^-12 units', () => {
    expect(parseMoney('20.52022672899')).toBe(20_520_226_728_990n);
    expect(parseMoney('-2.61370000000')).toBe(-2_613_700_000_000n);
    expect(parseMoney('0.00000000053')).toBe(530n);
    expect(parseMoney('.5')).toBe(UNITS_PER_CURRENCY_UNIT / 2n);
    expect(parseMoney('7.')).toBe(7n * UNITS_PER_CURRENCY_UNIT);
  });

  it('reads scientific notation exactly, as FOCUS allows (35.2E-7)', () => {
    expect(parseMoney('35.2E-7')).toBe(parseMoney('0.00000352'));
    expect(parseMoney('1.5e3')).toBe(parseMoney('1500'));
    expect(parseMoney('-4E-12')).toBe(-4n);
  });

  it('adds 0.1 and 0.2 to exactly 0.3, unlike doubles', () => {
    expect(parseMoney('0.1') + parseMoney('0.2')).toBe(parseMoney('0.3'));
  });

  it('sums a million micro-dollar lines to exactly one dollar', () => {
    const line = parseMoney('0.000001');
    expect(sumMoney(Array.from({ length: 1_000_000 }, () => line))).toBe(parseMoney('1'));
  });

  it('rounds digits below 10^-12 half-even and says so', () => {
    expect(parseMoneyDetailed('0.0000000000005')).toEqual({ units: 0n, exact: false });
    expect(parseMoneyDetailed('0.0000000000015')).toEqual({ units: 2n, exact: false });
    expect(parseMoneyDetailed('1.2345678901234567E-7')).toEqual({ units: 123_457n, exact: false });
    expect(parseMoneyDetailed('1e-400')).toEqual({ units: 0n, exact: false });
    expect(parseMoneyDetailed('-1e-400', 'floor')).toEqual({ units: -1n, exact: false });
    expect(parseMoneyDetailed('0.000000000001000')).toEqual({ units: 1n, exact: true });
  });

  it('refuses text that is not a number, naming the value', () => {
    for (const text of ['', 'abc', '1,234.50', '$5', '1.2.3', 'NaN', 'Infinity', '1e', '--1', '0x10']) {
      expect(() => parseMoney(text), text).toThrow(MoneyFormatError);
    }
    expect(() => parseMoney('12,50')).toThrow(/"12,50" is not a decimal number/);
  });

  it('refuses amounts beyond decimal(38, 12)', () => {
    expect(() => parseMoney('1e26')).toThrow(/out of range/);
    expect(() => parseMoney('1e999999999')).toThrow(/out of range/);
    expect(parseMoney('99999999999999999999999999')).toBe(LIMIT - (10n ** 12n - 1n));
  });

  it('parses what formatMoney writes back to the same units, for any amount', () => {
    fc.assert(fc.property(amount, (units) => parseMoney(formatMoney(units)) === units));
  });

  it('reads the scientific form of any amount as its plain form', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: -(10n ** 30n), max: 10n ** 30n }), fc.integer({ min: -20, max: 20 }), (digits, exponent) => {
        const scientific = `${digits}E${exponent}`;
        const plain = exponent >= 0 ? `${digits}${'0'.repeat(exponent)}` : formatDigitsShifted(digits, -exponent);
        const inRange = (text: string) => {
          try {
            return parseMoney(text);
          } catch {
            return 'out of range';
          }
        };
        return inRange(scientific) === inRange(plain);
      }),
    );
  });
});

/** digits × 10^-places as a plain decimal text, built with string operations only. */
function formatDigitsShifted(digits: bigint, places: number): string {
  const negative = digits < 0n;
  const text = (negative ? -digits : digits).toString().padStart(places + 1, '0');
  return `${negative ? '-' : ''}${text.slice(0, text.length - places)}.${text.slice(text.length - places)}`;
}

describe('formatMoney', () => {
  it('writes the exact amount with trailing zeros dropped', () => {
    expect(formatMoney(20_520_226_728_990n)).toBe('20.52022672899');
    expect(formatMoney(-3n * UNITS_PER_CURRENCY_UNIT)).toBe('-3');
    expect(formatMoney(1n)).toBe('0.000000000001');
    expect(formatMoney(0n)).toBe('0');
  });

  it('rounds for display when asked for a number of digits', () => {
    expect(formatMoney(parseMoney('2.675'), 2)).toBe('2.68');
    expect(formatMoney(parseMoney('2.665'), 2)).toBe('2.66');
    expect(formatMoney(parseMoney('-0.004'), 2)).toBe('0.00');
    expect(formatMoney(parseMoney('-1.005'), 2, 'half-up')).toBe('-1.01');
  });
});

describe('divideRounded and multiplyByRatio', () => {
  it('stays within one unit of the exact quotient in every rounding mode', () => {
    fc.assert(
      fc.property(amount, fc.bigInt({ min: 1n, max: 10n ** 15n }), fc.constantFrom('half-even', 'half-up', 'floor', 'ceiling', 'truncate' as const), (n, d, rounding) => {
        const q = divideRounded(n, d, rounding);
        const error = n - q * d; // exact − rounded, times d
        return (error < 0n ? -error : error) < d;
      }),
    );
  });

  it('rounds exact halves to the even neighbour in half-even mode', () => {
    expect(divideRounded(5n, 2n, 'half-even')).toBe(2n);
    expect(divideRounded(7n, 2n, 'half-even')).toBe(4n);
    expect(divideRounded(-5n, 2n, 'half-even')).toBe(-2n);
    expect(divideRounded(-5n, 2n, 'half-up')).toBe(-3n);
  });

  it('floors toward minus infinity and ceils toward plus infinity for either sign', () => {
    expect(divideRounded(-7n, 2n, 'floor')).toBe(-4n);
    expect(divideRounded(-7n, 2n, 'ceiling')).toBe(-3n);
    expect(divideRounded(7n, -2n, 'floor')).toBe(-4n);
  });

  it('applies a ratio with one explicit rounding: a third of a dollar', () => {
    expect(multiplyByRatio(parseMoney('1'), 1n, 3n, 'half-even')).toBe(333_333_333_333n);
    expect(multiplyByRatio(parseMoney('1'), 2n, 3n, 'floor')).toBe(666_666_666_666n);
  });

  it('rescales to nano-units and back without loss when nothing is below a nano', () => {
    fc.assert(fc.property(fc.bigInt({ min: -(10n ** 20n), max: 10n ** 20n }), (nanos) => convertScale(nanos * 1000n, 9) === nanos));
    expect(convertScale(1_500n, 9)).toBe(2n);
    expect(convertScale(7n, 15)).toBe(7_000n);
  });
});

function sameParts(a: readonly bigint[], b: readonly bigint[]): boolean {
  return a.length === b.length && a.every((part, i) => part === b[i]);
}

describe('allocateExactly', () => {
  it('conserves the total: the parts sum to it exactly, for any amount and weights', () => {
    fc.assert(fc.property(amount, weights, (total, ws) => sumMoney(allocateExactly(total, ws)) === total));
  });

  it('gives no part a negative amount when the total is not negative', () => {
    fc.assert(fc.property(fc.bigInt({ min: 0n, max: LIMIT }), weights, (total, ws) => allocateExactly(total, ws).every((p) => p >= 0n)));
  });

  it('keeps every part within one unit of its exact proportional share', () => {
    fc.assert(
      fc.property(amount, fc.array(fc.bigInt({ min: 0n, max: 10n ** 12n }), { minLength: 1, maxLength: 30 }).filter((ws) => ws.some((w) => w > 0n)), (total, ws) => {
        const sum = sumMoney(ws);
        return allocateExactly(total, ws).every((part, i) => {
          const error = part * sum - total * ws[i]!; // (part − exact share) × sum
          return (error < 0n ? -error : error) < sum;
        });
      }),
    );
  });

  it('gives a zero weight a zero part', () => {
    fc.assert(
      fc.property(amount, weights, fc.nat(40), (total, ws, at) => {
        const withZero = [...ws.slice(0, at), 0, ...ws.slice(at)];
        return allocateExactly(total, withZero)[Math.min(at, ws.length)] === 0n;
      }),
    );
  });

  it('is deterministic: the same inputs give the same parts', () => {
    fc.assert(fc.property(amount, weights, (total, ws) => sameParts(allocateExactly(total, ws), allocateExactly(total, [...ws]))));
  });

  it('splits a negative total (a credit) like its absolute value with the signs flipped', () => {
    fc.assert(fc.property(fc.bigInt({ min: 0n, max: LIMIT }), weights, (total, ws) => sameParts(allocateExactly(-total, ws), allocateExactly(total, ws).map((p) => -p))));
  });

  it('gives the leftover units to the largest remainders, ties to the earlier part', () => {
    expect(allocateExactly(10n, [1, 1, 1])).toEqual([4n, 3n, 3n]);
    expect(allocateExactly(100n, [0.2, 0.5, 0.3])).toEqual([20n, 50n, 30n]);
    expect(allocateExactly(2n, [1, 3, 3])).toEqual([0n, 1n, 1n]);
  });

  it('uses double weights exactly rather than rounding them', () => {
    // The doubles 0.1 and 0.3 are not exactly 1:3; over 4·10^20 units the difference shows.
    const total = 4n * 10n ** 20n;
    const [a, b] = allocateExactly(total, [0.1, 0.3]);
    expect(a! + b!).toBe(total);
    expect(a).not.toBe(total / 4n);
    expect(allocateExactly(total, [1, 3])).toEqual([total / 4n, (3n * total) / 4n]);
  });

  it('refuses weights that are all zero, negative or not finite, naming the fix', () => {
    expect(() => allocateExactly(5n, [0, 0n])).toThrow(/unattributed bucket/);
    expect(() => allocateExactly(5n, [])).toThrow(/none is positive/);
    expect(() => allocateExactly(5n, [1, -1])).toThrow(/must be finite and not negative/);
    expect(() => allocateExactly(5n, [1, Number.NaN])).toThrow(/must be finite/);
  });
});

describe('Avro decimal bytes', () => {
  it('round-trips any amount of decimal(38, 12)', () => {
    fc.assert(fc.property(amount, (units) => moneyFromDecimalBytes(moneyToDecimalBytes(units)) === units));
  });

  it('writes the fewest two’s-complement bytes, as Java’s BigDecimal.unscaledValue().toByteArray() does', () => {
    expect([...moneyToDecimalBytes(0n)]).toEqual([0x00]);
    expect([...moneyToDecimalBytes(127n)]).toEqual([0x7f]);
    expect([...moneyToDecimalBytes(128n)]).toEqual([0x00, 0x80]);
    expect([...moneyToDecimalBytes(-1n)]).toEqual([0xff]);
    expect([...moneyToDecimalBytes(-128n)]).toEqual([0x80]);
    expect([...moneyToDecimalBytes(-129n)]).toEqual([0xff, 0x7f]);
    expect([...moneyToDecimalBytes(1n << 63n)]).toEqual([0x00, 0x80, 0, 0, 0, 0, 0, 0, 0]);
  });

  it('refuses an amount beyond 38 digits and an empty value', () => {
    expect(() => moneyToDecimalBytes(10n ** 38n)).toThrow(/does not fit decimal\(38, 12\)/);
    expect(() => moneyFromDecimalBytes(Buffer.alloc(0))).toThrow(/at least one byte/);
  });
});
