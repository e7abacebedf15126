import type { BillingCost } from '../../../schemas/index.js';

/**
 * The FOCUS 1.x columns the importer reads, by name. Required columns are the ones FOCUS makes
 * mandatory and non-null and that costline cannot do without (when, how much, in what, from
 * whom, for what); a file without one of them is refused as a whole. Every other column may be
 * absent from the export, and is then null on every line.
 */
export const REQUIRED_COLUMNS = [
  'ChargePeriodStart',
  'ChargePeriodEnd',
  'ChargeCategory',
  'BilledCost',
  'EffectiveCost',
  'BillingCurrency',
  'ProviderName',
  'BillingAccountId',
  'ServiceCategory',
  'ServiceName',
] as const;

export const OPTIONAL_COLUMNS = [
  'ChargeClass',
  'ChargeFrequency',
  'ChargeDescription',
  'ListCost',
  'ContractedCost',
  'ListUnitPrice',
  'ContractedUnitPrice',
  'PricingCategory',
  'PricingQuantity',
  'PricingUnit',
  'ConsumedQuantity',
  'ConsumedUnit',
  'PublisherName',
  'InvoiceIssuerName',
  'BillingAccountName',
  'SubAccountId',
  'SubAccountName',
  'BillingPeriodStart',
  'BillingPeriodEnd',
  'SkuId',
  'SkuPriceId',
  'ResourceId',
  'ResourceName',
  'ResourceType',
  'RegionId',
  'RegionName',
  'AvailabilityZone',
  'CommitmentDiscountId',
  'CommitmentDiscountName',
  'CommitmentDiscountCategory',
  'CommitmentDiscountStatus',
  'CommitmentDiscountType',
  'Tags',
] as const;

export type FocusColumn = (typeof REQUIRED_COLUMNS)[number] | (typeof OPTIONAL_COLUMNS)[number];

// Compile-time guard: every FOCUS field of the BillingCost contract is read from some column.
type UnreadField = Exclude<keyof BillingCost, 'event_time' | 'source' | FocusColumn>;
const everyFieldIsRead: [UnreadField] extends [never] ? true : UnreadField = true;
void everyFieldIsRead;

/** Where each FOCUS column sits in the export's rows (absent optional columns are not in the map), and how many fields a row has. */
export interface ColumnLayout {
  readonly positions: ReadonlyMap<FocusColumn, number>;
  readonly width: number;
}

/** A header the importer cannot work with; the whole file is refused. */
export class FocusHeaderError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FocusHeaderError';
  }
}

const KNOWN = new Map<string, FocusColumn>([...REQUIRED_COLUMNS, ...OPTIONAL_COLUMNS].map((name) => [name.toLowerCase(), name]));

/**
 * Finds the FOCUS columns in a header by name, ignoring case and surrounding spaces (exports
 * disagree on both). Columns costline does not know (provider x_ columns, later FOCUS versions'
 * additions, a row id) are ignored. Throws, naming every missing required column at once.
 */
export function resolveColumns(header: readonly string[]): ColumnLayout {
  const positions = new Map<FocusColumn, number>();
  header.forEach((raw, index) => {
    const column = KNOWN.get(raw.trim().toLowerCase());
    if (!column) return;
    const earlier = positions.get(column);
    if (earlier !== undefined) {
      throw new FocusHeaderError(`column ${column} appears twice in the header (columns ${earlier + 1} and ${index + 1}): keep one of them`);
    }
    positions.set(column, index);
  });
  const missing = REQUIRED_COLUMNS.filter((name) => !positions.has(name));
  if (missing.length > 0) {
    throw new FocusHeaderError(
      `the header lacks the required FOCUS column${missing.length > 1 ? 's' : ''} ${missing.join(', ')}. ` +
        `Is this a FOCUS 1.x cost and usage export? Its first row names ${header.length} column${header.length === 1 ? '' : 's'}: ${header.slice(0, 8).join(', ')}${header.length > 8 ? ', ...' : ''}`,
    );
  }
  return { positions, width: header.length };
}
