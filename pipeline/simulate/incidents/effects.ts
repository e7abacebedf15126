import { multiplyByRatio, type MoneyUnits } from '../../core/money.js';
import type { GpuNode } from '../fleet/fleet.js';
import { PRICE_FACTOR_DENOMINATOR, type ResolvedIncident } from './resolve.js';

/**
 * What the incidents do to the fleet at an instant: the questions the simulation asks while it
 * generates events. Each answer depends only on the target and the time, so an incident changes
 * exactly its targets inside its window.
 */
export class IncidentEffects {
  private active: ResolvedIncident[] = [];

  constructor(readonly incidents: readonly ResolvedIncident[]) {}

  /** Selects the incidents in force at an instant; the per-event questions below look only at those. */
  at(eventTimeMs: number): this {
    this.active = this.incidents.filter((i) => eventTimeMs >= i.startMs && eventTimeMs < i.endMs);
    return this;
  }

  /** Multiplier on decode time per token of a model version in a region (a latency regression). */
  decodeFactor(model: string, version: string, region: string): number {
    let factor = 1;
    for (const i of this.active) if (i.kind === 'latency-regression' && i.model.name === model && i.version === version && i.regions.includes(region)) factor *= i.factor;
    return factor;
  }

  /** Server-error share and round-trip multiplier of a region, when it is degraded. */
  regionDegradation(region: string): { errorRate: number; rttFactor: number } | undefined {
    for (const i of this.active) if (i.kind === 'degraded-region' && i.region === region) return { errorRate: i.errorRate, rttFactor: i.rttFactor };
    return undefined;
  }

  /** The failure a node is in (XID 79 in a degraded region), with when it began. */
  failure(node: GpuNode): { sinceMs: number; xid: number } | undefined {
    for (const i of this.active) if (i.kind === 'degraded-region' && i.failedNodes.has(node)) return { sinceMs: i.startMs, xid: 79 };
    return undefined;
  }

  /** Multiplier on the response bytes of a deployment (an egress surge). */
  egressFactor(deploymentId: string): number {
    let factor = 1;
    for (const i of this.active) if (i.kind === 'egress-surge' && i.deployment.id === deploymentId) factor *= i.factor;
    return factor;
  }

  /** True when the node is allocated but its job has stopped working (idle GPUs). */
  isIdle(node: GpuNode): boolean {
    for (const i of this.active) if (i.kind === 'idle-gpus' && i.job.nodes.includes(node)) return true;
    return false;
  }

  /** Nodes that exist only during an incident (a runaway experiment's scale-out). */
  extraNodes(): GpuNode[] {
    return this.incidents.flatMap((i) => (i.kind === 'runaway-experiment' ? i.extraNodes : []));
  }

  /** The node's hourly price for the charge hour starting at chargeHourStartMs, price changes applied. */
  hourlyPrice(node: GpuNode, chargeHourStartMs: number): MoneyUnits {
    let price = node.hourlyPrice;
    for (const i of this.incidents) {
      if (i.kind === 'price-change' && chargeHourStartMs >= i.startMs && chargeHourStartMs < i.endMs && i.nodes.includes(node)) {
        price = multiplyByRatio(price, i.factorUnits, PRICE_FACTOR_DENOMINATOR, 'half-even');
      }
    }
    return price;
  }
}
