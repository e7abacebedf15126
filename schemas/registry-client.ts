import type { SchemaSource } from './wire-format.js';

export type Compatibility = 'BACKWARD' | 'BACKWARD_TRANSITIVE' | 'FORWARD' | 'FULL' | 'NONE';

export interface RegistrySettings {
  url: string;
  username?: string;
  password?: string;
  timeoutMs?: number;
}

/** A refusal by the registry (bad schema, incompatible change), as opposed to an outage. */
export class SchemaRegistryError extends Error {
  constructor(message: string, readonly status: number, readonly errorCode?: number) {
    super(message);
    this.name = 'SchemaRegistryError';
  }
}

/** Registries point at the offending place by path (Apicurio: "at /fields/4/type"); name the field that path leads to. */
function nameFieldsInPaths(text: string, schema: Record<string, unknown>): string {
  const fields = Array.isArray(schema.fields) ? (schema.fields as { name?: unknown }[]) : [];
  return text.replace(/\/fields\/(\d+)[\w/]*/g, (path: string, index: string, at: number) => {
    const name = fields[Number(index)]?.name;
    const alreadyNamed = typeof name === 'string' && text.slice(0, at).endsWith(`${name} at `);
    return typeof name === 'string' && !alreadyNamed ? `${path} (field ${name})` : path;
  });
}

/**
 * The Confluent Schema Registry REST API, as far as costline uses it. Works against any
 * implementation of that API (Confluent, Apicurio's ccompat endpoint, Karapace, Redpanda).
 */
export class SchemaRegistryClient implements SchemaSource {
  private readonly base: string;
  private readonly headers: Record<string, string>;
  private readonly schemasById = new Map<number, Record<string, unknown>>();

  constructor(private readonly settings: RegistrySettings) {
    this.base = settings.url.replace(/\/+$/, '');
    this.headers = { 'content-type': 'application/vnd.schemaregistry.v1+json', accept: 'application/vnd.schemaregistry.v1+json, application/json' };
    if (settings.username) {
      this.headers.authorization = `Basic ${Buffer.from(`${settings.username}:${settings.password ?? ''}`).toString('base64')}`;
    }
  }

  private async call(method: string, path: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
    let response: Response;
    try {
      response = await fetch(`${this.base}${path}`, {
        method,
        headers: this.headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(this.settings.timeoutMs ?? 10_000),
      });
    } catch (error) {
      throw new Error(`schema registry at ${this.base} did not answer ${method} ${path}: ${(error as Error).message}. Check SCHEMA_REGISTRY_URL and that the registry runs (costline stack status).`);
    }
    const text = await response.text();
    let json: Record<string, unknown> = {};
    try {
      json = text ? (JSON.parse(text) as Record<string, unknown>) : {};
    } catch {
      json = { message: text.slice(0, 300) };
    }
    return { status: response.status, json };
  }

  async schemaById(id: number): Promise<Record<string, unknown> | undefined> {
    const cached = this.schemasById.get(id);
    if (cached) return cached;
    const { status, json } = await this.call('GET', `/schemas/ids/${id}`);
    if (status === 404) return undefined;
    if (status !== 200) throw new Error(`schema registry answered ${status} for schema id ${id}: ${String(json.message ?? '')}`);
    const schema = JSON.parse(String(json.schema)) as Record<string, unknown>;
    this.schemasById.set(id, schema);
    return schema;
  }

  async setCompatibility(subject: string, compatibility: Compatibility): Promise<void> {
    const { status, json } = await this.call('PUT', `/config/${encodeURIComponent(subject)}`, { compatibility });
    if (status !== 200) throw new SchemaRegistryError(`could not set ${compatibility} compatibility on subject ${subject}: ${status} ${String(json.message ?? '')}`, status, json.error_code as number | undefined);
  }

  async register(subject: string, schema: Record<string, unknown>): Promise<number> {
    const { status, json } = await this.call('POST', `/subjects/${encodeURIComponent(subject)}/versions`, { schema: JSON.stringify(schema), schemaType: 'AVRO' });
    if (status === 409) {
      throw new SchemaRegistryError(
        `the registry refused this version of ${subject}: it is not compatible with the version already registered, ` +
          'so a consumer upgraded to it could not read the records already on the topic. ' +
          // Registries answer with their exception class first (Apicurio: io.apicurio...RuleViolationException: ...); what follows says what is wrong.
          `The registry says: ${nameFieldsInPaths(String(json.message ?? 'incompatible schema').replace(/^[\w.$]+(Exception|Error):\s*/, ''), schema)}. ` +
          'Fix: make the change backward compatible: add a field only with a default (an optional one is "type": ["null", "<type>"], "default": null); ' +
          'do not retype a field (only the widenings Avro allows are safe: int→long→float→double, string↔bytes) or rename one without an alias; ' +
          'do not remove an enum symbol unless the enum has a default. A change that cannot be compatible needs a new topic (and so a new subject).',
        status,
        json.error_code as number | undefined,
      );
    }
    if (status === 422) throw new SchemaRegistryError(`the registry rejected the schema for ${subject} as invalid: ${String(json.message ?? '')}`, status, json.error_code as number | undefined);
    if (status !== 200 || typeof json.id !== 'number') throw new Error(`schema registry answered ${status} registering ${subject}: ${String(json.message ?? JSON.stringify(json))}`);
    this.schemasById.set(json.id, schema);
    return json.id;
  }

  /** Registers under subject with the given compatibility level set first (costline's subjects are BACKWARD). */
  async registerWithCompatibility(subject: string, schema: Record<string, unknown>, compatibility: Compatibility = 'BACKWARD'): Promise<number> {
    await this.setCompatibility(subject, compatibility);
    return this.register(subject, schema);
  }

  async isCompatible(subject: string, schema: Record<string, unknown>): Promise<boolean> {
    const { status, json } = await this.call('POST', `/compatibility/subjects/${encodeURIComponent(subject)}/versions/latest`, { schema: JSON.stringify(schema), schemaType: 'AVRO' });
    if (status === 404) return true;
    if (status !== 200) throw new Error(`schema registry answered ${status} checking compatibility of ${subject}: ${String(json.message ?? '')}`);
    return json.is_compatible === true;
  }
}
