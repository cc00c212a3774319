import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { load } from 'js-yaml';
import { validateConfig } from '../src/core/config/load.js';
import { configSchema } from '../src/core/config/schema.js';
import { PROJECT_ROOT } from './helpers/ops.js';

const EXAMPLE = join(PROJECT_ROOT, 'ops.config.example.yaml');

/** Every key path of the schema, e.g. services.*.health.http.port. */
function schemaKeys(schema: unknown, prefix = ''): string[] {
  const def = (schema as { _def: Record<string, unknown> })._def;
  switch (def.typeName) {
    case 'ZodOptional':
    case 'ZodDefault':
    case 'ZodNullable':
      return schemaKeys(def.innerType, prefix);
    case 'ZodEffects':
      return schemaKeys(def.schema, prefix);
    case 'ZodArray':
      return schemaKeys(def.type, prefix);
    case 'ZodRecord':
      return schemaKeys(def.valueType, `${prefix}*.`);
    case 'ZodDiscriminatedUnion':
      return (def.options as unknown[]).flatMap((o) => schemaKeys(o, prefix));
    case 'ZodObject':
      return Object.entries((def.shape as () => Record<string, unknown>)()).flatMap(([key, value]) => [`${prefix}${key}`, ...schemaKeys(value, `${prefix}${key}.`)]);
    default:
      return [];
  }
}

/** Key paths present in the example, with record keys as *. */
function exampleKeys(value: unknown, prefix = '', records = new Set(['services', 'environments', 'gates', 'buildArgs', 'env'])): string[] {
  if (Array.isArray(value)) return value.flatMap((v) => exampleKeys(v, prefix, records));
  if (value === null || typeof value !== 'object') return [];
  return Object.entries(value).flatMap(([key, child]) => {
    const parent = prefix.slice(0, -1).split('.').pop()!;
    const name = records.has(parent) ? '*' : key;
    return [`${prefix}${name}`, ...exampleKeys(child, `${prefix}${name}.`, records)];
  });
}

describe('ops.config.example.yaml', () => {
  it('is valid', async () => {
    await validateConfig(load(readFileSync(EXAMPLE, 'utf8')) as Record<string, unknown>, [EXAMPLE]);
  });

  it('documents every key the code reads', () => {
    const documented = new Set(exampleKeys(load(readFileSync(EXAMPLE, 'utf8'))));
    const missing = [...new Set(schemaKeys(configSchema))].filter((key) => !documented.has(key));
    assert.deepEqual(missing, []);
  });
});
