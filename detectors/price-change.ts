import { z } from 'zod';
import type { Alert, Severity } from '../schemas/index.js';
import { AlertEpisode, type Verdict } from './alert-episode.js';
import { formatMoney, formatUtc } from './evidence.js';
import type { UnitPriceWindow } from './inputs.js';
import { closeSilentSeries, SeriesTable, type EpisodeSeries } from './series-table.js';

export const PRICE_CHANGE_RULE = 'price_change';
const METRIC = 'list_unit_price';

export const priceChangeSchema = z.strictObject({
  enabled: z.boolean().default(true),
  /**
   * A list unit price this far (relative, either way) from the SKU's established one is a new
   * price: providers move prices in steps of several percent, while one price over partial-hour
   * lines comes out the same to the last digit.
   */
  minRelativeChange: z.number().positive().max(10).default(0.05),
  /**
   * ...and it is notified when the money it moves per hour, at current usage and after discounts,
   * is at least this (currency units): a new price of a SKU hardly used becomes the baseline quietly.
   */
  minMoneyPerHour: z.number().min(0).default(1),
  /** Critical from this much more money per hour on (a decrease is info: nothing to do). */
  criticalMoneyPerHour: z.number().min(0).default(100),
  /**
   * Windows with billing at the new price (one per delivery of the export, hourly for most
   * providers) after which it is the SKU's established price and the episode resolves: a price
   * change is a one-off notice that the rate changed, not a condition that stays open.
   */
  establishAfterWindows: z.number().int().min(1).max(1000).default(3),
  /** A SKU without billed usage this long (event time) is forgotten and its open episode resolved. */
  staleAfterMs: z.number().int().min(60_000).default(7 * 24 * 3_600_000),
});

export type PriceChangeSettings = z.infer<typeof priceChangeSchema>;

interface PriceState extends EpisodeSeries {
  /** The SKU's established list unit price: the first one seen, or a new one once it held establishAfterWindows windows. */
  established: number | undefined;
  /** A price away from the established one, how many windows in a row it held, and the charge periods it applies from. */
  candidate: { price: number; windows: number; since: number } | undefined;
}

/**
 * A change of the list unit price of a SKU in a provider region (the price of its pricing unit,
 * ListCost over PricingQuantity of the usage billing lines): a step, not noise, so one window at
 * a price differing by more than minRelativeChange from the established one fires when it moves
 * enough money. The episode resolves when the price returns, or when the new price has held for
 * establishAfterWindows windows and becomes the established one. The list price is the same for
 * on-demand and commitment-covered usage of a SKU, so discounts coming and going change nothing
 * here. Constant state per SKU.
 */
export class PriceChangeDetector {
  private readonly skus: SeriesTable<PriceState>;

  constructor(private readonly settings: PriceChangeSettings) {
    this.skus = new SeriesTable(() => ({ lastWindowStart: Number.NEGATIVE_INFINITY, lastWindowEnd: Number.NEGATIVE_INFINITY, dimensions: {}, established: undefined, candidate: undefined, episode: new AlertEpisode({ fireAfter: 1, resolveAfter: 1 }) }));
  }

  get size(): number {
    return this.skus.size;
  }

  observe(window: UnitPriceWindow): Alert[] {
    const state = this.skus.admit(window.key, window.windowStart, window.windowEnd);
    if (!state || !(window.listUnitPrice > 0)) return [];
    state.dimensions = window.dimensions;
    const established = state.established;
    if (established === undefined) {
      state.established = window.listUnitPrice;
      return [];
    }
    const verdict = this.judge(state, established, window);
    const alert = state.episode.step({ rule: PRICE_CHANGE_RULE, key: window.key, dimensions: window.dimensions, windowStart: window.windowStart, windowEnd: window.windowEnd }, verdict);
    return alert ? [alert] : [];
  }

  advance(watermark: number): Alert[] {
    return closeSilentSeries(this.skus, watermark - this.settings.staleAfterMs, PRICE_CHANGE_RULE, () => METRIC);
  }

  private judge(state: PriceState, established: number, window: UnitPriceWindow): Verdict {
    const price = window.listUnitPrice;
    const verdict = { metric: METRIC, observed: price, baseline: established, score: price / established };
    if (!this.differs(price, established)) {
      state.candidate = undefined;
      return { ...verdict, breaching: false, severity: 'info', evidence: `${this.what(window)} back at ${formatPrice(established, window)}` };
    }
    const known = state.candidate && !this.differs(price, state.candidate.price) ? state.candidate : undefined;
    const candidate = { price, windows: (known?.windows ?? 0) + 1, since: known?.since ?? window.chargePeriodStart };
    if (candidate.windows >= this.settings.establishAfterWindows) {
      state.established = price;
      state.candidate = undefined;
      return {
        ...verdict,
        baseline: price,
        score: 1,
        breaching: false,
        severity: 'info',
        evidence: `${this.what(window)} is ${formatPrice(price, window)} for charge periods from ${formatUtc(candidate.since)} on (was ${formatPrice(established, window)}): the new price is established`,
      };
    }
    state.candidate = candidate;
    const moneyPerHour = (price - established) * window.quantityPerHour * window.effectiveShare;
    // Once notified, a window with less usage at the same new price does not end the episode.
    const breaching = state.episode.isOpen || Math.abs(moneyPerHour) >= this.settings.minMoneyPerHour;
    return { ...verdict, breaching, severity: this.severity(moneyPerHour), evidence: this.evidence(window, established, moneyPerHour) };
  }

  private differs(price: number, reference: number): boolean {
    return Math.abs(price / reference - 1) >= this.settings.minRelativeChange;
  }

  private severity(moneyPerHour: number): Severity {
    if (moneyPerHour <= 0) return 'info';
    return moneyPerHour >= this.settings.criticalMoneyPerHour ? 'critical' : 'warning';
  }

  private what(window: UnitPriceWindow): string {
    return `list price of ${window.product} in ${window.dimensions.region ?? ''}`.trimEnd();
  }

  /** "list price of p5.48xlarge in us-east-1 up ×1.30 (98.32 → 127.82 USD/hour), +$1,062.36/h at current usage (36 hours per hour, after discounts), for charge hours from ...". */
  private evidence(window: UnitPriceWindow, established: number, moneyPerHour: number): string {
    const price = window.listUnitPrice;
    const direction = price > established ? 'up' : 'down';
    const money = `${moneyPerHour >= 0 ? '+' : '−'}${formatMoney(Math.abs(moneyPerHour), window.currency)}/h`;
    const usage = `${formatQuantity(window.quantityPerHour)} ${unitName(window.pricingUnit, true)} per hour, after discounts`;
    return `${this.what(window)} ${direction} ×${(price / established).toFixed(2)} (${formatNumber(established)} → ${formatPrice(price, window)}), ${money} at current usage (${usage}), for charge periods from ${formatUtc(window.chargePeriodStart)}`;
  }
}

/** "127.82 USD/hour". */
function formatPrice(price: number, window: UnitPriceWindow): string {
  return `${formatNumber(price)} ${window.currency}/${unitName(window.pricingUnit, false)}`;
}

/** Four significant digits at least, two decimals at most for prices above one: 98.32, 0.09, 0.0004512. */
function formatNumber(value: number): string {
  if (value >= 1) return value.toFixed(2);
  return value.toPrecision(4).replace(/\.?0+$/, '');
}

function formatQuantity(value: number): string {
  return value >= 10 ? Math.round(value).toLocaleString('en-US') : value.toFixed(1);
}

/** FOCUS PricingUnit as words: "Hours" reads "hour" after a slash and "hours" after a quantity; other units as given. */
function unitName(unit: string, plural: boolean): string {
  const time = /^(second|minute|hour|day|month)s?$/i.exec(unit);
  if (time) return plural ? `${time[1]!.toLowerCase()}s` : time[1]!.toLowerCase();
  return unit || 'unit';
}
