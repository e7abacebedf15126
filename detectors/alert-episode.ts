import { createHash } from 'node:crypto';
import type { Alert, Severity } from '../schemas/index.js';

/** What a detector decided about one window of one series. */
export interface Verdict {
  breaching: boolean;
  severity: Severity;
  metric: string;
  observed: number;
  baseline: number;
  score: number;
  /**
   * What a person reads. A function when it takes formatting: most windows of most series raise
   * nothing, and an alert is the only reader (a detector formatted it for every window before).
   */
  evidence: string | (() => string);
  /**
   * Not breaching, but past a lower onset level: if the next window breaches, the episode counts
   * from this one. A regression that starts mid-window shows half its size in its first window; the
   * confirmation still needs a full breach after it, so a single noisy window still does not page.
   */
  leaning?: boolean;
}

export interface EpisodePolicy {
  /** Consecutive breaching windows before an episode fires: one noisy window does not page. */
  fireAfter: number;
  /** Consecutive clean windows before it resolves: one good window does not end it. */
  resolveAfter: number;
}

export interface SeriesWindow {
  rule: string;
  key: string;
  dimensions: Record<string, string>;
  windowStart: number;
  windowEnd: number;
}

/** Deterministic: the same rule, key and first window give the same id on every replay. */
export function alertId(rule: string, key: string, episodeStart: number): string {
  return createHash('sha256').update(`${rule}\u0000${key}\u0000${episodeStart}`).digest('hex').slice(0, 24);
}

const SEVERITY_RANK: Record<Severity, number> = { info: 0, warning: 1, critical: 2 };

/**
 * The alert lifecycle of one rule on one key: at most one open episode; firing after `fireAfter`
 * breaching windows, `updated` when severity rises (or stays lower for `resolveAfter` windows),
 * `resolved` after `resolveAfter` clean ones.
 * Constant state per series.
 */
export class AlertEpisode {
  private breachStreak = 0;
  private cleanStreak = 0;
  private firstBreachStart = 0;
  /** The previous window when it was leaning (and no episode open): the onset a breach right after it counts from. */
  private leaning: { start: number; end: number } | undefined;
  private lowerSeverityStreak = 0;
  private open: { id: string; start: number; severity: Severity; sequence: number } | undefined;

  constructor(private readonly policy: EpisodePolicy) {}

  get isOpen(): boolean {
    return this.open !== undefined;
  }

  /** Feeds one window's verdict; returns the alert message this window causes, if any. */
  step(window: SeriesWindow, verdict: Verdict): Alert | undefined {
    if (verdict.breaching) {
      if (this.breachStreak === 0) {
        const onset = this.leaning?.end === window.windowStart ? this.leaning : undefined;
        this.firstBreachStart = onset?.start ?? window.windowStart;
        if (onset) this.breachStreak = 1;
      }
      this.leaning = undefined;
      this.breachStreak += 1;
      this.cleanStreak = 0;
      if (!this.open) {
        if (this.breachStreak < this.policy.fireAfter) return undefined;
        this.open = { id: alertId(window.rule, window.key, this.firstBreachStart), start: this.firstBreachStart, severity: verdict.severity, sequence: 0 };
        return this.message(window, verdict, 'firing');
      }
      // Escalate at once; step down only after `resolveAfter` windows at the lower severity, so
      // a value hovering at the threshold does not re-notify every window.
      const rank = SEVERITY_RANK[verdict.severity];
      const openRank = SEVERITY_RANK[this.open.severity];
      this.lowerSeverityStreak = rank < openRank ? this.lowerSeverityStreak + 1 : 0;
      if (rank > openRank || (rank < openRank && this.lowerSeverityStreak >= this.policy.resolveAfter)) {
        this.open.severity = verdict.severity;
        this.open.sequence += 1;
        this.lowerSeverityStreak = 0;
        return this.message(window, verdict, 'updated');
      }
      return undefined;
    }
    this.breachStreak = 0;
    this.leaning = verdict.leaning && !this.open ? { start: window.windowStart, end: window.windowEnd } : undefined;
    if (!this.open) return undefined;
    this.cleanStreak += 1;
    if (this.cleanStreak < this.policy.resolveAfter) return undefined;
    this.open.sequence += 1;
    const resolved = this.message(window, { ...verdict, severity: this.open.severity }, 'resolved');
    this.open = undefined;
    this.cleanStreak = 0;
    this.lowerSeverityStreak = 0;
    return resolved;
  }

  /**
   * Ends an open episode at once, for a series that stopped reporting (a version rolled back, a
   * pool released): without it the episode would stay open forever on a key that has no windows.
   */
  resolveNow(window: SeriesWindow, verdict: Verdict): Alert | undefined {
    this.breachStreak = 0;
    this.cleanStreak = 0;
    this.lowerSeverityStreak = 0;
    this.leaning = undefined;
    if (!this.open) return undefined;
    this.open.sequence += 1;
    const resolved = this.message(window, { ...verdict, severity: this.open.severity }, 'resolved');
    this.open = undefined;
    return resolved;
  }

  private message(window: SeriesWindow, verdict: Verdict, status: Alert['status']): Alert {
    const open = this.open!;
    return {
      alert_id: open.id,
      sequence: open.sequence,
      rule: window.rule,
      severity: verdict.severity,
      status,
      key: window.key,
      dimensions: window.dimensions,
      window_start: window.windowStart,
      window_end: window.windowEnd,
      episode_start: open.start,
      metric: verdict.metric,
      observed: verdict.observed,
      baseline: verdict.baseline,
      score: verdict.score,
      evidence: typeof verdict.evidence === 'string' ? verdict.evidence : verdict.evidence(),
    };
  }
}
