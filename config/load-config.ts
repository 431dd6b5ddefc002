/**
 * Loading the configuration, once, at start-up (CONTRACT.md §3): find the file, read the YAML,
 * apply the environment, validate, make paths absolute, check that referenced files exist, and
 * freeze the result so nothing downstream can change it.
 */
import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { VigilError } from '../core/errors.js';
import { ConfigError } from './config-error.js';
import type { VigilConfig } from './config-schema.js';
import { parseConfig } from './parse-config.js';

export { parseConfig } from './parse-config.js';

/** Options of {@link loadConfig}. */
export interface LoadConfigOptions {
  /** The file named by `--config`; relative to `cwd`. */
  file?: string;
  /**
   * The environment (`VIGIL_CONFIG` and the overrides of CONTRACT.md §3).
   * @default process.env
   */
  env?: NodeJS.ProcessEnv;
  /**
   * Directory that `./vigil.yaml`, `--config` and `dataDir` are relative to.
   * @default process.cwd()
   */
  cwd?: string;
}

/** What {@link loadConfig} returns. */
export interface LoadedConfig {
  /** The validated, deeply frozen configuration. */
  config: Readonly<VigilConfig>;
  /** Absolute path of the file read; `null` = defaults and environment only. */
  source: string | null;
}

/** The file to read, and what named it (for messages). */
function locate(options: LoadConfigOptions, env: NodeJS.ProcessEnv, cwd: string): { file: string; namedBy: string } | null {
  if (options.file !== undefined && options.file !== '') return { file: path.resolve(cwd, options.file), namedBy: '--config' };
  const fromEnv = env.VIGIL_CONFIG;
  if (fromEnv !== undefined && fromEnv !== '') return { file: path.resolve(cwd, fromEnv), namedBy: 'VIGIL_CONFIG' };
  const local = path.resolve(cwd, 'vigil.yaml');
  return fs.existsSync(local) ? { file: local, namedBy: './vigil.yaml' } : null;
}

function readFile(file: string, namedBy: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      throw new VigilError('CONFIG_FILE_MISSING', `configuration file not found: ${file} (named by ${namedBy})`, { cause: err });
    }
    const reason = code === 'EISDIR' ? 'it is a directory' : (code ?? String(err));
    throw new VigilError('CONFIG_INVALID', `cannot read configuration file ${file}: ${reason}`, { cause: err });
  }
}

/** Parse YAML text; syntax errors become a ConfigError with line and column. */
function parseYaml(text: string, file: string): unknown {
  // prettyErrors adds `linePos`; it also appends the position and a source excerpt to the
  // message, which is cut off here so the line reads like the other problems.
  const doc = YAML.parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const problems = doc.errors.map((e) => {
      const pos = e.linePos?.[0];
      const message = (e.message.split('\n')[0] ?? '').replace(/ at line \d+, column \d+:?$/, '');
      return `${pos === undefined ? 'YAML' : `line ${pos.line}, column ${pos.col}`}: ${message}`;
    });
    throw new ConfigError(problems, file, { cause: doc.errors[0] });
  }
  return doc.toJS();
}

/** Every file the configuration refers to: key path, absolute path, and whether a directory will do. */
function referencedFiles(config: VigilConfig): { key: string; file: string; dirOk: boolean }[] {
  const list = (key: string, files: readonly string[]) => files.map((file, i) => ({ key: `${key}[${i}]`, file, dirOk: false }));
  return [
    ...list('tracing.countryDb', config.tracing.countryDb),
    ...list('tracing.asnDb', config.tracing.asnDb),
    ...(config.tracing.rdapBootstrap === null ? [] : [{ key: 'tracing.rdapBootstrap', file: config.tracing.rdapBootstrap, dirOk: true }]),
    ...list('hashList.files', config.hashList.files),
    // an explicit browser path that is wrong is a typo to hear about, not a reason to run HTTP-only
    // (without a path, a missing Chromium is: CONTRACT.md §1)
    ...(config.crawler.browser.executablePath === null || config.crawler.browser.enabled === false
      ? []
      : [{ key: 'crawler.browser.executablePath', file: config.crawler.browser.executablePath, dirOk: false }]),
  ];
}

/**
 * Make paths absolute: `dataDir` against `cwd`; files the configuration refers to against the
 * directory of the config file (so a config and its databases can move together), or `cwd`.
 */
function resolvePaths(config: VigilConfig, cwd: string, baseDir: string): void {
  const resolve = (p: string) => path.resolve(baseDir, p);
  config.dataDir = path.resolve(cwd, config.dataDir);
  config.tracing.countryDb = config.tracing.countryDb.map(resolve);
  config.tracing.asnDb = config.tracing.asnDb.map(resolve);
  if (config.tracing.rdapBootstrap !== null) config.tracing.rdapBootstrap = resolve(config.tracing.rdapBootstrap);
  config.hashList.files = config.hashList.files.map(resolve);
}

function checkReferencedFiles(config: VigilConfig, source: string | null): void {
  const problems: string[] = [];
  for (const { key, file, dirOk } of referencedFiles(config)) {
    let stat: fs.Stats | undefined;
    try {
      stat = fs.statSync(file);
    } catch {
      stat = undefined;
    }
    if (stat === undefined) problems.push(`${key}: file not found: ${file}`);
    else if (stat.isDirectory() && !dirOk) problems.push(`${key}: expected a file, found a directory: ${file}`);
  }
  if (problems.length > 0) throw new ConfigError(problems, source);
}

/** Freeze `value` and everything reachable from it. */
export function deepFreeze<T>(value: T): Readonly<T> {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}

/**
 * Load the configuration: `options.file` (from `--config`), else `VIGIL_CONFIG`, else
 * `./vigil.yaml` if present, else the defaults; then the environment overrides.
 *
 * @throws VigilError `CONFIG_FILE_MISSING` when a named file does not exist (naming the path).
 * @throws ConfigError (`CONFIG_INVALID`) for YAML syntax errors (with line and column), for every
 *   invalid or unknown key (each with its key path), and for referenced files that do not exist.
 */
export function loadConfig(options: LoadConfigOptions = {}): LoadedConfig {
  const env = options.env ?? process.env;
  const cwd = path.resolve(options.cwd ?? process.cwd());
  const located = locate(options, env, cwd);
  const source = located?.file ?? null;
  const raw = located === null ? undefined : parseYaml(readFile(located.file, located.namedBy), located.file);
  const config = parseConfig(raw, env, { source });
  resolvePaths(config, cwd, source === null ? cwd : path.dirname(source));
  checkReferencedFiles(config, source);
  return { config: deepFreeze(config), source };
}
