import { z } from 'zod';

/**
 * Incidents as a person writes them, in a YAML or JSON file or as a named preset. Targets are
 * optional: left out, the simulator picks a sensible one from the fleet (the first region, the
 * model that is rolling out, the largest experiment). Times are offsets from the simulated start
 * ("45m"), shares of the run ("40%") or ISO instants.
 */

const instant = z.union([z.string().min(1), z.number()]);
const window = { start: instant, end: instant.optional() };
const positiveFactor = z.number().positive();

export const incidentSpecSchema = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('latency-regression'),
    ...window,
    model: z.string().min(1).optional(),
    /** Default: the version the model is rolling out. */
    version: z.string().min(1).optional(),
    /** Default: the first region; "*" for every region. */
    region: z.string().min(1).optional(),
    /** Decode time per token multiplies by this; prefill by half as much. */
    factor: positiveFactor.default(2.5),
  }),
  z.strictObject({
    kind: z.literal('runaway-experiment'),
    ...window,
    experiment: z.string().min(1).optional(),
    /** The job grows to this many times its nodes (extra nodes, billed and sampled). */
    scale: z.number().min(1.5).max(50).default(4),
  }),
  z.strictObject({
    kind: z.literal('price-change'),
    ...window,
    instanceType: z.string().min(1).optional(),
    region: z.string().min(1).optional(),
    /** New list price = old × factor, for every charge hour that starts inside the window. A decimal text keeps it exact. */
    factor: z.union([z.string().regex(/^\d+(\.\d+)?$/, 'a decimal such as "1.3"'), z.number().positive()]).default('1.3'),
  }),
  z.strictObject({
    kind: z.literal('egress-surge'),
    ...window,
    endpoint: z.string().min(1).optional(),
    region: z.string().min(1).optional(),
    /** Response bytes multiply by this (a client turned on verbose streaming, logprobs, ...). */
    factor: positiveFactor.default(8),
  }),
  z.strictObject({
    kind: z.literal('degraded-region'),
    ...window,
    region: z.string().min(1).optional(),
    /** Share of the region's serving nodes that fail (XID 79) for the duration. */
    capacityLoss: z.number().min(0).max(0.95).default(0.4),
    /** Share of requests that fail with a server error. */
    errorRate: z.number().min(0).max(1).default(0.05),
    /** Network round trip multiplies by this. */
    rttFactor: positiveFactor.default(4),
  }),
  z.strictObject({
    kind: z.literal('idle-gpus'),
    ...window,
    /** The training experiment whose nodes stop working but stay allocated. */
    experiment: z.string().min(1).optional(),
  }),
]);

export type IncidentSpec = z.infer<typeof incidentSpecSchema>;
export type IncidentKind = IncidentSpec['kind'];

export const incidentFileSchema = z.union([z.strictObject({ incidents: z.array(incidentSpecSchema).min(1) }), z.array(incidentSpecSchema).min(1)]);

/** Which detector family is expected to notice each kind. */
export const INCIDENT_FAMILY: Record<IncidentKind, 'latency-regression' | 'spend-spike' | 'degraded-region' | 'idle-gpus'> = {
  'latency-regression': 'latency-regression',
  'runaway-experiment': 'spend-spike',
  'price-change': 'spend-spike',
  'egress-surge': 'spend-spike',
  'degraded-region': 'degraded-region',
  'idle-gpus': 'idle-gpus',
};

/** The named presets `--incident <name>` accepts, as incident specs placed by share of the run. */
export const PRESETS: Record<string, IncidentSpec[]> = {
  'rollout-regression': [{ kind: 'latency-regression', start: '30%', end: '70%', factor: 2.5 }],
  'spend-spike': [
    { kind: 'runaway-experiment', start: '20%', end: '50%', scale: 4 },
    { kind: 'price-change', start: '45%', factor: '1.3' },
    { kind: 'egress-surge', start: '60%', end: '85%', factor: 8 },
  ],
  'runaway-experiment': [{ kind: 'runaway-experiment', start: '30%', end: '70%', scale: 4 }],
  'price-change': [{ kind: 'price-change', start: '40%', factor: '1.3' }],
  'egress-surge': [{ kind: 'egress-surge', start: '35%', end: '70%', factor: 8 }],
  'degraded-region': [{ kind: 'degraded-region', start: '40%', end: '65%', capacityLoss: 0.4, errorRate: 0.05, rttFactor: 4 }],
  'idle-gpus': [{ kind: 'idle-gpus', start: '35%', end: '80%' }],
};

export class IncidentSpecError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'IncidentSpecError';
  }
}

/** The specs of a parsed incident file (YAML or JSON, already parsed), or an error naming the entry, key and fix. */
export function incidentSpecsFrom(parsed: unknown, file: string): IncidentSpec[] {
  const result = incidentFileSchema.safeParse(parsed);
  if (result.success) return Array.isArray(result.data) ? result.data : result.data.incidents;
  // The union hides which branch was meant; re-check the entries one by one for a precise message.
  const entries = Array.isArray(parsed) ? parsed : (parsed as { incidents?: unknown } | null)?.incidents;
  if (!Array.isArray(entries) || entries.length === 0) {
    throw new IncidentSpecError(`incident file ${file} must hold a list of incidents (or "incidents:" with a list), each with a kind (${Object.keys(INCIDENT_FAMILY).join(', ')}) and a start.`);
  }
  const problems: string[] = [];
  entries.forEach((entry, index) => {
    const one = incidentSpecSchema.safeParse(entry);
    if (!one.success) for (const issue of one.error.issues) problems.push(`incident ${index + 1}${issue.path.length ? `, ${issue.path.join('.')}` : ''}: ${issue.message}`);
  });
  throw new IncidentSpecError(`incident file ${file} is not valid:\n${problems.map((p) => `  - ${p}`).join('\n')}\nFix the entries above (kinds: ${Object.keys(INCIDENT_FAMILY).join(', ')}).`);
}
