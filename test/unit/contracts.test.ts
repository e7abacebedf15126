import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { generateTypes, generatedFile, schemaFiles } from '../../schemas/codegen.js';
import { contracts } from '../../schemas/index.js';

describe('contracts', () => {
  it('keeps the TypeScript types in step with the Avro schemas (run `npm run schemas:generate` when this fails)', () => {
    expect(readFileSync(generatedFile, 'utf8')).toBe(generateTypes());
  });

  it('documents every field of every schema', () => {
    for (const file of schemaFiles()) {
      const schema = JSON.parse(readFileSync(new URL(`../../schemas/avro/${file}`, import.meta.url), 'utf8')) as { doc?: string; fields: { name: string; doc?: string }[] };
      expect(schema.doc, file).toBeTruthy();
      for (const field of schema.fields) expect(field.doc, `${file}: ${field.name}`).toBeTruthy();
    }
  });

  it('marks event time as timestamp-millis', () => {
    const field = (contracts.tokenUsage.schema.fields as { name: string; type: unknown }[]).find((f) => f.name === 'event_time');
    expect(field?.type).toEqual({ type: 'long', logicalType: 'timestamp-millis' });
  });
});
