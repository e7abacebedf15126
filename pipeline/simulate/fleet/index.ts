// The simulated fleet, as a pure model: build it, resolve incidents against it, run it over simulated time.
export { REGIONS, MODELS, INSTANCE_TYPES, GPU_CLASSES, EXPERIMENTS, type RegionSpec, type ModelSpec, type InstanceType } from './catalog.js';
export { buildFleet, resolveRegions, regionalPrice, FleetOptionError, type Fleet, type FleetOptions, type GpuNode, type Deployment, type TrainingJob } from './fleet.js';
export { FleetSimulation, DEFAULT_GPU_SAMPLE_INTERVAL_MS, DEFAULT_QUEUE_SAMPLE_INTERVAL_MS, type SimulationOptions, type SimulationBatch, type SimulationStats } from './simulation.js';
export { parseTrace, TraceReplay, TraceFormatError, TRACE_COLUMNS, type RequestTrace, type TraceRequest } from './trace.js';
export { parseDurationMs, resolveInstant } from './time-spec.js';
export { loadFactor, localTime, utcOffsetMinutes } from './diurnal.js';
export { erlangC, steadyState, nextBacklog, meanWaitMs, queueDepth, type QueueState, type ReplicaSetCapacity } from './queueing.js';
export { canaryShare, canaryNodes, planRollout, type RolloutPlan } from './rollout.js';
export { BillingExport, computeLine, egressLine, costForSeconds, billedSeconds, HOUR_MS } from './billing.js';
export { capacityOf, meanTokens, rateAtUtilization, TARGET_PEAK_UTILIZATION } from './serving.js';
