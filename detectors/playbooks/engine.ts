import { createHash } from 'node:crypto';
import type { Alert } from '../../schemas/index.js';
import { formatDuration, formatUtc } from '../evidence.js';
import { describeAction, type DecisionStatus, type PlaybookAction } from './action.js';
import type { Playbook, PlaybookActionSpec, PlaybookLimits, PlaybookRule } from './playbook.js';

/** The values a parameter template may name besides the alert's dimensions: `{observed}`, `{metric}`, ... */
function templateValue(alert: Alert, name: string): string | undefined {
  if (alert.dimensions[name] !== undefined) return alert.dimensions[name];
  switch (name) {
    case 'rule':
    case 'metric':
    case 'severity':
    case 'key':
    case 'alert_id':
      return alert[name];
    case 'observed':
    case 'baseline':
      return String(Math.round(alert[name] * 1000) / 1000);
    default:
      return undefined;
  }
}

/** Fills `{name}` placeholders; undefined when one names nothing the alert carries. */
function fillParameters(parameters: Record<string, string>, alert: Alert): Record<string, string> | undefined {
  const filled: Record<string, string> = {};
  for (const [name, template] of Object.entries(parameters)) {
    let missing = false;
    filled[name] = template.replace(/\{([A-Za-z0-9_]+)\}/g, (_, placeholder: string) => {
      const value = templateValue(alert, placeholder);
      if (value === undefined) missing = true;
      return value ?? '';
    });
    if (missing) return undefined;
  }
  return filled;
}

/** The target the action is about: the named alert dimensions, or the alert's key and dimensions. */
function resolveTarget(alert: Alert, names: string[] | undefined): { key: string; dimensions: Record<string, string> } | undefined {
  if (!names) return { key: alert.key, dimensions: { ...alert.dimensions } };
  const dimensions: Record<string, string> = {};
  for (const name of names) {
    const value = alert.dimensions[name];
    if (value === undefined) return undefined;
    dimensions[name] = value;
  }
  return { key: names.map((name) => dimensions[name]).join('|'), dimensions };
}

function hash(parts: Array<string | number>): string {
  return createHash('sha256').update(parts.join('\u0000')).digest('hex').slice(0, 32);
}

/** Times (event time) of proposed actions within the last period, ascending: at most maxActions of them. */
class ActionCap {
  private readonly times: number[] = [];

  constructor(readonly limits: PlaybookLimits) {}

  reached(now: number): boolean {
    while (this.times.length > 0 && this.times[0]! <= now - this.limits.perMs) this.times.shift();
    return this.times.length >= this.limits.maxActions;
  }

  record(now: number): void {
    this.times.push(now);
    this.times.sort((a, b) => a - b);
  }

  get size(): number {
    return this.times.length;
  }
}

interface Cooldown {
  at: number;
  until: number;
}

/**
 * Decides what a playbook does about each alert: the actions its matching rules ask for, each
 * either proposed or suppressed (by the cooldown of the same action on the same target, or by the
 * cap on actions per period) with the reason. Pure and deterministic: time is the alert's window
 * end, ids are hashes of the decision's data, so a replay decides the same and publishes the same
 * ids. State is bounded: cooldowns of recently proposed actions (at most the caps' worth) and the
 * caps' timestamps.
 */
export class PlaybookEngine {
  private readonly cooldowns = new Map<string, Cooldown>();
  private readonly cap: ActionCap;
  private readonly ruleCaps = new Map<string, ActionCap>();

  constructor(readonly playbook: Playbook) {
    this.cap = new ActionCap(playbook.limits);
    for (const rule of playbook.rules) if (rule.limits) this.ruleCaps.set(rule.name, new ActionCap(rule.limits));
  }

  /** Entries held: cooldowns and cap timestamps. */
  get stateSize(): number {
    let size = this.cooldowns.size + this.cap.size;
    for (const cap of this.ruleCaps.values()) size += cap.size;
    return size;
  }

  decide(alert: Alert): PlaybookAction[] {
    const now = alert.window_end;
    for (const [key, cooldown] of this.cooldowns) if (cooldown.until <= now) this.cooldowns.delete(key);
    const decisions: PlaybookAction[] = [];
    for (const rule of this.playbook.rules) {
      if (!rule.matches(alert)) continue;
      for (const spec of rule.actions) {
        const decision = this.decideAction(alert, rule, spec, now);
        if (decision) decisions.push(decision);
      }
    }
    return decisions;
  }

  private decideAction(alert: Alert, rule: PlaybookRule, spec: PlaybookActionSpec, now: number): PlaybookAction | undefined {
    const target = resolveTarget(alert, spec.target);
    const parameters = target && fillParameters(spec.parameters, alert);
    if (!target || !parameters) return undefined; // the alert lacks what this action needs: it does not apply
    const cooldownKey = `${spec.action}\u0000${target.key}`;
    const cooldown = this.cooldowns.get(cooldownKey);
    const ruleCap = this.ruleCaps.get(rule.name);
    let status: DecisionStatus = 'proposed';
    let why = '';
    if (cooldown && now < cooldown.until) {
      status = 'suppressed_cooldown';
      why = `suppressed: the same action on ${target.key} was decided at ${formatUtc(cooldown.at)}, within its ${formatDuration(cooldown.until - cooldown.at)} cooldown`;
    } else if (this.cap.reached(now)) {
      status = 'suppressed_cap';
      why = `suppressed: the playbook's cap of ${this.cap.limits.maxActions} actions per ${formatDuration(this.cap.limits.perMs)} is reached`;
    } else if (ruleCap?.reached(now)) {
      status = 'suppressed_cap';
      why = `suppressed: rule "${rule.name}" is capped at ${ruleCap.limits.maxActions} actions per ${formatDuration(ruleCap.limits.perMs)}`;
    }
    if (status === 'proposed') {
      this.cooldowns.set(cooldownKey, { at: now, until: now + spec.cooldownMs });
      this.cap.record(now);
      ruleCap?.record(now);
    }
    // The first decision of an episode (on its firing alert) is named by the episode alone, so a
    // replay and the original agree; any later one also by its window, so it is a new decision.
    const first = status === 'proposed' && alert.status === 'firing';
    const idParts = [this.playbook.name, rule.name, alert.alert_id, spec.action, target.key];
    const action_id = hash(first ? idParts : [...idParts, status, alert.window_start]);
    const todo = describeAction(spec.action, target.key, parameters);
    return {
      action_id,
      alert_id: alert.alert_id,
      rule: alert.rule,
      playbook: this.playbook.name,
      playbook_rule: rule.name,
      action: spec.action,
      status,
      target_key: target.key,
      target: target.dimensions,
      parameters,
      dry_run: spec.dryRun,
      requires_approval: spec.requiresApproval,
      reason: `${alert.evidence}; ${spec.dryRun ? 'would ' : ''}${todo}${spec.requiresApproval ? ' (after approval)' : ''}${why ? `; ${why}` : ''}`,
      window_start: alert.window_start,
      window_end: alert.window_end,
      expires_at: spec.expiresAfterMs === undefined ? null : now + spec.expiresAfterMs,
    };
  }
}
