/**
 * What the in-process daemon tests share: the configuration of a daemon on the machine's
 * PostgreSQL and Redis that crawls and traces the loopback world (fast dispatch, short crawler
 * deadlines), a JSON client for its API, and the teardown.
 */
import { rmSync } from 'node:fs';
import { request } from 'undici';
import type { VigilConfigInput } from '../../config/config-schema.js';
import { queuePrefix } from '../../queue/queue-names.js';
import type { World } from '../world/world.js';
import { removeQueueKeys, TEST_REDIS_URL } from './test-env.js';

export interface WorldDaemonBase {
  dataDir: string;
  databaseUrl: string;
  /** the queue prefix (a unique one per test file) */
  prefix: string;
  adminToken: string;
}

/**
 * The configuration as written, for `parseConfig`: `crawler` keys in `extra` are merged into the
 * world's crawler settings, any other section of `extra` replaces the default one.
 */
export function worldDaemonConfig(world: World, base: WorldDaemonBase, extra: Omit<VigilConfigInput, 'crawler'> & { crawler?: Record<string, unknown> } = {}): VigilConfigInput {
  const w = world.config();
  const { crawler, ...sections } = extra;
  return {
    dataDir: base.dataDir,
    http: { port: 0 },
    auth: { adminToken: base.adminToken },
    storage: { databaseUrl: base.databaseUrl },
    queue: { redisUrl: TEST_REDIS_URL, prefix: base.prefix, dispatchInterval: '100ms' },
    crawler: { dnsServers: w.crawler.dnsServers, allowNetworks: w.crawler.allowNetworks, timeouts: { connect: '2s', total: '5s' }, ...crawler },
    tracing: w.tracing,
    ...sections,
  } as VigilConfigInput;
}

/** A JSON caller of the daemon's API at `baseUrl` (a null body when the answer has none). */
export function jsonApi(baseUrl: () => string | null) {
  return async <T>(method: 'GET' | 'POST', p: string, token: string, json?: unknown): Promise<{ status: number; body: T }> => {
    const base = baseUrl();
    if (base === null) throw new Error('the daemon serves no API');
    const headers: Record<string, string> = { authorization: `Bearer ${token}` };
    if (json !== undefined) headers['content-type'] = 'application/json';
    const res = await request(`${base}${p}`, { method, headers, body: json === undefined ? undefined : JSON.stringify(json) });
    const text = await res.body.text();
    return { status: res.statusCode, body: (text ? JSON.parse(text) : null) as T };
  };
}

/** Stops what a world-daemon test started (each part may be missing: its start failed). */
export async function stopWorldDaemon(parts: {
  daemon?: { stop(reason: string): Promise<unknown> };
  prefix: string;
  db?: { drop(): Promise<void> };
  world?: World;
  dataDir?: string;
}): Promise<void> {
  await parts.daemon?.stop('test done');
  await removeQueueKeys(queuePrefix(parts.prefix));
  await parts.db?.drop();
  await parts.world?.close();
  if (parts.dataDir) rmSync(parts.dataDir, { recursive: true, force: true });
}
