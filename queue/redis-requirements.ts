/**
 * What vigil requires of a Redis before it trusts it with jobs (CONTRACT.md §1): version ≥ 6.2 and
 * `maxmemory-policy noeviction`. Under any other policy Redis may, when full, silently delete job
 * keys or lock keys: a notice that is never sent, a check that runs twice. BullMQ only warns about
 * this; vigil refuses to start.
 */
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { VigilError } from '../core/errors.js';

export const MIN_REDIS_VERSION = '6.2.0';

/** The `field:value` lines of an INFO reply. */
export function parseRedisInfo(info: string): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const line of info.split(/\r?\n/)) {
    if (line === '' || line.startsWith('#')) continue;
    const colon = line.indexOf(':');
    if (colon > 0) fields[line.slice(0, colon)] = line.slice(colon + 1).trim();
  }
  return fields;
}

/** `version` ≥ `minimum`, comparing numeric dotted parts (`7.0.15` ≥ `6.2.0`). */
export function versionAtLeast(version: string, minimum: string): boolean {
  const parts = (v: string) => v.split('.').map((p) => Number.parseInt(p, 10) || 0);
  const a = parts(version);
  const b = parts(minimum);
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const x = a[i] ?? 0;
    const y = b[i] ?? 0;
    if (x !== y) return x > y;
  }
  return true;
}

/**
 * The eviction policy, from `CONFIG GET`, or from `INFO memory` where CONFIG is disabled or
 * renamed (managed Redis services often do that). `null` when neither tells.
 */
export async function readEvictionPolicy(client: Redis): Promise<string | null> {
  try {
    const reply = (await client.config('GET', 'maxmemory-policy')) as unknown;
    if (Array.isArray(reply) && typeof reply[1] === 'string') return reply[1];
  } catch {
    // CONFIG disabled, renamed or denied by an ACL: fall back to INFO
  }
  try {
    return parseRedisInfo(await client.info('memory'))['maxmemory_policy'] ?? null;
  } catch {
    return null;
  }
}

export interface RedisFacts {
  version: string;
  evictionPolicy: string | null;
}

/**
 * Check the Redis behind `client` is fit for vigil.
 * @param where the (redacted) URL, for messages
 * @throws VigilError REDIS_VERSION_UNSUPPORTED when older than 6.2
 * @throws VigilError REDIS_EVICTION_POLICY when `maxmemory-policy` is not `noeviction`
 */
export async function checkRedisRequirements(client: Redis, where: string, log: Logger): Promise<RedisFacts> {
  const server = parseRedisInfo(await client.info('server'));
  const version = server['valkey_version'] ?? server['redis_version'] ?? '0';
  if (!versionAtLeast(server['redis_version'] ?? version, MIN_REDIS_VERSION)) {
    throw new VigilError(
      'REDIS_VERSION_UNSUPPORTED',
      `Redis at ${where} is version ${version}; vigil needs Redis ≥ ${MIN_REDIS_VERSION}. ` +
        'Upgrade it (Debian/Ubuntu: apt-get install redis-server from a current release; macOS: brew upgrade redis) or point REDIS_URL at another one.',
    );
  }
  const evictionPolicy = await readEvictionPolicy(client);
  if (evictionPolicy === null) {
    log.warn({ redis: where }, 'could not read maxmemory-policy (CONFIG and INFO memory unavailable); make sure it is noeviction');
  } else if (evictionPolicy !== 'noeviction') {
    throw new VigilError(
      'REDIS_EVICTION_POLICY',
      `Redis at ${where} has maxmemory-policy ${evictionPolicy}: when full it would silently delete queued jobs. ` +
        `vigil needs noeviction. Fix: run \`CONFIG SET maxmemory-policy noeviction\` (e.g. redis-cli -u <url> CONFIG SET maxmemory-policy noeviction) ` +
        'and set `maxmemory-policy noeviction` in redis.conf so it survives a restart (managed Redis: change it in the parameter group), ' +
        'or point REDIS_URL at a Redis used only for queues.',
    );
  }
  return { version, evictionPolicy };
}
