/**
 * Turns zod issues into the lines an operator reads: `<key.path>: <what is wrong>, got <value>`,
 * one line per problem (an issue naming several unknown keys becomes several lines). Values that
 * are secrets are never repeated; passwords inside URLs are masked.
 */
import type { z } from 'zod';
import { isSecretKey, maskUrlCredentials } from './mask-secrets.js';
import { knownKeysAt } from './schema-walk.js';

type Issue = z.core.$ZodIssue;
type RawIssue = z.core.$ZodRawIssue;

const TYPE_WORDS: Readonly<Record<string, string>> = {
  number: 'expected a number',
  int: 'expected a whole number',
  string: 'expected a string',
  boolean: 'expected true or false',
  array: 'expected a list',
  object: 'expected a mapping of keys to values',
  null: 'expected null',
};

/**
 * The per-parse error map: a message for every issue whose schema does not set its own. Messages
 * say what is expected; {@link formatIssues} adds what was found.
 */
export function issueMessage(issue: RawIssue): string {
  switch (issue.code) {
    case 'invalid_type':
      if (issue.input === undefined) return 'is required';
      return TYPE_WORDS[issue.expected] ?? `expected ${issue.expected}`;
    case 'too_small':
      return bound(issue.origin, 'at least', 'more than', issue.minimum, issue.inclusive);
    case 'too_big':
      return bound(issue.origin, 'at most', 'less than', issue.maximum, issue.inclusive);
    case 'invalid_value':
      return issue.values.length === 1
        ? `expected ${String(issue.values[0])}`
        : `expected one of ${issue.values.map((v) => String(v)).join(', ')}`;
    case 'unrecognized_keys':
      return 'unknown key';
    case 'invalid_union':
      return 'does not match any accepted form';
    case 'invalid_format':
      return `expected ${issue.format}`;
    default:
      return issue.message ?? 'is invalid';
  }
}

function bound(origin: string, incl: string, excl: string, limit: unknown, inclusive = true): string {
  const n = Number(limit);
  if (origin === 'array') return `must have ${inclusive ? incl : excl} ${n} item${n === 1 ? '' : 's'}`;
  if (origin === 'string') return n === 1 && incl === 'at least' ? 'must not be empty' : `must be ${inclusive ? incl : excl} ${n} characters`;
  return `must be ${inclusive ? incl : excl} ${n}`;
}

/** `['crawler', 'vantages', 0, 'id']` → `crawler.vantages[0].id`; the empty path is `(top level)`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else out += out === '' ? String(segment) : `.${String(segment)}`;
  }
  return out === '' ? '(top level)' : out;
}

/** How a value that was found is shown: quoted strings (URL passwords masked), short shapes. */
export function describeInput(input: unknown): string {
  if (typeof input === 'string') {
    const shown = maskUrlCredentials(input);
    return JSON.stringify(shown.length > 80 ? `${shown.slice(0, 77)}...` : shown);
  }
  if (Array.isArray(input)) return input.length === 0 ? 'an empty list' : 'a list';
  if (input !== null && typeof input === 'object') return 'a mapping';
  return String(input);
}

function showsInput(issue: Issue): boolean {
  if (!('input' in issue) || issue.input === undefined) return false;
  switch (issue.code) {
    case 'invalid_type':
    case 'invalid_value':
    case 'invalid_union':
    case 'invalid_format':
      return true;
    case 'too_small':
    case 'too_big':
      return issue.origin !== 'array';
    case 'custom':
      return issue.params?.showInput === true;
    default:
      return false;
  }
}

/** Where an environment variable put a value, so its problems name the variable. */
export interface EnvSource {
  /** dotted key path, e.g. `http.port` */
  path: string;
  /** the variable, e.g. `VIGIL_HTTP_PORT` */
  env: string;
}

/** Options of {@link formatIssues}. */
export interface FormatIssuesOptions {
  /** values that came from the environment rather than the file */
  envSources?: readonly EnvSource[];
  /** the schema that was parsed; used to suggest the key meant in place of an unknown one */
  schema?: z.ZodType;
}

/** One line per problem: `<key.path>: <what is wrong>[, got <value>][ (from ENV)]`. */
export function formatIssues(issues: readonly Issue[], options: FormatIssuesOptions = {}): string[] {
  const lines: string[] = [];
  const fromEnv = (path: string): string => {
    const source = options.envSources?.find((s) => path === s.path || path.startsWith(`${s.path}.`) || path.startsWith(`${s.path}[`));
    return source === undefined ? '' : ` (from ${source.env})`;
  };
  for (const issue of issues) {
    if (issue.code === 'unrecognized_keys') {
      const known = options.schema === undefined ? [] : knownKeysAt(options.schema, issue.path);
      for (const key of issue.keys) {
        const path = formatPath([...issue.path, key]);
        const meant = suggest(key, known);
        lines.push(`${path}: unknown key${meant === undefined ? '' : ` (did you mean ${meant}?)`}`);
      }
      continue;
    }
    const path = formatPath(issue.path);
    const last = issue.path[issue.path.length - 1];
    const secret = typeof last === 'string' && isSecretKey(last);
    const got = showsInput(issue) && !secret ? `, got ${describeInput(issue.input)}` : '';
    lines.push(`${path}: ${issue.message}${got}${fromEnv(path)}`);
  }
  return lines;
}

/** The known key closest to `key` (case-insensitive equal, or at most 2 edits apart), if any. */
function suggest(key: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = 3;
  for (const candidate of known) {
    const d = candidate.toLowerCase() === key.toLowerCase() ? 0 : editDistance(key, candidate);
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i += 1) {
    const current = [i];
    for (let j = 1; j <= b.length; j += 1) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      current.push(Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, (previous[j - 1] ?? 0) + cost));
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}
