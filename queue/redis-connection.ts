/**
 * Getting a Redis for the queues (CONTRACT.md §1): REDIS_URL if something answers there; else,
 * for a loopback URL with `redis-server` on PATH, a private one in `<dataDir>/redis`; else a
 * VigilError that tells the operator what to do. Whichever it is must be Redis ≥ 6.2 with
 * `maxmemory-policy noeviction`.
 *
 * The returned handle makes the connections BullMQ needs, with options per purpose
 * (https://docs.bullmq.io/guide/connections, …/patterns/failing-fast-when-redis-is-down):
 * - `worker`, `queue-events`: `maxRetriesPerRequest: null` and the offline queue on. BullMQ
 *   requires it for blocking commands, and a worker should wait out a Redis restart, not fail.
 * - `producer`, `health`: offline queue off, one retry. An `add` while Redis is down rejects at
 *   once instead of hanging: the API answers 503, the dispatcher retries next tick (its rows are
 *   leased in PostgreSQL, so nothing is lost), /readyz reports the outage.
 * All reconnect for ever with capped back-off; `close()` quits every one of them, then stops the
 * private server. Close queues and workers before it.
 */
import { Redis, type RedisOptions } from 'ioredis';
import type { Logger } from 'pino';
import { VigilError } from '../core/errors.js';
import { startPrivateRedis, redisServerVersion, type PrivateRedis } from './private-redis.js';
import { isLoopbackRedisUrl, probeRedis, redactRedisUrl } from './redis-probe.js';
import { checkRedisRequirements, MIN_REDIS_VERSION, versionAtLeast } from './redis-requirements.js';

export type ConnectionPurpose = 'worker' | 'queue-events' | 'producer' | 'health';

export interface ConnectRedisOptions {
  /** `queue.redisUrl` / REDIS_URL */
  url: string;
  /** `dataDir`; a private server keeps its data in `<dataDir>/redis` */
  dataDir: string;
  log: Logger;
  /** start a private redis-server when nothing answers at a loopback `url` @default true */
  startPrivate?: boolean;
  /** the redis-server binary @default 'redis-server' (looked up on PATH) */
  redisServer?: string;
  /** for the first attempt at `url` @default 2000 */
  connectTimeoutMs?: number;
  /** how long a private server may take to answer @default 30000 */
  privateStartTimeoutMs?: number;
}

export interface RedisHandle {
  /** the Redis in use: `url`, or the private server's (with its password: log `redactRedisUrl(url)`) */
  readonly url: string;
  readonly private: PrivateRedis | null;
  /** `redis_version` from INFO server */
  readonly version: string;
  /** A new connection for `purpose`, closed by `close()`. @throws Error after close() */
  createConnection(purpose: ConnectionPurpose): Redis;
  /** Quit all connections made here, then stop a private server this process owns. */
  close(): Promise<void>;
}

const INSTALL_HINT = `Install Redis ≥ ${MIN_REDIS_VERSION} (Debian/Ubuntu: apt-get install redis-server; macOS: brew install redis) or set REDIS_URL.`;

/**
 * @throws VigilError REDIS_UNAVAILABLE when no usable Redis can be had (the message says how to get one)
 * @throws VigilError REDIS_VERSION_UNSUPPORTED when the Redis (or the redis-server on PATH) is older than 6.2
 * @throws VigilError REDIS_EVICTION_POLICY when `maxmemory-policy` is not `noeviction`
 */
export async function connectRedis(options: ConnectRedisOptions): Promise<RedisHandle> {
  const { url, log } = options;
  const where = redactRedisUrl(url);
  const probe = await probeRedis(url, { connectTimeoutMs: options.connectTimeoutMs ?? 2000 });
  if (probe.status === 'ok') {
    try {
      const facts = await checkRedisRequirements(probe.client, where, log);
      log.info({ redis: where, version: facts.version }, 'using Redis');
      return makeHandle(url, null, facts.version, log);
    } finally {
      probe.client.disconnect();
    }
  }
  if (probe.status === 'refused') {
    throw new VigilError('REDIS_UNAVAILABLE',
      `Something answered at ${where} but would not serve vigil (${probe.error.message}). Check host, port, password and TLS (rediss://) in REDIS_URL.`,
      { cause: probe.error });
  }

  const reason = (probe.error as NodeJS.ErrnoException).code ?? probe.error.message;
  if (options.startPrivate === false) {
    throw new VigilError('REDIS_UNAVAILABLE',
      `No Redis answered at ${where} (${reason}) and starting a private redis-server is turned off. Start Redis ≥ ${MIN_REDIS_VERSION} there or set REDIS_URL.`,
      { cause: probe.error });
  }
  if (!isLoopbackRedisUrl(url)) {
    throw new VigilError('REDIS_UNAVAILABLE',
      `No Redis answered at ${where} (${reason}). Check that Redis ≥ ${MIN_REDIS_VERSION} runs there and is reachable from this machine, or set REDIS_URL.`,
      { cause: probe.error });
  }
  const binary = options.redisServer ?? 'redis-server';
  const found = await redisServerVersion(binary);
  if ('missing' in found) {
    const what = binary === 'redis-server' ? 'redis-server is not on PATH' : `redis-server (${binary}) cannot be run: ${found.missing}`;
    throw new VigilError('REDIS_UNAVAILABLE', `No Redis answered at ${where} and ${what}. ${INSTALL_HINT}`, { cause: probe.error });
  }
  if (found.version !== 'unknown' && !versionAtLeast(found.version, MIN_REDIS_VERSION)) {
    throw new VigilError('REDIS_VERSION_UNSUPPORTED',
      `No Redis answered at ${where}, and the redis-server on PATH (${binary}) is version ${found.version}. ${INSTALL_HINT}`);
  }

  log.warn({ redis: where, reason }, 'no Redis answered at REDIS_URL; using a private redis-server');
  let priv: PrivateRedis;
  try {
    priv = await startPrivateRedis({ dataDir: options.dataDir, log, binary, startTimeoutMs: options.privateStartTimeoutMs ?? 30_000 });
  } catch (err) {
    throw new VigilError('REDIS_UNAVAILABLE',
      `No Redis answered at ${where}, and a private redis-server in ${options.dataDir}/redis failed to start: ${(err as Error).message}. ` +
        `Fix that (see ${options.dataDir}/redis/redis.log), or start Redis ≥ ${MIN_REDIS_VERSION} yourself and set REDIS_URL.`,
      { cause: err });
  }
  try {
    const again = await probeRedis(priv.url, { connectTimeoutMs: 2000 });
    if (again.status !== 'ok') throw new VigilError('REDIS_UNAVAILABLE', `the private redis-server stopped answering: ${again.error.message}`, { cause: again.error });
    try {
      const facts = await checkRedisRequirements(again.client, redactRedisUrl(priv.url), log);
      return makeHandle(priv.url, priv, facts.version, log);
    } finally {
      again.client.disconnect();
    }
  } catch (err) {
    await priv.stop().catch(() => undefined);
    throw err;
  }
}

/** Connection options for a purpose (see the file comment for why). */
export function connectionOptions(purpose: ConnectionPurpose): RedisOptions {
  const blocking = purpose === 'worker' || purpose === 'queue-events';
  return {
    connectionName: `vigil:${purpose}`,
    connectTimeout: 10_000,
    // 0.5 s, 1 s, 2 s … capped at 20 s, for ever: Redis restarts must not need a daemon restart
    retryStrategy: (times: number) => Math.min(500 * 2 ** Math.min(times - 1, 6), 20_000),
    maxRetriesPerRequest: blocking ? null : 1,
    enableOfflineQueue: blocking,
  };
}

function makeHandle(url: string, priv: PrivateRedis | null, version: string, log: Logger): RedisHandle {
  const open = new Set<Redis>();
  let closed = false;
  return {
    url,
    private: priv,
    version,
    createConnection(purpose) {
      if (closed) throw new Error('connectRedis handle is closed');
      const connection = new Redis(url, connectionOptions(purpose));
      open.add(connection);
      connection.once('end', () => open.delete(connection));
      // One line per outage, not one per reconnect attempt; never an unhandled 'error' event.
      let down = false;
      connection.on('error', (err: Error) => {
        if (down) return;
        down = true;
        log.warn({ err, purpose }, 'Redis connection failed; reconnecting');
      });
      connection.on('ready', () => {
        if (down) log.info({ purpose }, 'Redis connection restored');
        down = false;
      });
      return connection;
    },
    async close() {
      closed = true;
      await Promise.all([...open].map((c) => quitWithin(c, 2000)));
      open.clear();
      await priv?.stop();
    },
  };
}

/**
 * QUIT (pending replies first) and wait for 'end'. A connection that is not ready is dropped at
 * once: ioredis emits no 'end' for a client disconnected while it waits to reconnect.
 */
async function quitWithin(connection: Redis, ms: number): Promise<void> {
  if (connection.status === 'end') return;
  if (connection.status !== 'ready') {
    connection.disconnect();
    return;
  }
  let timer: NodeJS.Timeout | undefined;
  const ended = new Promise<void>((resolve) => {
    connection.once('end', resolve);
    timer = setTimeout(() => { connection.disconnect(); resolve(); }, ms);
  });
  // A quit that fails because the connection closed meanwhile must not disconnect it again: on an
  // ended connection ioredis arms a 2 s timer for a socket that is already gone, and that timer
  // holds the process open after an orderly shutdown.
  connection.quit().catch(() => { if (connection.status !== 'end') connection.disconnect(); });
  await ended;
  clearTimeout(timer);
}
