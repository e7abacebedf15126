import type { Alert } from '../schemas/index.js';
import { CANARY_REGRESSION_RULE } from './canary-regression.js';
import { CHANGE_POINT_RULE } from './change-point.js';
import { LATENCY_REGRESSION_RULE } from './latency-regression.js';
import { REGIONAL_LATENCY_RULE } from './regional-latency.js';

/**
 * How specific a cause each model-regression rule names. A rule absorbs later firings of rules of
 * the same or a lower rank on the same subject; a higher rank is still published, because it names
 * the cause (the new version, against its predecessor) and drives its own action (a rollback).
 * Rules not listed (spend, waste, queue saturation, budget) have remedies of their own and are
 * never absorbed.
 */
const CAUSE_RANK: Record<string, number> = {
  [CANARY_REGRESSION_RULE]: 2,
  [REGIONAL_LATENCY_RULE]: 1,
  [LATENCY_REGRESSION_RULE]: 1,
  [CHANGE_POINT_RULE]: 1,
};

/** Among rules of one rank firing in the same batch, which claims the subject first: the one whose evidence says more (a region to shift to, a trailing median). */
const PREFERENCE = [CANARY_REGRESSION_RULE, REGIONAL_LATENCY_RULE, LATENCY_REGRESSION_RULE, CHANGE_POINT_RULE];

/**
 * What an alert is about: the subjects it claims when published, and the ones under which it is
 * absorbed. Every model rule is about its version in its region; a regional degradation also
 * claims the region as a whole, so every other rule's firing on any version in that region is the
 * same cause while it is open.
 */
function subjectsOf(alert: Alert): { claims: string[]; coveredBy: string[] } {
  const { model_name: model, model_version: version, region } = alert.dimensions;
  if (model === undefined || version === undefined || region === undefined) return { claims: [], coveredBy: [] };
  const versionSubject = `version|${model}|${version}|${region}`;
  const regionSubject = `region|${region}`;
  return { claims: alert.rule === REGIONAL_LATENCY_RULE ? [versionSubject, regionSubject] : [versionSubject], coveredBy: [versionSubject, regionSubject] };
}

interface Published {
  rank: number;
  subjects: string[];
}

/**
 * One page per cause. A rollout regression moves latency p95, time to first token and the error
 * rate of one key at once, and the canary, change-point, latency and regional rules all see it;
 * published separately they would be four pages for one bad version. Each rule keeps its own
 * episode (one open episode per rule and key); this filter publishes an episode only when no open
 * published episode of an equal or higher rank already covers its subject, and drops every later
 * message of an episode it absorbed, so an absorbed episode is never seen at all. Deterministic
 * (alerts arrive in the set's order), and bounded by the open episodes.
 */
export class CauseGrouping {
  private readonly published = new Map<string, Published>();
  private readonly absorbed = new Set<string>();

  /** Open episodes tracked (published and absorbed). */
  get size(): number {
    return this.published.size + this.absorbed.size;
  }

  /** The alerts to publish, in their order; the more specific cause first when several fire together. */
  filter(alerts: Alert[]): Alert[] {
    const order = alerts.map((alert, index) => ({ alert, index, rank: CAUSE_RANK[alert.rule] ?? 0 }));
    // Within one batch the most specific cause claims the subject first.
    const claims = order
      .filter((o) => o.alert.status === 'firing' && o.rank > 0)
      .sort((a, b) => b.rank - a.rank || PREFERENCE.indexOf(a.alert.rule) - PREFERENCE.indexOf(b.alert.rule) || a.index - b.index);
    for (const { alert, rank } of claims) {
      const { claims: subjects, coveredBy } = subjectsOf(alert);
      if (coveredBy.length > 0 && this.covered(coveredBy, rank)) this.absorbed.add(alert.alert_id);
      else this.published.set(alert.alert_id, { rank, subjects });
    }
    const kept: Alert[] = [];
    for (const { alert } of order) {
      if (this.absorbed.has(alert.alert_id)) {
        if (alert.status === 'resolved') this.absorbed.delete(alert.alert_id);
        continue;
      }
      if (alert.status === 'resolved') this.published.delete(alert.alert_id);
      kept.push(alert);
    }
    return kept;
  }

  private covered(subjects: string[], rank: number): boolean {
    for (const open of this.published.values()) {
      if (open.rank >= rank && open.subjects.some((s) => subjects.includes(s))) return true;
    }
    return false;
  }
}
