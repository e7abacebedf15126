import type { SchemaSource } from '../../schemas/index.js';

/**
 * Writer schemas by id, in memory: for the codec's own logic and for benches that keep the
 * registry out of the loop (the integration tests use the real registry). Ids count from 1 in
 * registration order; `byId` may be filled directly to stand for a schema another writer registered.
 */
export class SchemasInMemory implements SchemaSource {
  readonly byId = new Map<number, Record<string, unknown>>();
  async schemaById(id: number) {
    return this.byId.get(id);
  }
  async register(_subject: string, schema: Record<string, unknown>) {
    const id = this.byId.size + 1;
    this.byId.set(id, schema);
    return id;
  }
}
