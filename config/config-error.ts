/**
 * The error for a configuration that cannot be used: code `CONFIG_INVALID`, with every problem
 * found, each as `<key.path>: <what is wrong>`. Start-up prints `detail` and exits; the operator
 * fixes every listed key in one go rather than one per restart.
 */
import { VigilError } from '../core/errors.js';

export class ConfigError extends VigilError {
  /** One line per problem, `<key.path>: <what is wrong>`. */
  readonly problems: readonly string[];
  /** The file the problems are in; `null` = defaults and environment only. */
  readonly source: string | null;

  constructor(problems: readonly string[], source: string | null, options?: { cause?: unknown }) {
    super('CONFIG_INVALID', describe(problems, source), options);
    this.name = 'ConfigError';
    this.problems = Object.freeze([...problems]);
    this.source = source;
  }
}

function describe(problems: readonly string[], source: string | null): string {
  const where = source === null ? 'in the defaults and environment' : `in ${source}`;
  const count = problems.length === 1 ? '1 problem' : `${problems.length} problems`;
  return [`invalid configuration ${where} (${count}):`, ...problems.map((p) => `  ${p}`)].join('\n');
}
