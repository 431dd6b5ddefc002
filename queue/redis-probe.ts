/**
 * One short attempt to reach a Redis: used at start-up to decide between "use it", "start a
 * private one" and "tell the operator". No endless retry here: the connections the daemon keeps
 * (redis-connection.ts) reconnect on their own once we know a Redis is there.
 */
import { Redis } from 'ioredis';

/** Socket errors that mean "nothing answered there", as opposed to "something answered badly". */
const NOTHING_THERE = new Set(['ECONNREFUSED', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL', 'ENOTFOUND', 'EAI_AGAIN']);

export type ProbeResult =
  | { status: 'ok'; client: Redis }
  /** nothing listening (or not reachable) at that address */
  | { status: 'absent'; error: Error }
  /** something answered but would not serve us: wrong password, not Redis, hung */
  | { status: 'refused'; error: Error };

export interface ProbeOptions {
  /** @default 2000 */
  connectTimeoutMs?: number;
  /** whole attempt including AUTH and the ready check @default connectTimeoutMs + 2000 */
  totalTimeoutMs?: number;
}

/**
 * Connect once to `url`. On `ok` the caller owns the returned client (non-retrying, offline queue
 * off) and must `disconnect()` it.
 */
export async function probeRedis(url: string, options: ProbeOptions = {}): Promise<ProbeResult> {
  const connectTimeout = options.connectTimeoutMs ?? 2000;
  const total = options.totalTimeoutMs ?? connectTimeout + 2000;
  const client = new Redis(url, {
    lazyConnect: true,
    connectTimeout,
    retryStrategy: () => null,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    connectionName: 'vigil:probe',
  });
  // ioredis rejects connect() with a bare "Connection is closed"; the cause is the last 'error'.
  let lastError: Error | undefined;
  let notRedis = false;
  client.on('error', (err: Error) => {
    lastError = err;
    if (err.name === 'ParserError') notRedis = true;
  });
  let timer: NodeJS.Timeout | undefined;
  try {
    const timedOut = new Promise<'timeout'>((resolve) => { timer = setTimeout(() => resolve('timeout'), total); });
    const outcome = await Promise.race([client.connect().then(() => 'ready' as const, () => 'failed' as const), timedOut]);
    if (outcome === 'ready') return { status: 'ok', client };
    client.disconnect();
    if (outcome === 'timeout') {
      return { status: 'refused', error: new Error(`connected, but no Redis reply within ${total} ms`, { cause: lastError }) };
    }
    const err = lastError ?? new Error('connection closed');
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== undefined && NOTHING_THERE.has(code)) return { status: 'absent', error: err };
    if (notRedis) return { status: 'refused', error: new Error('something answered, but it does not speak the Redis protocol', { cause: err }) };
    return { status: 'refused', error: err };
  } finally {
    clearTimeout(timer);
  }
}

/** `url` with any password replaced by `***`, for logs and messages. */
export function redactRedisUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(unparseable Redis URL)';
  }
}

/** Whether `url` names this machine: only then may a private redis-server stand in for it. */
export function isLoopbackRedisUrl(url: string): boolean {
  let host: string;
  try {
    const u = new URL(url);
    if (u.protocol !== 'redis:') return false; // rediss: the private one would not speak TLS
    host = u.hostname.toLowerCase();
  } catch {
    return false;
  }
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  return host === 'localhost' || host === '::1' || /^127(\.\d{1,3}){3}$/.test(host);
}
