/**
 * What the in-process daemon tests share: the configuration of a daemon on the machine's
 * PostgreSQL and Redis that crawls and traces the loopback world (fast dispatch, short crawler
 * deadlines), starting it (all roles, in this process) with the world and a database, a JSON
 * client for its API, and the teardown.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { request } from 'undici';
import type { VigilConfigInput } from '../../config/config-schema.js';
import { parseConfig } from '../../config/load-config.js';
import { startDaemon, type RunningDaemon } from '../../daemon/start-daemon.js';
import { queuePrefix } from '../../queue/queue-names.js';
import { startWorld, type World } from '../world/world.js';
import { createTestDatabase, logCapture, removeQueueKeys, TEST_REDIS_URL } from './test-env.js';

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
async function stopWorldDaemon(parts: {
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

type ExtraConfig = Parameters<typeof worldDaemonConfig>[2];

export interface WorldDaemon {
  world: World;
  db: Awaited<ReturnType<typeof createTestDatabase>>;
  daemon: RunningDaemon;
  dataDir: string;
  /** stops the daemon, drops the database and the queue keys, closes the world */
  stop(): Promise<void>;
}

/**
 * The loopback world, a fresh PostgreSQL database and the daemon (role `all`, its log kept in
 * memory) configured by {@link worldDaemonConfig} plus `extra(world)`. Whatever started is
 * stopped again when a later part fails.
 */
export async function startWorldDaemon(options: { prefix: string; adminToken: string; extra?: (world: World) => ExtraConfig }): Promise<WorldDaemon> {
  const parts: Parameters<typeof stopWorldDaemon>[0] = { prefix: options.prefix };
  try {
    const world = parts.world = await startWorld();
    const db = parts.db = await createTestDatabase();
    const dataDir = parts.dataDir = mkdtempSync(path.join(os.tmpdir(), 'vigil-world-daemon-'));
    const config = parseConfig(worldDaemonConfig(world, { dataDir, databaseUrl: db.url, prefix: options.prefix, adminToken: options.adminToken }, options.extra?.(world)), {});
    const daemon = parts.daemon = await startDaemon({ config, role: 'all', log: pino({ level: 'debug' }, logCapture().sink) });
    return { world, db, daemon, dataDir, stop: () => stopWorldDaemon(parts) };
  } catch (err) {
    await stopWorldDaemon(parts);
    throw err;
  }
}
