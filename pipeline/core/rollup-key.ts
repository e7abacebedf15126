/**
 * The keys rollups are kept by. `model`: one model version in one region (performance and cost);
 * `owner`: team, experiment, environment (spend); `provider_region`: provider and region (spend).
 * The key id is the text form, also the Kafka key of the internal topic and of alerts.
 */
export type RollupKind = 'model' | 'owner' | 'provider_region';

export const DIMENSIONS: Record<RollupKind, readonly string[]> = {
  model: ['model_name', 'model_version', 'region'],
  owner: ['team', 'experiment', 'environment'],
  provider_region: ['provider', 'region'],
};

export interface RollupKey {
  kind: RollupKind;
  /** Values by dimension name, in DIMENSIONS order. */
  dimensions: Record<string, string>;
}

/** The id of a key: `kind|value|value|...`; dimension values never contain `|` after the cardinality guard. */
export function rollupKeyId(key: RollupKey): string {
  return [key.kind, ...DIMENSIONS[key.kind].map((d) => key.dimensions[d] ?? '')].join('|');
}

export function rollupKey(kind: RollupKind, values: readonly string[]): RollupKey {
  const dimensions: Record<string, string> = {};
  DIMENSIONS[kind].forEach((name, i) => {
    dimensions[name] = values[i] ?? '';
  });
  return { kind, dimensions };
}

/** The alert key of a model rollup is the familiar `model|version|region`. */
export function seriesKey(key: RollupKey): string {
  return DIMENSIONS[key.kind].map((d) => key.dimensions[d] ?? '').join('|');
}
