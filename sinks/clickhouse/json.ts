/**
 * Exact decimals in JSONEachRow. ClickHouse reads a Decimal column exactly from an unquoted JSON
 * number, but JSON.stringify can only write a float. A `DecimalText` value is written as a marked
 * string and unwrapped into a bare number after stringify (the marker cannot occur in user text:
 * it starts with a control character JSON escapes as \\u0001).
 */
const MARKER = '\u0001costline-decimal:';
const UNWRAP = /"\\u0001costline-decimal:(-?\d+(?:\.\d+)?)"/g;

export class DecimalText {
  constructor(readonly text: string) {
    if (!/^-?\d+(\.\d+)?$/.test(text)) throw new Error(`"${text}" is not a plain decimal number`);
  }

  toJSON(): string {
    return `${MARKER}${this.text}`;
  }
}

export function stringifyForClickHouse(value: unknown): string {
  return JSON.stringify(value).replace(UNWRAP, '$1');
}
