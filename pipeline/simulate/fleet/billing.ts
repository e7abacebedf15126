import type { BillingCost } from '../../../schemas/index.js';
import { formatMoney, multiplyByRatio, moneyToDecimalBytes, parseMoney, type MoneyUnits } from '../../core/money.js';
import type { IncidentEffects } from '../incidents/effects.js';
import { EGRESS_PRICE_PER_GB, PROVIDER_BILLING, type Provider } from './catalog.js';
import type { Deployment, GpuNode } from './fleet.js';
import { hexId } from './streams.js';

/**
 * The provider's cost and usage export, FOCUS-shaped: one line per resource per charge hour
 * (compute per node, internet egress per endpoint load balancer), delivered late. A line for the
 * hour [H, H+1h) arrives at H+1h+delay, as exports do; its event_time is that arrival.
 */

export const HOUR_MS = 3_600_000;
const SECONDS_PER_HOUR = 3_600n;
const BYTES_PER_GB = 1_000_000_000n;

/**
 * Commitment discounts (savings plan, committed use discount, reservation) cover the always-on
 * production serving fleet; training and notebooks run on demand. Approximate one-year rates.
 */
export const COMMITMENT_DISCOUNT_PERCENT: Record<Provider, bigint> = { aws: 28n, gcp: 28n, azure: 30n };
const COMMITMENT_TYPE: Record<Provider, string> = { aws: 'Savings Plan', gcp: 'Committed Use Discount', azure: 'Reservation' };

function monthBounds(ms: number): { start: number; end: number } {
  const d = new Date(ms);
  return { start: Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1), end: Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1) };
}

/** Seconds of [from, to) the node existed (billed per second, as AWS, GCP and Azure bill Linux VMs). */
export function billedSeconds(node: GpuNode, fromMs: number, toMs: number): number {
  const from = Math.max(fromMs, node.launchedAtMs ?? Number.NEGATIVE_INFINITY);
  const to = Math.min(toMs, node.terminatedAtMs ?? Number.POSITIVE_INFINITY);
  return to > from ? Math.floor((to - from) / 1000) : 0;
}

/** Cost of `seconds` at an hourly price, exact to the 10^-12 unit (whole hours are exact, full stop). */
export function costForSeconds(hourlyPrice: MoneyUnits, seconds: number): MoneyUnits {
  return multiplyByRatio(hourlyPrice, BigInt(seconds), SECONDS_PER_HOUR, 'half-even');
}

function skuId(provider: Provider, product: string, region: string): string {
  const h = hexId(`${provider}|${product}|${region}`, 16).toUpperCase();
  return provider === 'gcp' ? `${h.slice(0, 4)}-${h.slice(4, 8)}-${h.slice(8, 12)}` : h.slice(0, 10);
}

function nodeTags(node: GpuNode): Record<string, string> {
  const a = node.assignment;
  const common = { 'kubernetes-cluster': node.cluster.name, environment: node.environment };
  if (a.workload === 'inference') return { ...common, team: node.team, model: a.deployment.model.name, endpoint: a.deployment.model.endpoint };
  if (a.workload === 'training') return { ...common, team: node.team, experiment: a.job.spec.experiment, job: a.job.spec.job };
  // The shared notebook pool carries no owner tag: its cost lands in the unattributed bucket.
  return common;
}

interface LineContext {
  chargeHourStartMs: number;
  arrivalMs: number;
  seed: number;
  /** 1-based row of the line in its export file (one file per provider and charge hour). */
  row: number;
}

function baseLine(provider: Provider, region: GpuNode['region'], context: LineContext): Omit<BillingCost, 'BilledCost' | 'EffectiveCost' | 'ListCost' | 'ContractedCost' | 'ServiceCategory' | 'ServiceName' | 'Tags'> {
  const billing = PROVIDER_BILLING[provider];
  const month = monthBounds(context.chargeHourStartMs);
  return {
    event_time: context.arrivalMs,
    ChargePeriodStart: context.chargeHourStartMs,
    ChargePeriodEnd: context.chargeHourStartMs + HOUR_MS,
    ChargeCategory: 'Usage',
    ChargeClass: null,
    ChargeFrequency: 'Usage-Based',
    ChargeDescription: null,
    BillingCurrency: 'USD',
    ListUnitPrice: null,
    ContractedUnitPrice: null,
    PricingCategory: 'Standard',
    PricingQuantity: null,
    PricingUnit: null,
    ConsumedQuantity: null,
    ConsumedUnit: null,
    ProviderName: billing.providerName,
    PublisherName: billing.providerName,
    InvoiceIssuerName: billing.providerName,
    BillingAccountId: billing.billingAccountId,
    BillingAccountName: 'costline-sim',
    SubAccountId: billing.subAccountId,
    SubAccountName: 'ml-platform-prod',
    BillingPeriodStart: month.start,
    BillingPeriodEnd: month.end,
    SkuId: null,
    SkuPriceId: null,
    ResourceId: null,
    ResourceName: null,
    ResourceType: null,
    RegionId: region.id,
    RegionName: region.displayName,
    AvailabilityZone: null,
    CommitmentDiscountId: null,
    CommitmentDiscountName: null,
    CommitmentDiscountCategory: null,
    CommitmentDiscountStatus: null,
    CommitmentDiscountType: null,
    source: { file: `simulate/seed-${context.seed}/focus-${provider}-${new Date(context.chargeHourStartMs).toISOString().slice(0, 13)}.csv`, row: context.row, line: context.row + 1 },
  };
}

/** The four cost columns: on-demand lines have no negotiated discount, so Billed = List = Contracted. */
function costColumns(listCost: MoneyUnits, effectiveCost: MoneyUnits): Pick<BillingCost, 'BilledCost' | 'EffectiveCost' | 'ListCost' | 'ContractedCost'> {
  const list = moneyToDecimalBytes(listCost);
  return { BilledCost: list, EffectiveCost: moneyToDecimalBytes(effectiveCost), ListCost: list, ContractedCost: list };
}

/** Unit price and quantities: consumed as priced (no block pricing), on-demand so list = contracted. */
function usageColumns(unitPrice: string, quantity: number, unit: string): Pick<BillingCost, 'ListUnitPrice' | 'ContractedUnitPrice' | 'PricingQuantity' | 'PricingUnit' | 'ConsumedQuantity' | 'ConsumedUnit'> {
  return { ListUnitPrice: Number(unitPrice), ContractedUnitPrice: Number(unitPrice), PricingQuantity: quantity, PricingUnit: unit, ConsumedQuantity: quantity, ConsumedUnit: unit };
}

/** The compute line of one node for one charge hour; undefined when the node did not exist in that hour. */
export function computeLine(node: GpuNode, hourlyPrice: MoneyUnits, context: LineContext): BillingCost | undefined {
  const seconds = billedSeconds(node, context.chargeHourStartMs, context.chargeHourStartMs + HOUR_MS);
  if (seconds === 0) return undefined;
  const provider = node.region.provider;
  const listCost = costForSeconds(hourlyPrice, seconds);
  const committed = node.assignment.workload === 'inference';
  const effectiveCost = committed ? multiplyByRatio(listCost, 100n - COMMITMENT_DISCOUNT_PERCENT[provider], 100n, 'half-even') : listCost;
  const sku = skuId(provider, node.instanceType.name, node.region.id);
  const price = formatMoney(hourlyPrice);
  return {
    ...baseLine(provider, node.region, context),
    ChargeDescription: `$${price} per On Demand Linux ${node.instanceType.name} Instance Hour`,
    ...costColumns(listCost, effectiveCost),
    ...usageColumns(price, seconds / 3600, 'Hours'),
    PricingCategory: committed ? 'Committed' : 'Standard',
    ServiceCategory: 'Compute',
    ServiceName: PROVIDER_BILLING[provider].computeService,
    SkuId: sku,
    SkuPriceId: `${sku}.ONDEMAND`,
    ResourceId: node.resourceId,
    ResourceName: node.nodeName,
    ResourceType: PROVIDER_BILLING[provider].computeResourceType,
    AvailabilityZone: node.region.zone,
    CommitmentDiscountId: committed ? `commitment-${provider}-${hexId(`${provider}|${node.region.id}|commitment`, 12)}` : null,
    CommitmentDiscountName: committed ? `gpu-serving-${node.region.id}-1yr` : null,
    CommitmentDiscountCategory: committed ? 'Spend' : null,
    CommitmentDiscountStatus: committed ? 'Used' : null,
    CommitmentDiscountType: committed ? COMMITMENT_TYPE[provider] : null,
    Tags: nodeTags(node),
  };
}

/** The internet egress line of one endpoint's load balancer for one charge hour. */
export function egressLine(deployment: Deployment, bytes: bigint, context: LineContext): BillingCost {
  const provider = deployment.region.provider;
  const pricePerGb = parseMoney(EGRESS_PRICE_PER_GB[provider]);
  // price per GB × bytes / 10^9: exact, since the price has at most 3 decimals and the scale is 12.
  const cost = multiplyByRatio(pricePerGb, bytes, BYTES_PER_GB, 'half-even');
  const sku = skuId(provider, 'egress-internet', deployment.region.id);
  return {
    ...baseLine(provider, deployment.region, context),
    ChargeDescription: `$${EGRESS_PRICE_PER_GB[provider]} per GB - data transfer out to the internet, ${deployment.region.id}`,
    ...costColumns(cost, cost),
    ...usageColumns(EGRESS_PRICE_PER_GB[provider], Number(bytes) / 1e9, 'GB'),
    ServiceCategory: 'Networking',
    ServiceName: PROVIDER_BILLING[provider].networkService,
    SkuId: sku,
    SkuPriceId: `${sku}.TIER1`,
    ResourceId: deployment.egressResourceId,
    ResourceName: `${deployment.model.endpoint}-${deployment.region.short}`,
    ResourceType: 'Load Balancer',
    Tags: { team: deployment.model.team, model: deployment.model.name, endpoint: deployment.model.endpoint, environment: 'prod', 'kubernetes-cluster': deployment.cluster.name },
  };
}

/**
 * The export pipeline: lines computed when their charge hour closes, held back until they are
 * due (charge hour end + delay), then released in arrival order.
 */
export class BillingExport {
  private readonly pending: BillingCost[] = [];
  private released = 0;

  constructor(
    private readonly nodes: readonly GpuNode[],
    private readonly deployments: readonly Deployment[],
    private readonly effects: IncidentEffects,
    private readonly delayMs: number,
    private readonly seed: number,
  ) {}

  /**
   * Computes the lines of the charge hour [hourStartMs, +1h) and queues them for arrival at its
   * end + delay. Rows are numbered per provider in a fixed order (egress, then the fleet's nodes,
   * then nodes that came up during the run), so a scale-out never renumbers anyone else's line.
   */
  closeHour(hourStartMs: number, egressBytes: (deployment: Deployment) => bigint): void {
    const arrivalMs = hourStartMs + HOUR_MS + this.delayMs;
    const rows = new Map<Provider, number>();
    const context = (provider: Provider) => {
      const row = (rows.get(provider) ?? 0) + 1;
      rows.set(provider, row);
      return { chargeHourStartMs: hourStartMs, arrivalMs, seed: this.seed, row };
    };
    for (const deployment of this.deployments) {
      const bytes = egressBytes(deployment);
      if (bytes > 0n) this.pending.push(egressLine(deployment, bytes, context(deployment.region.provider)));
    }
    for (const node of this.nodes) {
      if (billedSeconds(node, hourStartMs, hourStartMs + HOUR_MS) === 0) continue;
      const line = computeLine(node, this.effects.hourlyPrice(node, hourStartMs), context(node.region.provider));
      if (line) this.pending.push(line);
    }
  }

  /** Lines that have arrived by untilMs (inclusive of untilMs - 1), in arrival order. */
  due(untilMs: number): BillingCost[] {
    let count = 0;
    while (this.released + count < this.pending.length && this.pending[this.released + count]!.event_time < untilMs) count++;
    const out = this.pending.slice(this.released, this.released + count);
    this.released += count;
    if (this.released > 10_000) {
      this.pending.splice(0, this.released);
      this.released = 0;
    }
    return out;
  }

  /** Lines computed but not yet delivered: they would arrive after the run ends. */
  get inTransit(): number {
    return this.pending.length - this.released;
  }
}
