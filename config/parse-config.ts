/**
 * Validation of raw configuration (the parsed YAML, or anything a test builds) against the one
 * schema, with the environment applied first. No file-system access: `load-config.ts` adds files,
 * path resolution and freezing.
 */
import { ConfigError } from './config-error.js';
import { configSchema, type VigilConfig } from './config-schema.js';
import { applyEnvOverrides } from './env-overrides.js';
import { formatIssues, issueMessage } from './format-issues.js';
import { dropEmptySections } from './schema-walk.js';

/** Options of {@link parseConfig}. */
export interface ParseConfigOptions {
  /**
   * The file `raw` was read from, for error messages.
   * @default null
   */
  source?: string | null;
}

/**
 * Validate `raw` with the environment overrides applied and fill in every default.
 *
 * `raw` may be `undefined` or `null` (an empty file): every key takes its default. So does a
 * section or list left empty (`http:` with nothing under it).
 * @param env the environment to read overrides from; tests pass their own.
 * @throws ConfigError (`CONFIG_INVALID`) listing every problem, each `<key.path>: <what is wrong>`.
 */
export function parseConfig(raw: unknown, env: NodeJS.ProcessEnv = process.env, options: ParseConfigOptions = {}): VigilConfig {
  const source = options.source ?? null;
  const applied = applyEnvOverrides(dropEmptySections(raw, configSchema), env);
  const result = configSchema.safeParse(applied.raw, {
    reportInput: true,
    error: (issue) => issueMessage(issue),
  });
  if (result.success) return result.data;
  const problems = formatIssues(result.error.issues, { envSources: applied.sources, schema: configSchema });
  throw new ConfigError(problems, source, { cause: result.error });
}
