import { z } from 'zod';
import type { Alert } from '../schemas/index.js';
import { BudgetBurnDetector, budgetBurnSchema, BUDGET_BURN_RULE } from './budget-burn.js';
import { CanaryRegressionDetector, canaryRegressionSchema, CANARY_REGRESSION_RULE } from './canary-regression.js';
import { CardinalityOverflowDetector, cardinalityOverflowSchema, CARDINALITY_OVERFLOW_RULE } from './cardinality-overflow.js';
import { CauseGrouping } from './cause-grouping.js';
import { ChangePointDetector, changePointDetectorSchema, CHANGE_POINT_RULE } from './change-point.js';
import type { DetectorInput, DetectorInputKind, ModelWindow } from './inputs.js';
import { LatencyRegressionDetector, LATENCY_REGRESSION_RULE, type LatencyRegressionSettings } from './latency-regression.js';
import { PriceChangeDetector, priceChangeSchema, PRICE_CHANGE_RULE } from './price-change.js';
import { QueueSaturationDetector, queueSaturationSchema, QUEUE_SATURATION_RULE } from './queue-saturation.js';
import { RegionalLatencyDetector, regionalLatencySchema, REGIONAL_LATENCY_RULE } from './regional-latency.js';
import { SpendSpikeDetector, spendSpikeSchema, SPEND_SPIKE_RULE } from './spend-spike.js';
import { GpuWasteDetector, gpuWasteSchema, GPU_WASTE_RULE } from './waste.js';

/** Every detector's settings, each with defaults; a config file says only what differs. */
export const detectorSetSchema = z.strictObject({
  canaryRegression: canaryRegressionSchema.default(canaryRegressionSchema.parse({})),
  changePoint: changePointDetectorSchema.default(changePointDetectorSchema.parse({})),
  regionalLatency: regionalLatencySchema.default(regionalLatencySchema.parse({})),
  spendSpike: spendSpikeSchema.default(spendSpikeSchema.parse({})),
  budgetBurn: budgetBurnSchema.default(budgetBurnSchema.parse({})),
  gpuWaste: gpuWasteSchema.default(gpuWasteSchema.parse({})),
  queueSaturation: queueSaturationSchema.default(queueSaturationSchema.parse({})),
  cardinalityOverflow: cardinalityOverflowSchema.default(cardinalityOverflowSchema.parse({})),
  priceChange: priceChangeSchema.default(priceChangeSchema.parse({})),
  /** One page per cause: a model-regression rule firing on a version (or region) another open alert already covers is not published (see cause-grouping.ts). */
  oneAlertPerCause: z.boolean().default(true),
});

export type DetectorSetSettings = z.infer<typeof detectorSetSchema>;

/** What the set asks of a detector: pure, one input at a time, time only from the data. */
interface Detector<I> {
  observe(input: I): Alert[];
  /** Event time reached `watermark`: release what waited for it, close what went silent. */
  advance(watermark: number): Alert[];
  readonly size: number;
}

type InputOf<K extends DetectorInputKind> = Extract<DetectorInput, { kind: K }>;

function isKind<K extends DetectorInputKind>(input: DetectorInput, kind: K): input is InputOf<K> {
  return input.kind === kind;
}

interface Member {
  rule: string;
  observe(input: DetectorInput): Alert[];
  advance(watermark: number): Alert[];
  readonly size: number;
}

/** The order alerts leave in, whatever order detectors produced them: by window, rule, key, then sequence. */
export function compareAlerts(a: Alert, b: Alert): number {
  return a.window_start - b.window_start || text(a.rule, b.rule) || text(a.key, b.key) || a.sequence - b.sequence;
}

function text(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Orders inputs for a warm start: by window end, then kind and key, as the pipeline would have emitted them. */
function compareInputs(a: DetectorInput, b: DetectorInput): number {
  return a.windowEnd - b.windowEnd || a.windowStart - b.windowStart || text(a.kind, b.kind) || text(a.key, b.key);
}

/**
 * The detectors of the product as one component: routes each rollup-shaped input to the detectors
 * that want it and returns their alerts in a deterministic order. Pure: the same inputs and
 * watermarks give the same alerts, byte for byte, on every replay.
 */
export class DetectorSet {
  private readonly members: Member[] = [];
  private readonly grouping: CauseGrouping | undefined;
  /** The highest watermark advanced to, and whether a window came in since (see advance). */
  private advancedTo = Number.NEGATIVE_INFINITY;
  private observedSinceAdvance = false;

  constructor(settings: DetectorSetSettings, options: { latencyRegression?: LatencyRegressionSettings } = {}) {
    this.grouping = settings.oneAlertPerCause ? new CauseGrouping() : undefined;
    const add = <K extends DetectorInputKind>(rule: string, kind: K, enabled: boolean, create: () => Detector<InputOf<K>>): void => {
      if (!enabled) return;
      const detector = create();
      this.members.push({
        rule,
        observe: (input) => (isKind(input, kind) ? detector.observe(input) : []),
        advance: (watermark) => detector.advance(watermark),
        get size() {
          return detector.size;
        },
      });
    };
    add(CANARY_REGRESSION_RULE, 'model', settings.canaryRegression.enabled, () => new CanaryRegressionDetector(settings.canaryRegression));
    add(CHANGE_POINT_RULE, 'model', settings.changePoint.enabled, () => new ChangePointDetector(settings.changePoint));
    add(REGIONAL_LATENCY_RULE, 'model', settings.regionalLatency.enabled, () => new RegionalLatencyDetector(settings.regionalLatency));
    const latency = options.latencyRegression;
    if (latency) add(LATENCY_REGRESSION_RULE, 'model', true, () => latencyRegressionMember(latency));
    add(SPEND_SPIKE_RULE, 'spend', settings.spendSpike.enabled, () => new SpendSpikeDetector(settings.spendSpike));
    add(BUDGET_BURN_RULE, 'spend', settings.budgetBurn.enabled && settings.budgetBurn.budgets.length > 0, () => new BudgetBurnDetector(settings.budgetBurn));
    add(GPU_WASTE_RULE, 'gpu_pool', settings.gpuWaste.enabled, () => new GpuWasteDetector(settings.gpuWaste));
    add(QUEUE_SATURATION_RULE, 'queue', settings.queueSaturation.enabled, () => new QueueSaturationDetector(settings.queueSaturation));
    add(PRICE_CHANGE_RULE, 'unit_price', settings.priceChange.enabled, () => new PriceChangeDetector(settings.priceChange));
    if (settings.cardinalityOverflow.enabled) {
      // Every kind of window carries the key's dimensions: this rule reads them all.
      const overflow = new CardinalityOverflowDetector(settings.cardinalityOverflow);
      this.members.push({
        rule: CARDINALITY_OVERFLOW_RULE,
        observe: (input) => overflow.observe(input),
        advance: (watermark) => overflow.advance(watermark),
        get size() {
          return overflow.size;
        },
      });
    }
  }

  /** The rules this set runs. */
  get rules(): string[] {
    return this.members.map((m) => m.rule);
  }

  /** One window of one key, in window order per key. */
  observe(input: DetectorInput): Alert[] {
    this.observedSinceAdvance = true;
    const alerts: Alert[] = [];
    for (const member of this.members) alerts.push(...member.observe(input));
    return this.publishable(alerts.sort(compareAlerts));
  }

  /**
   * The watermark (event time) moved: comparisons across keys waiting for it are made, and
   * series silent for longer than their detector's staleAfterMs are forgotten (their open episodes
   * resolved). Call it when the pipeline's watermark advances.
   *
   * A call that can change nothing returns at once: the runtime calls this after every fetched
   * batch, and each member's advance walks all its series. Nothing can change when no window came
   * in since the last call and the watermark has not passed the last call's: what was due then has
   * been released, and what is due now was due then.
   */
  advance(watermark: number): Alert[] {
    if (!this.observedSinceAdvance && watermark <= this.advancedTo) return [];
    this.observedSinceAdvance = false;
    this.advancedTo = Math.max(this.advancedTo, watermark);
    return this.publishable(this.members.flatMap((member) => member.advance(watermark)).sort(compareAlerts));
  }

  private publishable(alerts: Alert[]): Alert[] {
    return this.grouping && alerts.length > 0 ? this.grouping.filter(alerts) : alerts;
  }

  /**
   * Primes baselines from stored windows (the ClickHouse rollups) after a restart, so there is no
   * blind period: the same code runs over the history, alerts discarded. Episodes open at the end
   * of the history stay open, under the ids they were published with (ids are deterministic), so
   * the live stream continues them instead of paging again. Windows replayed later are ignored,
   * since detectors see each window once.
   */
  warmStart(history: Iterable<DetectorInput>): { windows: number; watermark: number } {
    const ordered = [...history].sort(compareInputs);
    let watermark = Number.NEGATIVE_INFINITY;
    for (const input of ordered) {
      this.observe(input);
      watermark = Math.max(watermark, input.windowEnd);
    }
    if (ordered.length > 0) this.advance(watermark);
    return { windows: ordered.length, watermark };
  }

  /** Series held per rule: the state the set carries (bounded per series by each detector's settings). */
  stateSize(): Record<string, number> {
    return Object.fromEntries(this.members.map((m) => [m.rule, m.size]));
  }
}

/** The first latency detector, fed from model windows like the others. */
function latencyRegressionMember(settings: LatencyRegressionSettings): Detector<ModelWindow> {
  const detector = new LatencyRegressionDetector(settings);
  return {
    observe: (window) => {
      const alert = detector.observe({ key: window.key, dimensions: window.dimensions, windowStart: window.windowStart, windowEnd: window.windowEnd, requests: window.requests, latencyP95Ms: window.latencyP95Ms });
      return alert ? [alert] : [];
    },
    advance: () => [],
    get size() {
      return detector.size;
    },
  };
}
