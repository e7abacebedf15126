import { isMap, isScalar, LineCounter, parseDocument, type Document } from 'yaml';
import { z } from 'zod';
import type { Alert, Severity } from '../../schemas/index.js';
import { ACTION_TYPES, type PlaybookActionType } from './action.js';
import { anyOf, patternError, type TextMatcher } from './matcher.js';

/**
 * A playbook: YAML that maps alert conditions to actions. Parsing is pure (text in, playbook out);
 * reading the file is the caller's business. Every validation error names the line and the fix.
 *
 *   name: default
 *   dry_run: false
 *   limits: { max_actions: 20, per: 1h }        # cap on actions per period, all rules together
 *   defaults: { cooldown: 30m, requires_approval: false, expires_after: 1h }
 *   rules:
 *     - name: roll back a regressed version
 *       when:
 *         rule: canary_regression               # exact, glob (canary_*) or /regex/
 *         metric: [latency_p95_ms, error_rate]
 *         min_severity: warning                 # or severity: [critical]
 *         status: [firing, updated]             # the default
 *         dimensions: { region: "us-*" }
 *       actions:
 *         - action: rollback_model_version
 *           target: [model_name, model_version, region]
 *           parameters: { to_version: "{baseline_version}" }
 *           cooldown: 1h
 */

const DURATION = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)$/;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

const duration = z
  .union([z.number().int().min(0), z.string().regex(DURATION, 'write a duration like 90s, 15m, 1h or 1d (or milliseconds as a number)')])
  .transform((value) => {
    if (typeof value === 'number') return value;
    const [, amount, unit] = DURATION.exec(value)!;
    return Math.round(Number(amount) * UNIT_MS[unit!]!);
  });

const pattern = z
  .string()
  .min(1, 'an empty pattern matches nothing; write a value, a glob like us-* or a /regex/')
  .superRefine((value, ctx) => {
    const error = patternError(value);
    if (error) ctx.addIssue({ code: 'custom', message: `"${value}" does not compile (${error}); fix the regular expression or drop the slashes to match it literally` });
  });

/** One value or a list of them; a single value reads as a list of one. */
const oneOrMany = <T extends z.ZodType>(item: T, empty: string) => z.preprocess((value) => (Array.isArray(value) ? value : [value]), z.array(item).min(1, empty));

const patterns = oneOrMany(pattern, 'list at least one value');

const severity = z.enum(['info', 'warning', 'critical'], { error: () => 'a severity is info, warning or critical' });
const status = z.enum(['firing', 'updated', 'resolved'], { error: () => 'a status is firing, updated or resolved' });

const conditionSchema = z.strictObject({
  rule: patterns.optional(),
  metric: patterns.optional(),
  key: patterns.optional(),
  severity: oneOrMany(severity, 'list at least one severity').optional(),
  min_severity: severity.optional(),
  status: oneOrMany(status, 'list at least one status').default(['firing', 'updated']),
  dimensions: z.record(z.string(), patterns).default({}),
});

const limitsSchema = z.strictObject({
  max_actions: z.number().int().min(1, 'max_actions is at least 1; to stop all actions set dry_run: true'),
  per: duration,
});

const actionSchema = z.strictObject({
  action: z.enum(ACTION_TYPES, { error: (issue) => `${JSON.stringify(issue.input)} is not an action; use one of ${ACTION_TYPES.join(', ')}` }),
  /** Alert dimensions that name the target; the alert's key and all its dimensions when absent. */
  target: z.array(z.string().min(1)).min(1, 'name at least one dimension, e.g. [model_name, model_version, region]').optional(),
  parameters: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()]).transform(String)).default({}),
  cooldown: duration.optional(),
  requires_approval: z.boolean().optional(),
  dry_run: z.boolean().optional(),
  expires_after: duration.optional(),
});

const ruleSchema = z.strictObject({
  name: z.string().min(1, 'give the rule a name; actions carry it as playbook_rule'),
  when: conditionSchema,
  actions: z.array(actionSchema).min(1, 'list at least one action under actions'),
  limits: limitsSchema.optional(),
});

const playbookSchema = z
  .strictObject({
    version: z.literal(1, { error: () => 'version is 1 (the only playbook format so far)' }).default(1),
    name: z.string().min(1).optional(),
    dry_run: z.boolean().default(false),
    limits: limitsSchema.default({ max_actions: 20, per: 3_600_000 }),
    defaults: z
      .strictObject({
        cooldown: duration.default(30 * 60_000),
        requires_approval: z.boolean().default(false),
        expires_after: duration.optional(),
      })
      .default({ cooldown: 30 * 60_000, requires_approval: false }),
    rules: z.array(ruleSchema).min(1, 'list at least one rule under rules'),
  })
  .superRefine((playbook, ctx) => {
    const seen = new Map<string, number>();
    playbook.rules.forEach((rule, i) => {
      if (seen.has(rule.name)) ctx.addIssue({ code: 'custom', path: ['rules', i, 'name'], message: `rule name "${rule.name}" is already used by rules[${seen.get(rule.name)}]; names must be unique` });
      seen.set(rule.name, i);
    });
  });

export interface PlaybookLimits {
  maxActions: number;
  perMs: number;
}

export interface PlaybookActionSpec {
  action: PlaybookActionType;
  target: string[] | undefined;
  parameters: Record<string, string>;
  cooldownMs: number;
  requiresApproval: boolean;
  dryRun: boolean;
  expiresAfterMs: number | undefined;
}

export interface PlaybookRule {
  name: string;
  matches(alert: Alert): boolean;
  actions: PlaybookActionSpec[];
  limits: PlaybookLimits | undefined;
}

export interface Playbook {
  name: string;
  dryRun: boolean;
  limits: PlaybookLimits;
  rules: PlaybookRule[];
}

export interface PlaybookIssue {
  /** 1-based line in the YAML text (0 when the text is empty). */
  line: number;
  /** Where in the playbook, e.g. rules[2].actions[0].action. */
  path: string;
  message: string;
}

export class PlaybookError extends Error {
  constructor(
    readonly source: string,
    readonly issues: PlaybookIssue[],
  ) {
    super(`${source} is not a valid playbook:\n${issues.map((i) => `  ${source}:${i.line}: ${i.path ? `${i.path}: ` : ''}${i.message}`).join('\n')}`);
    this.name = 'PlaybookError';
  }
}

const SEVERITY_RANK: Record<Severity, number> = { info: 0, warning: 1, critical: 2 };

function pathText(path: ReadonlyArray<PropertyKey>): string {
  return path.reduce<string>((text, part) => (typeof part === 'number' ? `${text}[${part}]` : text ? `${text}.${String(part)}` : String(part)), '');
}

/** The line of the node at `path`, or of its nearest ancestor present in the document. */
function lineOf(doc: Document, lines: LineCounter, path: ReadonlyArray<PropertyKey>, unknownKey?: string): number {
  for (let depth = path.length; depth >= 0; depth -= 1) {
    const node = doc.getIn(path.slice(0, depth) as Array<string | number>, true);
    if (unknownKey !== undefined && depth === path.length && isMap(node)) {
      const pair = node.items.find((item) => isScalar(item.key) && item.key.value === unknownKey);
      if (pair && isScalar(pair.key) && pair.key.range) return lines.linePos(pair.key.range[0]).line;
    }
    const range = (node as { range?: [number, number, number] } | undefined)?.range;
    if (range) return lines.linePos(range[0]).line;
  }
  return doc.contents?.range ? lines.linePos(doc.contents.range[0]).line : 1;
}

function describeIssue(issue: z.core.$ZodIssue): { message: string; unknownKeys?: string[] } {
  if (issue.code === 'unrecognized_keys') {
    return { message: `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}: remove it or check its spelling`, unknownKeys: issue.keys };
  }
  if (issue.code === 'invalid_type' && issue.input === undefined) return { message: `is required (${issue.expected})` };
  return { message: issue.message };
}

function compileRule(rule: z.output<typeof ruleSchema>, playbook: z.output<typeof playbookSchema>): PlaybookRule {
  const when = rule.when;
  const matchRule = when.rule ? anyOf(when.rule) : undefined;
  const matchMetric = when.metric ? anyOf(when.metric) : undefined;
  const matchKey = when.key ? anyOf(when.key) : undefined;
  const dimensionMatchers: Array<[string, TextMatcher]> = Object.entries(when.dimensions).map(([name, values]) => [name, anyOf(values)]);
  const severities = when.severity ? new Set<Severity>(when.severity) : undefined;
  const minimum = when.min_severity ? SEVERITY_RANK[when.min_severity] : undefined;
  const statuses = new Set<Alert['status']>(when.status);
  return {
    name: rule.name,
    matches: (alert) =>
      statuses.has(alert.status) &&
      (!matchRule || matchRule(alert.rule)) &&
      (!matchMetric || matchMetric(alert.metric)) &&
      (!matchKey || matchKey(alert.key)) &&
      (!severities || severities.has(alert.severity)) &&
      (minimum === undefined || SEVERITY_RANK[alert.severity] >= minimum) &&
      dimensionMatchers.every(([name, match]) => alert.dimensions[name] !== undefined && match(alert.dimensions[name]!)),
    actions: rule.actions.map((action) => ({
      action: action.action,
      target: action.target,
      parameters: action.parameters,
      cooldownMs: action.cooldown ?? playbook.defaults.cooldown,
      requiresApproval: action.requires_approval ?? playbook.defaults.requires_approval,
      dryRun: playbook.dry_run || action.dry_run === true,
      expiresAfterMs: action.expires_after ?? playbook.defaults.expires_after,
    })),
    limits: rule.limits ? { maxActions: rule.limits.max_actions, perMs: rule.limits.per } : undefined,
  };
}

/**
 * Parses and validates a playbook. `source` names it in errors and is its name when the YAML
 * gives none (the file name without extension). Throws PlaybookError listing every problem with
 * its line.
 */
export function parsePlaybook(text: string, source = 'playbook.yaml'): Playbook {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false });
  if (doc.errors.length > 0) {
    throw new PlaybookError(
      source,
      doc.errors.map((error) => ({ line: error.linePos?.[0]?.line ?? 1, path: '', message: `YAML syntax: ${error.message.split('\n')[0]}` })),
    );
  }
  const result = playbookSchema.safeParse(doc.toJS() ?? {});
  if (!result.success) {
    const issues = result.error.issues.map((issue) => {
      const { message, unknownKeys } = describeIssue(issue);
      return { line: lineOf(doc, lines, issue.path, unknownKeys?.[0]), path: pathText(issue.path), message };
    });
    throw new PlaybookError(source, issues.sort((a, b) => a.line - b.line));
  }
  const playbook = result.data;
  return {
    name: playbook.name ?? source.replace(/^.*[\\/]/, '').replace(/\.ya?ml$/i, ''),
    dryRun: playbook.dry_run,
    limits: { maxActions: playbook.limits.max_actions, perMs: playbook.limits.per },
    rules: playbook.rules.map((rule) => compileRule(rule, playbook)),
  };
}
