/** Branded ids: a ModelVersion passed where a Region is expected is a compile error, not a wrong rollup. */
export type Brand<T, B extends string> = T & { readonly __brand: B };
export type ModelName = Brand<string, 'ModelName'>;
export type ModelVersion = Brand<string, 'ModelVersion'>;
export type Region = Brand<string, 'Region'>;

/** The rollup key of model performance and cost: one model version in one region. */
export interface ModelKey {
  modelName: ModelName;
  modelVersion: ModelVersion;
  region: Region;
}

export function modelKey(modelName: string, modelVersion: string, region: string): ModelKey {
  return { modelName: modelName as ModelName, modelVersion: modelVersion as ModelVersion, region: region as Region };
}

/** The key as text, also the Kafka message key of alerts about it: `model|version|region`. */
export function modelKeyId(key: ModelKey): string {
  return `${key.modelName}|${key.modelVersion}|${key.region}`;
}
