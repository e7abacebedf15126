import { contracts, type BillingCost } from '../../../schemas/index.js';
import { lateRefusal, type FamilySource } from '../source.js';
import { validateBillingLine } from '../validate.js';

/**
 * FOCUS billing lines, keyed by ResourceId (co-partitioned with the resource's GPU samples). A
 * line's price goes into the window of its arrival for the price rule; its cost waits until the
 * usage of its charge period is final and is then allocated. Does not move the telemetry
 * watermark: billing lands hours after the charge, and its own lateness bound is
 * `windows.billingAllowedLatenessMs`.
 */
export const billingSource: FamilySource<BillingCost> = {
  name: 'billing',
  contract: contracts.billingCost,
  topic: (config) => config.topics.billing,
  movesWatermark: false,
  recordKey: (event) => event.ResourceId ?? `${event.ProviderName}|${event.ServiceName}`,
  validate: validateBillingLine,
  fold(event, context) {
    const valid = validateBillingLine(event, context.brokerTime, context.limits);
    if (!valid.ok) return valid;
    const lateness = context.config.windows.billingAllowedLatenessMs;
    if (event.ChargePeriodEnd + lateness < context.task.currentWatermark) return lateRefusal(event.ChargePeriodEnd, lateness);
    // Processed now, committable only once allocated (the billing queue holds the offset back) and
    // once the window its SKU's price went into has closed (the task's window store holds it).
    context.countPriceEvidence(context.task.addBillingLine(event, context.position));
    context.awaitAllocation(event);
    return undefined;
  },
};
