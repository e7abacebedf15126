/**
 * Generates TypeScript types from the Avro schemas in schemas/avro, so the .avsc files stay the
 * single source of truth for event shapes. `npm run schemas:generate` rewrites types.generated.ts;
 * a unit test regenerates in memory and fails when the committed file has drifted.
 */
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

type AvroSchema = string | AvroSchema[] | { type: string | AvroSchema; [key: string]: unknown };

export const avroDir = join(dirname(fileURLToPath(import.meta.url)), 'avro');
export const generatedFile = join(dirname(fileURLToPath(import.meta.url)), 'types.generated.ts');

const PRIMITIVES: Record<string, string> = {
  null: 'null',
  boolean: 'boolean',
  int: 'number',
  long: 'number',
  float: 'number',
  double: 'number',
  bytes: 'Buffer',
  string: 'string',
};

function shortName(name: string): string {
  return name.split('.').pop()!;
}

function toTs(schema: AvroSchema, out: string[], seen: Set<string>): string {
  if (typeof schema === 'string') return PRIMITIVES[schema] ?? shortName(schema);
  if (Array.isArray(schema)) return schema.map((s) => toTs(s, out, seen)).join(' | ');
  const { type } = schema;
  if (typeof type !== 'string') return toTs(type, out, seen);
  switch (type) {
    case 'record': {
      const name = shortName(String(schema.name));
      if (!seen.has(name)) {
        seen.add(name);
        const fields = schema.fields as { name: string; type: AvroSchema; doc?: string; default?: unknown }[];
        const lines = fields.map((f) => {
          const doc = f.doc ? `  /** ${f.doc} */\n` : '';
          return `${doc}  ${f.name}: ${toTs(f.type, out, seen)};`;
        });
        const doc = schema.doc ? `/** ${String(schema.doc)} */\n` : '';
        out.push(`${doc}export interface ${name} {\n${lines.join('\n')}\n}\n`);
      }
      return name;
    }
    case 'enum': {
      const name = shortName(String(schema.name));
      if (!seen.has(name)) {
        seen.add(name);
        out.push(`export type ${name} = ${(schema.symbols as string[]).map((s) => `'${s}'`).join(' | ')};\n`);
      }
      return name;
    }
    case 'array':
      return `Array<${toTs(schema.items as AvroSchema, out, seen)}>`;
    case 'map':
      return `Record<string, ${toTs(schema.values as AvroSchema, out, seen)}>`;
    case 'fixed':
      return 'Buffer';
    default:
      return PRIMITIVES[type] ?? shortName(type);
  }
}

export function schemaFiles(): string[] {
  return readdirSync(avroDir).filter((f) => f.endsWith('.avsc')).sort();
}

export function generateTypes(): string {
  const out: string[] = [];
  const seen = new Set<string>();
  for (const file of schemaFiles()) toTs(JSON.parse(readFileSync(join(avroDir, file), 'utf8')) as AvroSchema, out, seen);
  return `// Generated from schemas/avro/*.avsc by schemas/codegen.ts. Do not edit: run \`npm run schemas:generate\`.\n\n${out.join('\n')}`;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  writeFileSync(generatedFile, generateTypes());
  console.log(`wrote ${generatedFile}`);
}
