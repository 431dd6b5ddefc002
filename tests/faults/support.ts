/**
 * What the fault tests share: a vigil daemon as a child process (`bin/vigil.js start --role …`)
 * pointed at a database of its own, a private redis-server and the simulated world, and ways to
 * read the state of record while it runs.
 *
 * Safety: every fault (kill, flush, restart) hits only parts the test started itself — a private
 * redis-server on a free loopback port, a PostgreSQL database created for the test. The shared
 * Redis on 6379 and the machine's PostgreSQL server are never touched.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { request } from 'undici';
import { stringify } from 'yaml';
import type { World } from '../world/world.js';
import { baseEnv, freePort, runVigil, type VigilProcess } from '../support/daemon-process.js';
import { uniqueId } from '../support/test-env.js';

export type Role = 'all' | 'api' | 'worker' | 'scheduler';

export interface DaemonSetup {
  databaseUrl: string;
  redisUrl: string;
  world: World;
  /** merged over the defaults below (YAML config keys) */
  config?: Record<string, unknown>;
}

export interface Daemon extends VigilProcess {
  role: Role;
  /** http://127.0.0.1:PORT when the role serves the API */
  url: string | null;
  /** lines logged so far, parsed */
  lines(): Record<string, unknown>[];
  /** SIGKILL and wait for the exit */
  kill9(): Promise<void>;
  /** SIGTERM and wait for the exit; resolves with the exit and how long it took */
  term(): Promise<{ code: number | null; ms: number }>;
}

const dirs: string[] = [];
export function cleanupDirs(): void {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
}

function merge(a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...a };
  for (const [k, v] of Object.entries(b)) {
    const prev = out[k];
    out[k] = prev && typeof prev === 'object' && !Array.isArray(prev) && v && typeof v === 'object' && !Array.isArray(v)
      ? merge(prev as Record<string, unknown>, v as Record<string, unknown>) : v;
  }
  return out;
}

/** A configuration for fast faults: short locks, stalled checks, reconcile passes and cadences. */
export function faultConfig(setup: DaemonSetup, prefix: string): Record<string, unknown> {
  const w = setup.world.config();
  return merge({
    queue: {
      prefix, lockDuration: '2s', stalledInterval: '1s', maxStalledCount: 3, watchdogInterval: '1s',
      dispatchInterval: '100ms', reconcileInterval: '1s', checkLease: '10m',
    },
    crawler: { ...w.crawler, timeouts: { connect: '2s', total: '20s' }, concurrency: 16 },
    tracing: w.tracing,
    notices: { smtp: { url: w.notices.smtp.url } },
    schedule: { recheck: { live: '2s', unreachable: '2s' } },
    shutdown: { deadline: '3s' },
  }, setup.config ?? {});
}

/** Starts `vigil start --role <role>` and waits for "vigil started". */
export async function startDaemon(role: Role, setup: DaemonSetup, prefix: string): Promise<Daemon> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'vigil-fault-'));
  dirs.push(dir);
  const file = path.join(dir, 'vigil.yaml');
  writeFileSync(file, stringify(faultConfig(setup, prefix)));
  const port = await freePort();
  const proc = runVigil(['start', '--role', role, '--config', file], {
    cwd: dir,
    env: baseEnv({
      DATABASE_URL: setup.databaseUrl, REDIS_URL: setup.redisUrl, VIGIL_DATA_DIR: path.join(dir, 'data'),
      VIGIL_HTTP_PORT: String(port), VIGIL_ADMIN_TOKEN: `fault-admin-${uniqueId('tok')}`,
      ...(process.env.VIGIL_FAULT_NODE_OPTIONS ? { NODE_OPTIONS: process.env.VIGIL_FAULT_NODE_OPTIONS } : {}),
    }),
  });
  await proc.waitForLog((l) => l.msg === 'vigil started', 60_000);
  const lines = () => proc.stdout().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
  return {
    ...proc,
    role,
    url: role === 'all' || role === 'api' ? `http://127.0.0.1:${port}` : null,
    lines,
    async kill9() {
      if (proc.child.exitCode === null && proc.child.signalCode === null) proc.child.kill('SIGKILL');
      await proc.exited;
    },
    async term() {
      const started = Date.now();
      proc.child.kill('SIGTERM');
      const { code } = await proc.exited;
      return { code, ms: Date.now() - started };
    },
  };
}

/** GET /readyz: status code and the database check. */
export async function readyz(url: string): Promise<{ status: number; database: { ok: boolean; detail?: string } | undefined }> {
  const res = await request(`${url}/readyz`, { headersTimeout: 5000, bodyTimeout: 5000 });
  const body = (await res.body.json()) as { checks?: Record<string, { ok: boolean; detail?: string }> };
  return { status: res.statusCode, database: body.checks?.database };
}
