/**
 * Environment variables that override the configuration file (CONTRACT.md §3). They are applied
 * to the raw file contents before validation, so a bad value is reported under its key path and
 * names the variable it came from. An empty variable counts as unset (`DATABASE_URL=` in a
 * compose file should not mean "a database at the empty URL").
 */
import type { EnvSource } from './format-issues.js';

/** One override: a variable and the key it replaces. */
export interface EnvOverride {
  /** the variable */
  env: string;
  /** the key path it sets */
  path: readonly string[];
  /** turns the variable's text into the value the key takes */
  parse?: (text: string) => unknown;
}

// A port comes as text; numeric text becomes a number, anything else is left as text so the
// schema reports it ("expected a whole number, got "http" (from VIGIL_HTTP_PORT)").
const numeric = (text: string): unknown => (/^\s*\d+\s*$/.test(text) ? Number(text) : text);

/** The overrides, in the order they are applied; each wins over the file. */
export const ENV_OVERRIDES: readonly EnvOverride[] = [
  { env: 'DATABASE_URL', path: ['storage', 'databaseUrl'] },
  { env: 'REDIS_URL', path: ['queue', 'redisUrl'] },
  { env: 'VIGIL_DATA_DIR', path: ['dataDir'] },
  { env: 'VIGIL_HTTP_PORT', path: ['http', 'port'], parse: numeric },
  { env: 'VIGIL_ADMIN_TOKEN', path: ['auth', 'adminToken'] },
];

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/**
 * Set `path` in `root`, creating missing objects on the way. Returns false, changing nothing, when
 * something on the way is not an object (the schema reports that value anyway).
 */
function setPath(root: Record<string, unknown>, path: readonly string[], value: unknown): boolean {
  let node = root;
  for (const key of path.slice(0, -1)) {
    const next = node[key];
    if (next === undefined || next === null) node[key] = {};
    else if (!isRecord(next)) return false;
    node = node[key] as Record<string, unknown>;
  }
  node[path[path.length - 1] as string] = value;
  return true;
}

/**
 * The raw configuration with the environment applied, and where each applied value came from.
 * `raw` is not modified. A `raw` that is not an object is returned as it is, for the schema to
 * report.
 */
export function applyEnvOverrides(raw: unknown, env: NodeJS.ProcessEnv): { raw: unknown; sources: EnvSource[] } {
  if (raw !== undefined && raw !== null && !isRecord(raw)) return { raw, sources: [] };
  const out: Record<string, unknown> = raw === undefined || raw === null ? {} : structuredClone(raw);
  const sources: EnvSource[] = [];
  for (const override of ENV_OVERRIDES) {
    const text = env[override.env];
    if (text === undefined || text === '') continue;
    const value = override.parse === undefined ? text : override.parse(text);
    if (setPath(out, override.path, value)) sources.push({ path: override.path.join('.'), env: override.env });
  }
  return { raw: out, sources };
}
