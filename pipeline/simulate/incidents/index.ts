// Incidents the simulator injects: specs (file or preset), bound to a fleet, their effects, and the ground truth.
export { incidentSpecSchema, incidentSpecsFrom, IncidentSpecError, INCIDENT_FAMILY, PRESETS, type IncidentSpec, type IncidentKind } from './incident-spec.js';
export { resolveIncidents, truthRecord, type ResolvedIncident, type TruthRecord } from './resolve.js';
export { IncidentEffects } from './effects.js';
