import { contracts, type TokenUsage } from '../../../schemas/index.js';
import { lateRefusal, type FamilySource } from '../source.js';
import { validateTokenUsage } from '../validate.js';

/**
 * Token usage, one record per request (OpenTelemetry GenAI semantic conventions), keyed by
 * endpoint. Folds into the model key's and the owner's windows; moves the telemetry watermark.
 */
export const tokensSource: FamilySource<TokenUsage> = {
  name: 'tokens',
  contract: contracts.tokenUsage,
  topic: (config) => config.topics.tokens,
  movesWatermark: true,
  recordKey: (event) => event.endpoint,
  validate: validateTokenUsage,
  fold(event, { task, position, brokerTime, now, limits, config }) {
    const valid = validateTokenUsage(event, brokerTime, limits);
    if (!valid.ok) return valid;
    return task.addTokenUsage(event, position, now) === 'late' ? lateRefusal(event.event_time, config.windows.telemetry.allowedLatenessMs) : undefined;
  },
};
