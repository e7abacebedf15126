import type { ActionStatus, ActionType, PlaybookAction } from '../../schemas/index.js';

/**
 * The decision a playbook publishes on costline.actions. The Avro record PlaybookAction
 * (schemas/avro/action.avsc) is the contract; this module only names what the engine produces.
 */
export type { PlaybookAction };

/** The actions a playbook may ask for ('unknown' exists only for older readers of newer records). */
export const ACTION_TYPES = ['shift_traffic', 'rollback_model_version', 'scale_down', 'scale_up', 'throttle_budget', 'open_review', 'page'] as const;
export type PlaybookActionType = (typeof ACTION_TYPES)[number];

/** The statuses the engine produces. */
export type DecisionStatus = Exclude<ActionStatus, 'unknown'>;

// Compile-time check that the list above is exactly the contract's actions: adding one to the
// Avro enum without teaching the playbook about it is a type error here.
type MissingFromList = Exclude<ActionType, PlaybookActionType | 'unknown'>;
const everyContractActionIsListed: MissingFromList extends never ? true : never = true;
void everyContractActionIsListed;

/** How each action reads in a reason sentence, from its target and parameters. */
export function describeAction(action: PlaybookActionType, target: string, parameters: Record<string, string>): string {
  const p = (name: string): string => parameters[name] ?? '';
  switch (action) {
    case 'shift_traffic':
      return `shift ${p('percent') ? `${p('percent')}% of ` : ''}traffic of ${target}${p('to_region') ? ` to ${p('to_region')}` : p('to_version') ? ` to version ${p('to_version')}` : ''}`;
    case 'rollback_model_version':
      return `roll ${target} back${p('to_version') ? ` to ${p('to_version')}` : ' to the previous version'}`;
    case 'scale_down':
      return `scale ${target} down${p('replicas') ? ` to ${p('replicas')} replicas` : p('gpus') ? ` by ${p('gpus')} GPUs` : ''}`;
    case 'scale_up':
      return `scale ${target} up${p('replicas') ? ` to ${p('replicas')} replicas` : ''}`;
    case 'throttle_budget':
      return `throttle the spend of ${target}${p('max_spend_per_hour') ? ` to ${p('max_spend_per_hour')}${p('currency') ? ` ${p('currency')}` : ''}/h` : ''}`;
    case 'open_review':
      return `open a review of ${target}${p('queue') ? ` in ${p('queue')}` : ''}`;
    case 'page':
      return `page ${p('to') || 'the owner'} about ${target}`;
  }
}
