/**
 * A copy of the configuration that is safe to print or log (`vigil config print`, start-up logs):
 * tokens, webhook secrets and passwords inside URLs become `***`.
 *
 * It masks by shape, not by a list of fields, so a secret added to the schema later is covered
 * without touching this file: any key that names a secret (`adminToken`, `secret`, `password`, ...)
 * and any URL anywhere in the tree (`storage.databaseUrl`, `queue.redisUrl`, `notices.smtp.url`,
 * vantage proxies, webhook URLs) have their credentials replaced.
 */
import type { VigilConfig } from './config-schema.js';

/** What a masked secret is printed as. */
export const MASK = '***';

const SECRET_KEY = /(secret|password|passwd|token|apikey|api_key)$/i;

// Query parameters that carry credentials in connection strings (libpq `?password=`, signed
// webhook URLs `?token=`, ...).
const SECRET_PARAM = /([?&](?:password|pass|pwd|passwd|secret|token|access_token|auth|key|api_key|apikey|sslpassword)=)[^&#]*/gi;

/** Whether a key's name says its value is a secret (`adminToken`, `secret`, `smtpPassword`). */
export function isSecretKey(key: string): boolean {
  return SECRET_KEY.test(key);
}

/**
 * Mask the password in a URL's user-info (`redis://user:pw@host` → `redis://user:***@host`) and
 * credential query parameters. Works on the text as written, not on a re-serialised URL, so the
 * rest prints exactly as configured. It errs towards masking too much: everything from the first
 * `:` of the user-info up to the last `@` before the query is masked, so a password with an
 * unescaped `@` or `/` in it is still hidden.
 */
export function maskUrlCredentials(text: string): string {
  const schemeEnd = text.indexOf('://');
  if (schemeEnd < 0) return text;
  const head = text.slice(0, schemeEnd + 3);
  let rest = text.slice(schemeEnd + 3);
  const queryStart = rest.search(/[?#]/);
  const beforeQuery = queryStart < 0 ? rest : rest.slice(0, queryStart);
  const at = beforeQuery.lastIndexOf('@');
  if (at >= 0) {
    const colon = beforeQuery.indexOf(':');
    if (colon >= 0 && colon < at) rest = `${rest.slice(0, colon + 1)}${MASK}${rest.slice(at)}`;
  }
  return head + rest.replace(SECRET_PARAM, `$1${MASK}`);
}

function maskValue(value: unknown, key: string | undefined): unknown {
  if (typeof value === 'string') {
    return key !== undefined && isSecretKey(key) ? MASK : maskUrlCredentials(value);
  }
  if (Array.isArray(value)) return value.map((item) => maskValue(item, undefined));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = maskValue(v, k);
    return out;
  }
  return value;
}

/**
 * A deep, unfrozen copy of `config` with every secret replaced by `***`. Absent secrets stay
 * `null`, so the printout still shows whether one is configured.
 */
export function maskSecrets(config: Readonly<VigilConfig>): VigilConfig {
  return maskValue(config, undefined) as VigilConfig;
}
