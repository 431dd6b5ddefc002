/**
 * `vigil config check FILE` and `vigil config print` (CONTRACT.md §2), as functions that return
 * an exit code and the text to print; daemon/cli.ts wires them to commander and the terminal.
 * Exit 1 is "a failure the user can fix": the output lists every problem with its key path.
 */
import { isVigilError } from '../core/errors.js';
import { loadConfig, type LoadConfigOptions } from './load-config.js';
import { maskSecrets } from './mask-secrets.js';
import { renderConfig } from './render-config.js';

/** What a config command prints, and how the process exits. */
export interface CommandResult {
  /** 0 = success; 1 = the configuration has a problem the user can fix. */
  exitCode: 0 | 1;
  /** Text for stdout (success) or stderr (failure), ending in a newline. */
  output: string;
}

/** Configuration errors become exit 1 with their message; anything else is a bug and is rethrown. */
function failure(err: unknown): CommandResult {
  if (isVigilError(err, 'CONFIG_INVALID') || isVigilError(err, 'CONFIG_FILE_MISSING')) {
    return { exitCode: 1, output: `${err.detail}\n` };
  }
  throw err;
}

/**
 * Validate `file` exactly as `vigil start --config FILE` would: YAML, schema, environment
 * overrides and referenced files.
 * @param env the environment whose overrides apply, as at start-up
 * @param cwd the directory relative paths are resolved against
 * @returns exit 0 and `ok: FILE is valid`, or exit 1 and every problem found
 * @throws only what is not a configuration problem (a bug), unchanged
 */
export function configCheck(file: string, env: NodeJS.ProcessEnv = process.env, cwd: string = process.cwd()): CommandResult {
  try {
    const { source } = loadConfig({ file, env, cwd });
    return { exitCode: 0, output: `ok: ${source ?? file} is valid\n` };
  } catch (err) {
    return failure(err);
  }
}

/**
 * The effective configuration (file, defaults and environment, as `vigil start` would use it) as
 * YAML, with every secret masked. The first line says where it came from.
 * @returns exit 0 and the YAML, or exit 1 and every problem found
 * @throws only what is not a configuration problem (a bug), unchanged
 */
export function configPrint(options: LoadConfigOptions = {}): CommandResult {
  try {
    const { config, source } = loadConfig(options);
    const header = `# effective configuration; source: ${source ?? 'built-in defaults'} (secrets masked)\n`;
    return { exitCode: 0, output: header + renderConfig(maskSecrets(config)) };
  } catch (err) {
    return failure(err);
  }
}
