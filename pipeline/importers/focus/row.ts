import type { BillingCost, ChargeCategory } from '../../../schemas/index.js';
import { isDecimalText, MoneyFormatError, moneyToDecimalBytes, parseMoneyDetailed, type MoneyUnits } from '../../core/money.js';
import type { ColumnLayout, FocusColumn } from './columns.js';

/**
 * One row of a FOCUS export to one BillingCost, or the reasons it cannot be one. Pure: the same
 * fields give the same result. Exports as providers deliver them are lenient here (NULL written
 * as text, enum values in any casing, numbers in scientific notation, JSON tags) and strict where
 * a wrong guess would misstate money or time.
 */

/** Why a row was rejected; each rejected row carries one problem per faulty column. */
export type RejectReason =
  | 'malformed-csv'
  | 'field-count'
  | 'missing-value'
  | 'invalid-number'
  | 'invalid-timestamp'
  | 'invalid-period'
  | 'unknown-charge-category'
  | 'invalid-currency'
  | 'invalid-tags';

export interface RowProblem {
  reason: RejectReason;
  /** The FOCUS column at fault, when one is. */
  column?: FocusColumn;
  /** What is wrong, naming the value and what was expected. */
  detail: string;
}

/** Where the row sits and when costline learned of it. */
export interface RowOrigin {
  file: string;
  row: number;
  line: number;
  eventTime: number;
}

export type RowResult =
  | { ok: true; cost: BillingCost; billedCost: MoneyUnits; effectiveCost: MoneyUnits; roundedAmounts: number }
  | { ok: false; problems: RowProblem[] };

/** FOCUS says NULL; exports also write it as an empty field or in other casings. */
export function isNullText(text: string): boolean {
  const trimmed = text.trim();
  return trimmed === '' || trimmed.toLowerCase() === 'null';
}

const TIMESTAMP_PATTERN = /^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?)?\s*(Z|z|UTC|[+-]\d{2}(?::?\d{2})?)?$/;

/**
 * FOCUS date/times are ISO 8601 in UTC ('2024-09-01T00:00:00Z'); exports also write
 * '2024-09-01 00:00:00' (read as UTC, which FOCUS requires), fractions of a second, an explicit
 * offset, or a date alone (midnight UTC). Anything else, or an impossible date, is undefined.
 */
export function parseFocusTimestamp(text: string): number | undefined {
  const match = TIMESTAMP_PATTERN.exec(text.trim());
  if (!match) return undefined;
  const [, year, month, day, hour = '0', minute = '0', second = '0', fraction = '', zone = 'Z'] = match;
  const parts = [Number(year), Number(month) - 1, Number(day), Number(hour), Number(minute), Number(second)] as const;
  const utc = Date.UTC(...parts, Number(fraction.slice(0, 3).padEnd(3, '0')));
  const check = new Date(utc);
  // Date.UTC rolls 2024-02-30 over to March: a value that does not round-trip did not exist.
  if (check.getUTCFullYear() !== parts[0] || check.getUTCMonth() !== parts[1] || check.getUTCDate() !== parts[2] || check.getUTCHours() !== parts[3] || check.getUTCMinutes() !== parts[4] || check.getUTCSeconds() !== parts[5]) {
    return undefined;
  }
  const offset = /^([+-])(\d{2}):?(\d{2})?$/.exec(zone);
  if (!offset) return utc; // Z or UTC
  const offsetMinutes = Number(offset[2]) * 60 + Number(offset[3] ?? '0');
  if (offsetMinutes > 18 * 60) return undefined;
  return utc - (offset[1] === '-' ? -1 : 1) * offsetMinutes * 60_000;
}

/** Exports repeat the same few period bounds on thousands of rows; parsing each distinct text once saves most of the work. */
const recentTimestamps = new Map<string, number | undefined>();

function cachedTimestamp(text: string): number | undefined {
  if (recentTimestamps.has(text)) return recentTimestamps.get(text);
  const millis = parseFocusTimestamp(text);
  if (recentTimestamps.size >= 4096) recentTimestamps.clear();
  recentTimestamps.set(text, millis);
  return millis;
}

export type TagsResult = { ok: true; tags: Record<string, string> } | { ok: false; detail: string };

/**
 * FOCUS Tags: a JSON object whose values are strings, numbers, booleans or null. Flattened to
 * strings for the map<string,string> on the wire: numbers and booleans as their JSON text (a
 * key-only tag carries true), null values left out, nested values (which FOCUS forbids but
 * exports emit) kept as their JSON text rather than lost. A JSON object encoded twice (a JSON
 * string holding the object) is unwrapped once.
 */
export function parseTags(text: string): TagsResult {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
    if (typeof parsed === 'string') parsed = JSON.parse(parsed);
  } catch (error) {
    return { ok: false, detail: `Tags ${quote(text)} is not JSON (${(error as Error).message}); FOCUS Tags are a JSON object such as {"team":"ml"}` };
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    return { ok: false, detail: `Tags ${quote(text)} is JSON but not an object; FOCUS Tags are a JSON object such as {"team":"ml"}` };
  }
  const tags: Record<string, string> = {};
  for (const [key, value] of Object.entries(parsed)) {
    if (value === null) continue;
    tags[key] = typeof value === 'string' ? value : JSON.stringify(value);
  }
  return { ok: true, tags };
}

/**
 * The Kafka key of a billing line: its ResourceId, so that a resource's charges share a partition
 * with its GPU samples (keyed by resource_id). Lines without a resource get a stable key built
 * from what identifies their charge, so a re-import lands them on the same partitions again.
 */
export function billingRecordKey(cost: BillingCost): string {
  if (cost.ResourceId !== null) return cost.ResourceId;
  return ['no-resource', cost.ProviderName, cost.BillingAccountId, cost.SubAccountId ?? '', cost.ServiceName].join('|');
}

const CHARGE_CATEGORIES: readonly ChargeCategory[] = ['Usage', 'Purchase', 'Tax', 'Credit', 'Adjustment'];

/** FOCUS allowed values of the string columns whose casing and punctuation exports vary. */
const CANONICAL_VALUES: Partial<Record<FocusColumn, readonly string[]>> = {
  ChargeClass: ['Correction'],
  ChargeFrequency: ['One-Time', 'Recurring', 'Usage-Based'],
  PricingCategory: ['Standard', 'Dynamic', 'Committed', 'Other'],
  CommitmentDiscountCategory: ['Spend', 'Usage'],
  CommitmentDiscountStatus: ['Used', 'Unused'],
  ServiceCategory: [
    'AI and Machine Learning', 'Analytics', 'Business Applications', 'Compute', 'Databases', 'Developer Tools', 'Multicloud', 'Identity',
    'Integration', 'Internet of Things', 'Management and Governance', 'Media', 'Migration', 'Mobile', 'Networking', 'Security', 'Storage', 'Web', 'Other',
  ],
};

/** "Usage-based", "usage based" and "USAGE_BASED" all compare as "usagebased". */
function comparable(value: string): string {
  return value.toLowerCase().replace(/[^a-z0-9]/g, '');
}

const CANONICAL_LOOKUP = new Map<FocusColumn, Map<string, string>>(
  Object.entries(CANONICAL_VALUES).map(([column, values]) => [column as FocusColumn, new Map(values.map((v) => [comparable(v), v]))]),
);
const CHARGE_CATEGORY_LOOKUP = new Map(CHARGE_CATEGORIES.map((c) => [comparable(c), c]));

function quote(text: string): string {
  return JSON.stringify(text.length > 80 ? `${text.slice(0, 77)}...` : text);
}

/** Stands in for an amount that is missing or unreadable; the row is rejected, so it never leaves the importer. */
const MISSING_AMOUNT = { bytes: moneyToDecimalBytes(0n), units: 0n };

/** Reads one row's columns, collecting every problem instead of stopping at the first. */
class RowReader {
  readonly problems: RowProblem[] = [];
  roundedAmounts = 0;

  constructor(
    private readonly fields: readonly string[],
    private readonly layout: ColumnLayout,
  ) {}

  /** The trimmed text of a column, or null when the column is absent or the value is NULL. */
  text(column: FocusColumn): string | null {
    const position = this.layout.positions.get(column);
    if (position === undefined) return null;
    const value = this.fields[position] ?? '';
    return isNullText(value) ? null : value.trim();
  }

  requiredText(column: FocusColumn): string {
    const value = this.text(column);
    if (value === null) this.problems.push({ reason: 'missing-value', column, detail: `${column} is NULL or empty; FOCUS requires a value` });
    return value ?? '';
  }

  /** A string column with FOCUS allowed values: casing normalised when it matches one, kept as given otherwise. */
  canonical(value: string | null, column: FocusColumn): string | null {
    if (value === null) return null;
    return CANONICAL_LOOKUP.get(column)?.get(comparable(value)) ?? value;
  }

  timestamp(column: FocusColumn, required: true): number;
  timestamp(column: FocusColumn, required: false): number | null;
  timestamp(column: FocusColumn, required: boolean): number | null {
    const value = required ? this.requiredText(column) : this.text(column);
    if (value === null || value === '') return required ? 0 : null;
    const millis = cachedTimestamp(value);
    if (millis === undefined) {
      this.problems.push({ reason: 'invalid-timestamp', column, detail: `${column} ${quote(value)} is not a date/time; expected ISO 8601 in UTC such as 2024-09-01T00:00:00Z` });
      return required ? 0 : null;
    }
    return millis;
  }

  money(column: FocusColumn, required: true): { bytes: Buffer; units: MoneyUnits };
  money(column: FocusColumn, required: false): { bytes: Buffer; units: MoneyUnits } | null;
  money(column: FocusColumn, required: boolean): { bytes: Buffer; units: MoneyUnits } | null {
    const value = required ? this.requiredText(column) : this.text(column);
    if (value === null || value === '') return required ? MISSING_AMOUNT : null;
    try {
      const { units, exact } = parseMoneyDetailed(value);
      if (!exact) this.roundedAmounts += 1;
      return { bytes: moneyToDecimalBytes(units), units };
    } catch (error) {
      if (!(error instanceof MoneyFormatError)) throw error;
      this.problems.push({ reason: 'invalid-number', column, detail: `${column} ${error.message}` });
      return required ? MISSING_AMOUNT : null;
    }
  }

  /** A quantity or unit price: a double (measurements and rates are never summed into money). */
  quantity(column: FocusColumn): number | null {
    const value = this.text(column);
    if (value === null) return null;
    const number = isDecimalText(value) ? Number(value) : Number.NaN;
    if (!Number.isFinite(number)) {
      this.problems.push({ reason: 'invalid-number', column, detail: `${column} ${quote(value)} is not a number; expected plain or scientific notation such as 1.5 or 3.2E-7` });
      return null;
    }
    return number;
  }

  currency(): string {
    const value = this.requiredText('BillingCurrency');
    if (value === '') return value;
    const code = value.toUpperCase();
    if (!/^[A-Z]{3}$/.test(code)) this.problems.push({ reason: 'invalid-currency', column: 'BillingCurrency', detail: `BillingCurrency ${quote(value)} is not an ISO 4217 three-letter code such as USD or EUR` });
    return code;
  }

  chargeCategory(): ChargeCategory {
    const value = this.requiredText('ChargeCategory');
    if (value === '') return 'Usage';
    const category = CHARGE_CATEGORY_LOOKUP.get(comparable(value));
    if (category) return category;
    this.problems.push({ reason: 'unknown-charge-category', column: 'ChargeCategory', detail: `ChargeCategory ${quote(value)} is not one of ${CHARGE_CATEGORIES.join(', ')}` });
    return 'Usage';
  }

  tags(): Record<string, string> {
    const value = this.text('Tags');
    if (value === null) return {};
    const result = parseTags(value);
    if (result.ok) return result.tags;
    this.problems.push({ reason: 'invalid-tags', column: 'Tags', detail: result.detail });
    return {};
  }

  period(startColumn: FocusColumn, start: number | null, endColumn: FocusColumn, end: number | null): void {
    if (start === null || end === null || end >= start) return;
    // A period with an unreadable bound is already rejected for that; do not report it twice.
    if (this.problems.some((p) => p.column === startColumn || p.column === endColumn)) return;
    this.problems.push({
      reason: 'invalid-period',
      column: endColumn,
      detail: `${endColumn} ${new Date(end).toISOString()} is before ${startColumn} ${new Date(start).toISOString()}; the end of a period is exclusive and comes after its start`,
    });
  }
}

/** One FOCUS row (its fields in header order) as a BillingCost, or every reason it cannot be one. */
export function toBillingCost(fields: readonly string[], layout: ColumnLayout, origin: RowOrigin): RowResult {
  if (fields.length !== layout.width) {
    return { ok: false, problems: [{ reason: 'field-count', detail: `the row has ${fields.length} field${fields.length === 1 ? '' : 's'} but the header has ${layout.width}; a field with a comma or line break may lack its quotes` }] };
  }
  const read = new RowReader(fields, layout);
  const billed = read.money('BilledCost', true);
  const effective = read.money('EffectiveCost', true);
  const cost: BillingCost = {
    event_time: origin.eventTime,
    ChargePeriodStart: read.timestamp('ChargePeriodStart', true),
    ChargePeriodEnd: read.timestamp('ChargePeriodEnd', true),
    ChargeCategory: read.chargeCategory(),
    ChargeClass: read.canonical(read.text('ChargeClass'), 'ChargeClass'),
    ChargeFrequency: read.canonical(read.text('ChargeFrequency'), 'ChargeFrequency'),
    ChargeDescription: read.text('ChargeDescription'),
    BilledCost: billed.bytes,
    EffectiveCost: effective.bytes,
    ListCost: read.money('ListCost', false)?.bytes ?? null,
    ContractedCost: read.money('ContractedCost', false)?.bytes ?? null,
    BillingCurrency: read.currency(),
    ListUnitPrice: read.quantity('ListUnitPrice'),
    ContractedUnitPrice: read.quantity('ContractedUnitPrice'),
    PricingCategory: read.canonical(read.text('PricingCategory'), 'PricingCategory'),
    PricingQuantity: read.quantity('PricingQuantity'),
    PricingUnit: read.text('PricingUnit'),
    ConsumedQuantity: read.quantity('ConsumedQuantity'),
    ConsumedUnit: read.text('ConsumedUnit'),
    ProviderName: read.requiredText('ProviderName'),
    PublisherName: read.text('PublisherName'),
    InvoiceIssuerName: read.text('InvoiceIssuerName'),
    BillingAccountId: read.requiredText('BillingAccountId'),
    BillingAccountName: read.text('BillingAccountName'),
    SubAccountId: read.text('SubAccountId'),
    SubAccountName: read.text('SubAccountName'),
    BillingPeriodStart: read.timestamp('BillingPeriodStart', false),
    BillingPeriodEnd: read.timestamp('BillingPeriodEnd', false),
    ServiceCategory: read.canonical(read.requiredText('ServiceCategory'), 'ServiceCategory') ?? '',
    ServiceName: read.requiredText('ServiceName'),
    SkuId: read.text('SkuId'),
    SkuPriceId: read.text('SkuPriceId'),
    ResourceId: read.text('ResourceId'),
    ResourceName: read.text('ResourceName'),
    ResourceType: read.text('ResourceType'),
    RegionId: read.text('RegionId'),
    RegionName: read.text('RegionName'),
    AvailabilityZone: read.text('AvailabilityZone'),
    CommitmentDiscountId: read.text('CommitmentDiscountId'),
    CommitmentDiscountName: read.text('CommitmentDiscountName'),
    CommitmentDiscountCategory: read.canonical(read.text('CommitmentDiscountCategory'), 'CommitmentDiscountCategory'),
    CommitmentDiscountStatus: read.canonical(read.text('CommitmentDiscountStatus'), 'CommitmentDiscountStatus'),
    CommitmentDiscountType: read.text('CommitmentDiscountType'),
    Tags: read.tags(),
    source: { file: origin.file, row: origin.row, line: origin.line },
  };
  read.period('ChargePeriodStart', cost.ChargePeriodStart, 'ChargePeriodEnd', cost.ChargePeriodEnd);
  read.period('BillingPeriodStart', cost.BillingPeriodStart, 'BillingPeriodEnd', cost.BillingPeriodEnd);
  if (read.problems.length > 0) return { ok: false, problems: read.problems };
  return { ok: true, cost, billedCost: billed.units, effectiveCost: effective.units, roundedAmounts: read.roundedAmounts };
}
