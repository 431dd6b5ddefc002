/**
 * Walks the config schema by key path: which keys an object accepts (to suggest the key meant in
 * place of an unknown one) and which fields are durations or sizes (to print them back as
 * `30s` / `10MB`). Reads zod's schema definitions, which zod 4 documents as `_zod.def`.
 */
import type { z } from 'zod';
import { isDurationSchema } from './duration.js';
import { isSizeSchema } from './size.js';

type AnySchema = z.core.$ZodType;

interface LooseDef {
  type: string;
  innerType?: AnySchema;
  in?: AnySchema;
  shape?: Record<string, AnySchema>;
  element?: AnySchema;
}

function defOf(schema: AnySchema): LooseDef {
  return schema._zod.def as unknown as LooseDef;
}

/** What a field holds, when it is written in units. */
export type ValueUnit = 'duration' | 'size';

/** The unit of a field's schema, looking through defaults, nullability and pipes. */
export function valueUnitOf(schema: AnySchema): ValueUnit | undefined {
  let current: AnySchema | undefined = schema;
  for (let depth = 0; current !== undefined && depth < 16; depth += 1) {
    if (isDurationSchema(current)) return 'duration';
    if (isSizeSchema(current)) return 'size';
    current = innerOf(current);
  }
  return undefined;
}

/** The schema one wrapper down (default, prefault, optional, nullable, readonly, pipe input). */
function innerOf(schema: AnySchema): AnySchema | undefined {
  const def = defOf(schema);
  switch (def.type) {
    case 'optional':
    case 'nullable':
    case 'default':
    case 'prefault':
    case 'readonly':
    case 'nonoptional':
    case 'catch':
      return def.innerType;
    case 'pipe':
      return def.in;
    default:
      return undefined;
  }
}

/** Strip wrappers down to the schema that gives the value its shape (object, array, ...). */
export function unwrapSchema(schema: AnySchema): AnySchema {
  let current = schema;
  for (let depth = 0; depth < 16; depth += 1) {
    const inner = innerOf(current);
    if (inner === undefined) return current;
    current = inner;
  }
  return current;
}

/** The schema of `key` inside `schema` (an object's property or an array's element). */
export function childSchema(schema: AnySchema, key: PropertyKey): AnySchema | undefined {
  const def = defOf(unwrapSchema(schema));
  if (def.type === 'object' && typeof key === 'string') {
    return def.shape !== undefined && Object.hasOwn(def.shape, key) ? def.shape[key] : undefined;
  }
  if (def.type === 'array' && typeof key === 'number') return def.element;
  return undefined;
}

/** The schema at `path` inside `schema`, if the path exists in it. */
export function schemaAt(schema: AnySchema, path: readonly PropertyKey[]): AnySchema | undefined {
  let current: AnySchema | undefined = schema;
  for (const key of path) {
    if (current === undefined) return undefined;
    current = childSchema(current, key);
  }
  return current;
}

/** The keys the object at `path` accepts; empty when there is no object there. */
export function knownKeysAt(schema: AnySchema, path: readonly PropertyKey[]): string[] {
  const at = schemaAt(schema, path);
  if (at === undefined) return [];
  const def = defOf(unwrapSchema(at));
  return def.type === 'object' && def.shape !== undefined ? Object.keys(def.shape) : [];
}

/** Whether `schema` accepts `null` as written (some wrapper on the way is `.nullable()`). */
function acceptsNull(schema: AnySchema): boolean {
  let current: AnySchema | undefined = schema;
  for (let depth = 0; current !== undefined && depth < 16; depth += 1) {
    if (defOf(current).type === 'nullable') return true;
    current = innerOf(current);
  }
  return false;
}

/**
 * A copy of `raw` without the sections and lists left empty in YAML (`http:` with every line
 * under it commented out parses as `http: null`), so they take their defaults instead of failing
 * with "expected a mapping". Keys that accept `null` (`auth.adminToken: null`) are kept.
 */
export function dropEmptySections(raw: unknown, schema: AnySchema): unknown {
  if (raw === null || typeof raw !== 'object') return raw;
  if (Array.isArray(raw)) {
    return raw.map((item: unknown, i) => {
      const child = childSchema(schema, i);
      return child === undefined ? item : dropEmptySections(item, child);
    });
  }
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(raw)) {
    const child = childSchema(schema, key);
    if (child === undefined) {
      out[key] = value;
      continue;
    }
    const kind = defOf(unwrapSchema(child)).type;
    if (value === null && (kind === 'object' || kind === 'array') && !acceptsNull(child)) continue;
    out[key] = dropEmptySections(value, child);
  }
  return out;
}
