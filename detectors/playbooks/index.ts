// Playbooks: YAML conditions on alerts mapped to actions for automation, with cooldowns, caps and idempotent ids.
export { ACTION_TYPES, describeAction, type DecisionStatus, type PlaybookAction, type PlaybookActionType } from './action.js';
export { compileMatcher, type TextMatcher } from './matcher.js';
export { parsePlaybook, PlaybookError, type Playbook, type PlaybookActionSpec, type PlaybookIssue, type PlaybookLimits, type PlaybookRule } from './playbook.js';
export { PlaybookEngine } from './engine.js';
