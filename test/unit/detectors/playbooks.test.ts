import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { compileMatcher, parsePlaybook, PlaybookEngine, PlaybookError } from '../../../detectors/index.js';
import type { Alert } from '../../../schemas/index.js';
import { HOUR, MIN, T0 } from './builders.js';

const DEFAULT_PLAYBOOK = readFileSync(new URL('../../../deploy/playbooks/default.yaml', import.meta.url), 'utf8');

function alert(overrides: Partial<Alert> = {}): Alert {
  return {
    alert_id: 'a1',
    sequence: 0,
    rule: 'canary_regression',
    severity: 'critical',
    status: 'firing',
    key: 'llama-3.1-70b|v2|us-east-1|latency_p95_ms',
    dimensions: { model_name: 'llama-3.1-70b', model_version: 'v2', region: 'us-east-1', baseline_version: 'v1' },
    window_start: T0,
    window_end: T0 + MIN,
    episode_start: T0,
    metric: 'latency_p95_ms',
    observed: 1300,
    baseline: 800,
    score: 0.9,
    evidence: 'latency p95 of llama-3.1-70b v2 in us-east-1 is 1,300 ms against 800 ms for v1',
    ...overrides,
  };
}

function errorOf(text: string): PlaybookError {
  try {
    parsePlaybook(text, 'test.yaml');
  } catch (error) {
    if (error instanceof PlaybookError) return error;
    throw error;
  }
  throw new Error('expected the playbook to be rejected');
}

const minimal = (action: string, extra = '') => `name: test
limits: { max_actions: 3, per: 1h }
rules:
  - name: act
    when: { rule: "*" }
    actions:
      - action: ${action}
${extra}`;

describe('playbook parsing and validation', () => {
  it('accepts the shipped default playbook', () => {
    const playbook = parsePlaybook(DEFAULT_PLAYBOOK, 'deploy/playbooks/default.yaml');
    expect(playbook.name).toBe('default');
    expect(playbook.limits).toEqual({ maxActions: 20, perMs: HOUR });
    expect(playbook.rules.length).toBeGreaterThanOrEqual(5);
  });

  it('names the line and the fix of a misspelled action', () => {
    const error = errorOf(minimal('rollbak_model_version'));
    expect(error.issues).toEqual([{ line: 7, path: 'rules[0].actions[0].action', message: '"rollbak_model_version" is not an action; use one of shift_traffic, rollback_model_version, scale_down, scale_up, throttle_budget, open_review, page' }]);
    expect(error.message).toContain('test.yaml:7: rules[0].actions[0].action');
  });

  it('names the line of an unknown key, not just the object holding it', () => {
    const error = errorOf(minimal('page', '        cooldwn: 1h\n'));
    expect(error.issues).toEqual([{ line: 8, path: 'rules[0].actions[0]', message: 'unknown key "cooldwn": remove it or check its spelling' }]);
  });

  it('explains a bad duration, a bad regular expression and a missing section', () => {
    expect(errorOf('limits: { max_actions: 3, per: 1 hour }\nrules: []\n').issues.map((i) => [i.line, i.message])).toEqual([
      [1, 'write a duration like 90s, 15m, 1h or 1d (or milliseconds as a number)'],
      [2, 'list at least one rule under rules'],
    ]);
    expect(errorOf('rules:\n  - name: r\n    when:\n      dimensions: { region: "/[us/" }\n    actions: [{ action: page }]\n').issues[0]).toMatchObject({ line: 4, path: 'rules[0].when.dimensions.region[0]' });
    expect(errorOf('name: x\n').issues[0]).toMatchObject({ path: 'rules', message: 'is required (array)' });
  });

  it('reports YAML syntax errors with their line', () => {
    expect(errorOf('rules:\n  - name: r\n    when: {\n').issues[0]!.message).toMatch(/^YAML syntax:/);
  });

  it('matches exact values, globs and /regular expressions/', () => {
    expect(compileMatcher('us-east-1')('us-east-1')).toBe(true);
    expect(compileMatcher('us-east-1')('us-east-10')).toBe(false);
    expect(compileMatcher('us-*')('us-west-2')).toBe(true);
    expect(compileMatcher('us-*')('eu-west-1')).toBe(false);
    expect(compileMatcher('v?')('v2')).toBe(true);
    expect(compileMatcher('/^llama-3\\.\\d/')('llama-3.1-70b')).toBe(true);
    expect(compileMatcher('/^LLAMA/i')('llama-3.1-70b')).toBe(true);
    expect(compileMatcher('a.b')('axb')).toBe(false);
  });
});

describe('playbook engine', () => {
  const engine = () => new PlaybookEngine(parsePlaybook(DEFAULT_PLAYBOOK, 'default.yaml'));

  it('rolls back a version that regressed on latency, to the version it was compared with', () => {
    const [decision, ...rest] = engine().decide(alert());
    expect(rest).toEqual([]);
    expect(decision).toMatchObject({
      action: 'rollback_model_version',
      status: 'proposed',
      playbook: 'default',
      playbook_rule: 'roll back a regressed version',
      target_key: 'llama-3.1-70b|v2|us-east-1',
      target: { model_name: 'llama-3.1-70b', model_version: 'v2', region: 'us-east-1' },
      parameters: { to_version: 'v1' },
      dry_run: false,
      requires_approval: false,
      alert_id: 'a1',
      window_end: T0 + MIN,
      expires_at: T0 + MIN + HOUR,
    });
    expect(decision!.reason).toBe('latency p95 of llama-3.1-70b v2 in us-east-1 is 1,300 ms against 800 ms for v1; roll llama-3.1-70b|v2|us-east-1 back to v1');
  });

  it('asks for approval on a milder regression', () => {
    expect(engine().decide(alert({ severity: 'warning' }))[0]).toMatchObject({ playbook_rule: 'propose rolling back a degraded version', requires_approval: true });
  });

  it('opens a review, without paging, for a dimension past its cardinality limit', () => {
    const decisions = engine().decide(alert({ rule: 'cardinality_overflow', severity: 'warning', metric: 'overflowing_keys', key: 'cardinality|model_version', dimensions: { dimension: 'model_version' } }));
    expect(decisions.map((d) => [d.action, d.target_key, d.parameters])).toEqual([['open_review', 'model_version', { queue: 'costline-operators' }]]);
  });

  it('shifts traffic of a slow region to the fastest peer', () => {
    const decisions = engine().decide(alert({ rule: 'regional_latency', key: 'llama-3.1-70b|v2|eu-west-1', dimensions: { model_name: 'llama-3.1-70b', model_version: 'v2', region: 'eu-west-1', peer_region: 'us-west-2' } }));
    expect(decisions[0]).toMatchObject({ action: 'shift_traffic', parameters: { to_region: 'us-west-2', percent: '50' }, target_key: 'llama-3.1-70b|v2|eu-west-1' });
  });

  it('throttles a runaway experiment to its baseline spend and opens a review', () => {
    const decisions = engine().decide(alert({ rule: 'spend_spike', metric: 'cost_per_hour', key: 'ml|exp-42|prod', dimensions: { team: 'ml', experiment: 'exp-42', environment: 'prod' }, baseline: 24.3 }));
    expect(decisions.map((d) => [d.action, d.target_key, d.parameters])).toEqual([
      ['throttle_budget', 'ml|exp-42', { max_spend_per_hour: '24.3' }],
      ['open_review', 'ml|exp-42', { queue: 'finops' }],
    ]);
  });

  it('scales down idle GPUs and pages the owner of a burning budget', () => {
    const e = engine();
    expect(e.decide(alert({ rule: 'gpu_waste', key: 'prod-east|llama', dimensions: { cluster: 'prod-east' } }))[0]).toMatchObject({ action: 'scale_down', target_key: 'prod-east|llama' });
    expect(e.decide(alert({ rule: 'budget_burn', key: 'budget:ml monthly', dimensions: { team: 'ml', budget: 'ml monthly', period: 'month' } }))[0]).toMatchObject({ action: 'page', target_key: 'ml monthly', parameters: { to: 'ml' } });
  });

  it('does nothing about a resolved alert, or one no rule matches', () => {
    expect(engine().decide(alert({ status: 'resolved' }))).toEqual([]);
    expect(engine().decide(alert({ rule: 'something_else' }))).toEqual([]);
  });

  it('skips an action whose target dimensions the alert does not carry', () => {
    expect(engine().decide(alert({ rule: 'spend_spike', dimensions: { experiment: 'exp-42' } }))).toEqual([]);
  });

  it('suppresses the same action on the same target within its cooldown, and says so', () => {
    const e = engine();
    e.decide(alert());
    const again = e.decide(alert({ alert_id: 'a2', status: 'firing', window_start: T0 + 30 * MIN, window_end: T0 + 31 * MIN }));
    expect(again[0]).toMatchObject({ status: 'suppressed_cooldown' });
    expect(again[0]!.reason).toMatch(/suppressed: the same action on llama-3.1-70b\|v2\|us-east-1 was decided at 2026-11-02 00:01 UTC, within its 2 h cooldown$/);
    const later = e.decide(alert({ alert_id: 'a3', window_start: T0 + 3 * HOUR, window_end: T0 + 3 * HOUR + MIN }));
    expect(later[0]!.status).toBe('proposed');
  });

  it('gives a decision the same id on a replay, and a different one to each later decision of the episode', () => {
    const first = engine().decide(alert())[0]!;
    const replay = engine().decide(alert())[0]!;
    expect(replay.action_id).toBe(first.action_id);
    const e = engine();
    e.decide(alert());
    const update = e.decide(alert({ status: 'updated', sequence: 1, window_start: T0 + 5 * MIN, window_end: T0 + 6 * MIN }))[0]!;
    expect(update.status).toBe('suppressed_cooldown');
    expect(update.action_id).not.toBe(first.action_id);
  });

  it('marks every action of a dry-run playbook as dry run', () => {
    const e = new PlaybookEngine(parsePlaybook(DEFAULT_PLAYBOOK.replace('dry_run: false', 'dry_run: true'), 'default.yaml'));
    const decision = e.decide(alert())[0]!;
    expect(decision).toMatchObject({ dry_run: true, status: 'proposed' });
    expect(decision.reason).toMatch(/; would roll /);
  });

  it('never proposes more actions per period than the cap, whatever the alerts', () => {
    const playbook = parsePlaybook(minimal('page', '        target: [team]\n        cooldown: 0s\n'), 'cap.yaml');
    fc.assert(
      fc.property(fc.array(fc.record({ team: fc.constantFrom('a', 'b', 'c', 'd', 'e'), minute: fc.integer({ min: 0, max: 600 }) }), { maxLength: 80 }), (events) => {
        const e = new PlaybookEngine(playbook);
        const proposed: number[] = [];
        events.sort((x, y) => x.minute - y.minute);
        events.forEach(({ team, minute }, i) => {
          for (const d of e.decide(alert({ alert_id: `x${i}`, dimensions: { team }, window_start: T0 + minute * MIN, window_end: T0 + (minute + 1) * MIN }))) if (d.status === 'proposed') proposed.push(d.window_end);
        });
        for (const at of proposed) expect(proposed.filter((t) => t > at - HOUR && t <= at).length).toBeLessThanOrEqual(3);
        expect(e.stateSize).toBeLessThanOrEqual(3 + 3);
      }),
    );
  });

  it('suppresses by cap with the reason once the period holds max_actions', () => {
    const e = new PlaybookEngine(parsePlaybook(minimal('page', '        target: [team]\n'), 'cap.yaml'));
    const decisions = ['a', 'b', 'c', 'd'].map((team, i) => e.decide(alert({ alert_id: `x${i}`, dimensions: { team } }))[0]!);
    expect(decisions.map((d) => d.status)).toEqual(['proposed', 'proposed', 'proposed', 'suppressed_cap']);
    expect(decisions[3]!.reason).toMatch(/cap of 3 actions per 1 h is reached$/);
  });
});
