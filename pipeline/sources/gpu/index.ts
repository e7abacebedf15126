import { contracts, type GpuSample } from '../../../schemas/index.js';
import { lateRefusal, type FamilySource } from '../source.js';
import { validateGpuSample } from '../validate.js';

/**
 * GPU samples (NVIDIA DCGM fields), keyed by resource id like the billing lines of the same
 * resource, so a resource's GPU-seconds and its charges meet in one task. Folds into the model,
 * owner and provider windows and the resource's usage; moves the telemetry watermark.
 */
export const gpuSource: FamilySource<GpuSample> = {
  name: 'gpu',
  contract: contracts.gpuSample,
  topic: (config) => config.topics.gpu,
  movesWatermark: true,
  recordKey: (event) => event.resource_id,
  validate: validateGpuSample,
  fold(event, { task, position, brokerTime, now, limits, config }) {
    const valid = validateGpuSample(event, brokerTime, limits);
    if (!valid.ok) return valid;
    return task.addGpuSample(event, position, now) === 'late' ? lateRefusal(event.event_time, config.windows.telemetry.allowedLatenessMs) : undefined;
  },
};
