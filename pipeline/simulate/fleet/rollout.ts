/**
 * A new model version rolling out as a canary: its traffic share steps up 5% → 10% → 25% → 50%
 * → 100% (the way Argo Rollouts or a KServe canary is usually configured), spread over the
 * simulated span so that a short run and a week-long one both see the whole rollout.
 */

export interface RolloutStep {
  /** Event time the step takes effect. */
  atMs: number;
  /** Share of the endpoint's traffic (and replicas) on the new version from then on. */
  share: number;
}

export interface RolloutPlan {
  model: string;
  fromVersion: string;
  toVersion: string;
  steps: RolloutStep[];
}

/** Where the steps fall, as fractions of the simulated span, and the share each sets. */
export const CANARY_STEPS: readonly { at: number; share: number }[] = [
  { at: 0.12, share: 0.05 },
  { at: 0.22, share: 0.1 },
  { at: 0.36, share: 0.25 },
  { at: 0.55, share: 0.5 },
  { at: 0.88, share: 1 },
];

/** Models start their rollouts a little apart, so that not every endpoint changes at once. */
export function planRollout(model: string, fromVersion: string, toVersion: string, startMs: number, spanMs: number, modelIndex: number): RolloutPlan {
  const stagger = 0.015 * modelIndex;
  return {
    model,
    fromVersion,
    toVersion,
    steps: CANARY_STEPS.map((s) => ({ atMs: startMs + Math.round(Math.min(0.97, s.at + stagger) * spanMs), share: s.share })),
  };
}

/** The new version's share at an instant: 0 before the first step. */
export function canaryShare(plan: RolloutPlan, eventTimeMs: number): number {
  let share = 0;
  for (const step of plan.steps) if (eventTimeMs >= step.atMs) share = step.share;
  return share;
}

/**
 * How many of an endpoint's nodes serve the new version at a share: at least one as soon as the
 * canary starts, at least one left on the old version until it reaches 100%.
 */
export function canaryNodes(totalNodes: number, share: number): number {
  if (share <= 0 || totalNodes === 0) return 0;
  if (share >= 1) return totalNodes;
  return Math.min(totalNodes - 1, Math.max(1, Math.round(totalNodes * share)));
}
