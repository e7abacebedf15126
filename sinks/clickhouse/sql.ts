/**
 * ClickHouse 18.16 has no query parameters, so values that must enter SQL text go through this
 * one escaper, and identifiers through one validator. Nothing else builds SQL from values.
 */

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

/** A database, table or column name, checked against a strict pattern; throws on anything else. */
export function identifier(name: string): string {
  if (!IDENTIFIER.test(name)) throw new Error(`"${name}" is not a valid ClickHouse identifier here: use letters, digits and underscores, starting with a letter or underscore (at most 63 characters)`);
  return name;
}

/** `db.table`, both parts validated. */
export function qualified(database: string, table: string): string {
  return `${identifier(database)}.${identifier(table)}`;
}

const ESCAPES: Record<string, string> = {
  '\\': '\\\\',
  "'": "\\'",
  '\0': '\\0',
  '\b': '\\b',
  '\f': '\\f',
  '\r': '\\r',
  '\n': '\\n',
  '\t': '\\t',
};

/** A value as a ClickHouse SQL literal: strings quoted and escaped, numbers checked finite. */
export function literal(value: string | number | boolean | null): string {
  if (value === null) return 'NULL';
  if (typeof value === 'boolean') return value ? '1' : '0';
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new Error(`cannot write ${value} as a SQL literal`);
    return String(value);
  }
  return `'${value.replace(/[\\'\0\b\f\r\n\t]/g, (c) => ESCAPES[c]!)}'`;
}
