/**
 * The configuration as YAML, in the form an operator writes it: durations as `30s`, sizes as
 * `10MB`, keys in schema order. What `vigil config print` shows; the output is itself a valid
 * configuration file (secrets aside, when masked).
 */
import YAML from 'yaml';
import { configSchema, type VigilConfig } from './config-schema.js';
import { formatDuration } from './duration.js';
import { childSchema, valueUnitOf } from './schema-walk.js';
import { formatSize } from './size.js';
import type { z } from 'zod';

type AnySchema = z.core.$ZodType;

/** Replace each duration and size in `value` by its written form, following `schema` alongside. */
function toWritten(value: unknown, schema: AnySchema | undefined): unknown {
  if (schema !== undefined && typeof value === 'number') {
    const unit = valueUnitOf(schema);
    if (unit === 'duration') return formatDuration(value);
    if (unit === 'size') return formatSize(value);
    return value;
  }
  if (Array.isArray(value)) {
    return value.map((item, i) => toWritten(item, schema === undefined ? undefined : childSchema(schema, i)));
  }
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, child] of Object.entries(value)) {
      out[key] = toWritten(child, schema === undefined ? undefined : childSchema(schema, key));
    }
    return out;
  }
  return value;
}

/**
 * Render a parsed configuration (masked or not: mask first with `maskSecrets` before printing)
 * as YAML text ending in a newline.
 */
export function renderConfig(config: Readonly<VigilConfig>): string {
  const doc = new YAML.Document(toWritten(config, configSchema));
  // Lists of plain values on one line (`countries: [NL, "*"]`), as the contract writes them.
  YAML.visit(doc, {
    Seq(_, node) {
      if (node.items.every((item) => YAML.isScalar(item))) node.flow = true;
    },
  });
  return doc.toString({ lineWidth: 0, flowCollectionPadding: false });
}
