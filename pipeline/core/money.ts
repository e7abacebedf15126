/**
 * Money, exactly. An amount is a bigint count of 10^-12 units of its currency ("pico-units"):
 * billing exports carry up to 11 decimals (AWS rows with 10 and 11 fractional digits are common),
 * so twelve keep every real line exact, and bigint sums never round, however many lines are
 * added. On the wire the same integer travels as Avro `bytes` with logicalType decimal
 * (precision 38, scale 12): the standard, language-neutral form, and the only one that is
 * exact over the whole range (a long of pico-units would overflow at 9.2 million per line, and
 * the generated TypeScript type of a long is a lossy number).
 *
 * Pure: no I/O, no clock. The only rounding happens where a caller names a rounding mode.
 */

/** Decimal digits after the point that an amount keeps. */
export const MONEY_SCALE = 12;
/** Precision of the Avro decimal that carries an amount: |unscaled| < 10^38. */
export const MONEY_PRECISION = 38;
/** Units in one whole currency unit (1 USD = 10^12 units). */
export const UNITS_PER_CURRENCY_UNIT = 10n ** BigInt(MONEY_SCALE);

const PRECISION_LIMIT = 10n ** BigInt(MONEY_PRECISION);

/** An exact amount: an integer number of 10^-MONEY_SCALE currency units. */
export type MoneyUnits = bigint;

/**
 * How to round a value that falls between two units: half-even (banker's rounding, unbiased over
 * many lines), half-up (half away from zero), floor, ceiling, or truncate (toward zero).
 */
export type Rounding = 'half-even' | 'half-up' | 'floor' | 'ceiling' | 'truncate';

/** A decimal text that is not a number, or one too large for decimal(38, 12). */
export class MoneyFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MoneyFormatError';
  }
}

/** Plain (-12.50, .5, 7.) or scientific (35.2E-7) notation; no thousands separators, no currency symbols. */
const DECIMAL_PATTERN = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/;

/** True when text (spaces around it aside) is a number in plain or scientific notation that parseMoney accepts. */
export function isDecimalText(text: string): boolean {
  const match = DECIMAL_PATTERN.exec(text.trim());
  return match !== null && (match[2] ?? '').length + (match[3] ?? '').length > 0;
}

/** numerator / denominator as an integer, rounded as asked. The denominator must not be zero. */
export function divideRounded(numerator: bigint, denominator: bigint, rounding: Rounding): bigint {
  if (denominator === 0n) throw new RangeError(`cannot divide ${numerator} by zero`);
  if (denominator < 0n) return divideRounded(-numerator, -denominator, rounding);
  const quotient = numerator / denominator; // truncates toward zero
  const remainder = numerator % denominator; // has the sign of the numerator
  if (remainder === 0n) return quotient;
  const sign = numerator < 0n ? -1n : 1n;
  const twiceRemainder = (remainder < 0n ? -remainder : remainder) * 2n;
  switch (rounding) {
    case 'truncate':
      return quotient;
    case 'floor':
      return sign < 0n ? quotient - 1n : quotient;
    case 'ceiling':
      return sign > 0n ? quotient + 1n : quotient;
    case 'half-up':
      return twiceRemainder >= denominator ? quotient + sign : quotient;
    case 'half-even':
      if (twiceRemainder > denominator) return quotient + sign;
      if (twiceRemainder < denominator) return quotient;
      return quotient % 2n === 0n ? quotient : quotient + sign;
  }
}

export interface ParsedMoney {
  units: MoneyUnits;
  /** False when the text had digits below 10^-12 and was rounded. */
  exact: boolean;
}

/** Parses a decimal text exactly into units; digits below 10^-12 are rounded as asked (and reported). */
export function parseMoneyDetailed(text: string, rounding: Rounding = 'half-even'): ParsedMoney {
  const match = DECIMAL_PATTERN.exec(text.trim());
  const [, signText = '', whole = '', fraction = '', exponentText] = match ?? [];
  if (!match || whole.length + fraction.length === 0) {
    throw new MoneyFormatError(`"${text}" is not a decimal number: expected digits with an optional "." and exponent, e.g. 12.5, -0.0034 or 3.52E-6`);
  }
  // value = digits × 10^(exponent − fraction length); units = value × 10^MONEY_SCALE.
  const magnitude = BigInt(`${whole}${fraction}` || '0');
  const digits = signText === '-' ? -magnitude : magnitude;
  const digitCount = whole.length + fraction.length;
  const shift = Number(exponentText ?? '0') - fraction.length + MONEY_SCALE;
  let units: bigint;
  let exact = true;
  if (digits === 0n) units = 0n;
  else if (shift > MONEY_PRECISION) units = PRECISION_LIMIT; // rejected below, without building a huge power of ten
  else if (shift >= 0) units = digits * 10n ** BigInt(shift);
  else if (-shift > digitCount + 1) {
    // Far below one unit (|value| < 0.01 units): dividing by 10^(digitCount+1) instead keeps it in
    // (0, 0.1) units with the same sign, so every rounding mode gives the same answer.
    units = divideRounded(digits, 10n ** BigInt(digitCount + 1), rounding);
    exact = false;
  } else {
    const divisor = 10n ** BigInt(-shift);
    units = divideRounded(digits, divisor, rounding);
    exact = digits % divisor === 0n;
  }
  if (units >= PRECISION_LIMIT || units <= -PRECISION_LIMIT) {
    throw new MoneyFormatError(`"${text}" is out of range: amounts are decimal(${MONEY_PRECISION}, ${MONEY_SCALE}), at most 26 digits before the point`);
  }
  return { units, exact };
}

/** Parses a decimal text exactly into units (digits below 10^-12 rounded half-even unless told otherwise). */
export function parseMoney(text: string, rounding: Rounding = 'half-even'): MoneyUnits {
  return parseMoneyDetailed(text, rounding).units;
}

/**
 * Formats units as a plain decimal. Without fractionDigits the text is exact, trailing zeros
 * dropped ("20.52022672899", "-3", "0.000000000001"); with them it is rounded for display.
 */
export function formatMoney(units: MoneyUnits, fractionDigits?: number, rounding: Rounding = 'half-even'): string {
  let scale = MONEY_SCALE;
  let value = units;
  if (fractionDigits !== undefined) {
    if (!Number.isInteger(fractionDigits) || fractionDigits < 0 || fractionDigits > MONEY_SCALE) {
      throw new RangeError(`fractionDigits is ${fractionDigits}: use an integer from 0 to ${MONEY_SCALE}`);
    }
    value = divideRounded(units, 10n ** BigInt(MONEY_SCALE - fractionDigits), rounding);
    scale = fractionDigits;
  }
  const negative = value < 0n;
  const digits = (negative ? -value : value).toString().padStart(scale + 1, '0');
  const whole = digits.slice(0, digits.length - scale);
  let fraction = digits.slice(digits.length - scale);
  if (fractionDigits === undefined) fraction = fraction.replace(/0+$/, '');
  const text = fraction ? `${whole}.${fraction}` : whole;
  return negative && /[1-9]/.test(text) ? `-${text}` : text;
}

/** The exact sum of amounts. */
export function sumMoney(amounts: Iterable<MoneyUnits>): MoneyUnits {
  let total = 0n;
  for (const amount of amounts) total += amount;
  return total;
}

/** amount × numerator / denominator, rounded once, as asked: for a share, a rate or a rescale. */
export function multiplyByRatio(amount: MoneyUnits, numerator: bigint, denominator: bigint, rounding: Rounding): MoneyUnits {
  return divideRounded(amount * numerator, denominator, rounding);
}

/** Units at MONEY_SCALE expressed at another scale (9 for nano-units), rounded as asked when digits are lost. */
export function convertScale(units: MoneyUnits, toScale: number, rounding: Rounding = 'half-even'): bigint {
  if (!Number.isInteger(toScale) || toScale < 0) throw new RangeError(`toScale is ${toScale}: use a non-negative integer`);
  if (toScale >= MONEY_SCALE) return units * 10n ** BigInt(toScale - MONEY_SCALE);
  return divideRounded(units, 10n ** BigInt(MONEY_SCALE - toScale), rounding);
}

/** A finite double as the exact fraction it stores (numerator / 2^k): no decimal rounding involved. */
export function exactFraction(value: number): { numerator: bigint; denominator: bigint } {
  if (!Number.isFinite(value)) throw new RangeError(`${value} is not a finite number`);
  let scaled = value;
  let denominator = 1n;
  // Doubling a double is exact; a non-integer becomes an integer after at most 1074 doublings.
  while (!Number.isInteger(scaled)) {
    scaled *= 2;
    denominator *= 2n;
  }
  return { numerator: BigInt(scaled), denominator };
}

/**
 * Splits total over weights so that the parts sum to total exactly (largest-remainder method):
 * each part is its proportional share rounded down, and the units left over go one each to the
 * parts with the largest remainders, ties to the earlier part. Every part is within one unit of
 * its exact share, a zero weight gets zero, a negative total splits like its absolute value with
 * signs flipped, and the result depends only on the inputs. Weights may be doubles (GPU-seconds)
 * or bigints; they are used exactly, not rounded. Throws when no weight is positive: the caller
 * decides where an unallocatable amount goes (costline's explicit unattributed bucket).
 */
export function allocateExactly(total: MoneyUnits, weights: readonly (number | bigint)[]): MoneyUnits[] {
  const fractions = weights.map((weight, index) => {
    if (typeof weight === 'bigint') {
      if (weight < 0n) throw new RangeError(`weight ${index} is ${weight}: weights must not be negative`);
      return { numerator: weight, denominator: 1n };
    }
    if (!Number.isFinite(weight) || weight < 0) throw new RangeError(`weight ${index} is ${weight}: weights must be finite and not negative`);
    return exactFraction(weight);
  });
  // Every denominator is a power of two, so the largest is a common denominator.
  const common = fractions.reduce((max, f) => (f.denominator > max ? f.denominator : max), 1n);
  const integerWeights = fractions.map((f) => f.numerator * (common / f.denominator));
  const weightSum = sumMoney(integerWeights);
  if (weightSum === 0n) {
    throw new RangeError(`cannot allocate ${formatMoney(total)} over ${weights.length} weights: none is positive. Fix: send the amount to the unattributed bucket instead`);
  }
  const magnitude = total < 0n ? -total : total;
  const parts = integerWeights.map((w) => (magnitude * w) / weightSum);
  let leftover = magnitude - sumMoney(parts);
  if (leftover > 0n) {
    const byRemainder = integerWeights
      .map((w, index) => ({ index, remainder: (magnitude * w) % weightSum }))
      .sort((a, b) => (a.remainder === b.remainder ? a.index - b.index : a.remainder > b.remainder ? -1 : 1));
    // leftover < number of non-zero remainders, so only parts with a positive weight receive a unit.
    for (const { index } of byRemainder) {
      if (leftover === 0n) break;
      parts[index]! += 1n;
      leftover -= 1n;
    }
  }
  return total < 0n ? parts.map((p) => -p) : parts;
}

/** Units as the Avro decimal(38, 12) body: the unscaled integer, big-endian two's complement, fewest bytes. */
export function moneyToDecimalBytes(units: MoneyUnits): Buffer {
  if (units >= PRECISION_LIMIT || units <= -PRECISION_LIMIT) {
    throw new RangeError(`${formatMoney(units)} does not fit decimal(${MONEY_PRECISION}, ${MONEY_SCALE})`);
  }
  if (units >= -(1n << 63n) && units < 1n << 63n) {
    // Fast path for every realistic line (|amount| < 9.2 million): eight bytes, less the redundant sign bytes.
    const eight = Buffer.allocUnsafe(8);
    eight.writeBigInt64BE(units);
    let start = 0;
    while (start < 7 && ((eight[start] === 0x00 && eight[start + 1]! < 0x80) || (eight[start] === 0xff && eight[start + 1]! >= 0x80))) start += 1;
    return eight.subarray(start);
  }
  let length = 9;
  while (units < -(1n << BigInt(8 * length - 1)) || units >= 1n << BigInt(8 * length - 1)) length += 1;
  const unsigned = units < 0n ? (1n << BigInt(8 * length)) + units : units;
  return Buffer.from(unsigned.toString(16).padStart(2 * length, '0'), 'hex');
}

/** The Avro decimal(38, 12) body back to units: the one place the wire form of money is decoded. */
export function moneyFromDecimalBytes(bytes: Uint8Array): MoneyUnits {
  if (bytes.length === 0) throw new RangeError('an Avro decimal needs at least one byte; got an empty value');
  const unsigned = BigInt(`0x${Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex')}`);
  return bytes[0]! & 0x80 ? unsigned - (1n << BigInt(8 * bytes.length)) : unsigned;
}
