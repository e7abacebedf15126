import { contracts, type QueueSample } from '../../../schemas/index.js';
import { lateRefusal, type FamilySource } from '../source.js';
import { validateQueueSample } from '../validate.js';

/** Queue samples of inference servers (vLLM's series), keyed by endpoint. Folds into the model key's window; moves the telemetry watermark. */
export const queueSource: FamilySource<QueueSample> = {
  name: 'queue',
  contract: contracts.queueSample,
  topic: (config) => config.topics.queue,
  movesWatermark: true,
  recordKey: (event) => event.endpoint,
  validate: validateQueueSample,
  fold(event, { task, position, brokerTime, now, limits, config }) {
    const valid = validateQueueSample(event, brokerTime, limits);
    if (!valid.ok) return valid;
    return task.addQueueSample(event, position, now) === 'late' ? lateRefusal(event.event_time, config.windows.telemetry.allowedLatenessMs) : undefined;
  },
};
