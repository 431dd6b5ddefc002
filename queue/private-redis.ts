/**
 * A private redis-server for a daemon that found no Redis at a loopback REDIS_URL (CONTRACT.md §1):
 * data in `<dataDir>/redis`, AOF on, loopback only, stopped with the daemon.
 *
 * - It listens on a free port, not the configured one: an operator's own Redis that is merely slow
 *   to start must not find its port taken.
 * - It requires a random password, handed over on stdin (never in argv, where `ps` shows it) and
 *   kept with the pid and port in a 0600 state file: other local users cannot read or inject jobs.
 * - It runs in its own process group, so a Ctrl-C in the terminal reaches only the daemon, which
 *   drains its workers first and stops Redis last.
 * - The state file lets the next start find an instance still running in the same dataDir: one
 *   another live vigil process owns is shared (and left to it); one whose owner died is adopted;
 *   one that never answers is stopped and replaced. Two servers never write the same AOF.
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import { delay, freePort, pidAlive, processCommand, waitForPidExit } from './process-tools.js';
import { parseRedisInfo } from './redis-requirements.js';
import { probeRedis, redactRedisUrl } from './redis-probe.js';

export interface PrivateRedis {
  /** connection URL, password included: do not log it (use redactRedisUrl) */
  readonly url: string;
  readonly port: number;
  readonly pid: number;
  /** `<dataDir>/redis` */
  readonly dir: string;
  /** true: stop() stops the server. false: another live vigil process started it and will. */
  readonly owned: boolean;
  /** true: found running from an earlier start, not spawned now */
  readonly reused: boolean;
  /** SIGTERM (Redis then fsyncs the AOF and exits, as on SHUTDOWN), wait, SIGKILL after `timeoutMs`. @default 10000 */
  stop(timeoutMs?: number): Promise<void>;
}

export interface PrivateRedisOptions {
  dataDir: string;
  log: Logger;
  /** @default 'redis-server', looked up on PATH */
  binary?: string;
  /** how long the server may take to answer PING (loading a large AOF takes a while) @default 30000 */
  startTimeoutMs?: number;
}

interface State {
  pid: number;
  port: number;
  password: string;
  ownerPid: number;
  startedAt: string;
}

const STATE_FILE = 'private-redis.json';
const urlFor = (port: number, password: string) => `redis://:${password}@127.0.0.1:${port}`;

/** The version of the redis-server binary, or why it cannot be run (`missing`). */
export function redisServerVersion(binary = 'redis-server'): Promise<{ version: string } | { missing: string }> {
  return new Promise((resolve) => {
    execFile(binary, ['--version'], { timeout: 5000 }, (err, stdout) => {
      if (err) return resolve({ missing: (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'not found' : err.message });
      resolve({ version: /v=(\S+)/.exec(stdout)?.[1] ?? 'unknown' });
    });
  });
}

/**
 * Start (or find running) the private redis-server of `dataDir`, and wait until it answers PING.
 * @throws Error when it cannot be started or does not answer within `startTimeoutMs`
 */
export async function startPrivateRedis(options: PrivateRedisOptions): Promise<PrivateRedis> {
  const dir = path.resolve(options.dataDir, 'redis');
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const statePath = path.join(dir, STATE_FILE);
  const ctx = { ...options, dir, statePath, binary: options.binary ?? 'redis-server', startTimeoutMs: options.startTimeoutMs ?? 30_000 };

  const previous = await readState(statePath);
  if (previous) {
    const reused = await reuse(previous, ctx);
    if (reused) return reused;
    await rm(statePath, { force: true });
  }
  // The port is free when we ask, but another program may take it before Redis binds: retry.
  for (let attempt = 1; ; attempt++) {
    try {
      return await spawnServer(await freePort(), ctx);
    } catch (err) {
      if (attempt >= 3 || !(err as { portInUse?: boolean }).portInUse) throw err;
    }
  }
}

type Ctx = Required<PrivateRedisOptions> & { dir: string; statePath: string };

async function spawnServer(port: number, ctx: Ctx): Promise<PrivateRedis> {
  const password = randomBytes(24).toString('hex');
  const logFile = path.join(ctx.dir, 'redis.log');
  const child = spawn(ctx.binary, [
    '-', // read configuration from stdin: the password
    '--bind', '127.0.0.1', '--port', String(port), '--protected-mode', 'yes',
    '--dir', ctx.dir, '--appendonly', 'yes', '--save', '',
    '--maxmemory-policy', 'noeviction', '--daemonize', 'no', '--logfile', logFile,
  ], { cwd: ctx.dir, detached: true, stdio: ['pipe', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => { if (stderr.length < 8192) stderr += chunk.toString('utf8'); });
  child.stdin?.on('error', () => { /* the exit below reports it */ });
  child.stdin?.end(`requirepass ${password}\n`);
  const exited = new Promise<string>((resolve) => {
    child.once('error', (err) => resolve(err.message));
    child.once('exit', (code, signal) => resolve(`exited with ${signal ?? `code ${code}`}`));
  });

  // Written before it answers: a crash while it starts must not leave a server the next start
  // cannot find (two servers must never share the AOF).
  const state: State = { pid: child.pid ?? -1, port, password, ownerPid: process.pid, startedAt: new Date().toISOString() };
  if (child.pid !== undefined) await writeState(ctx.statePath, state);

  const url = urlFor(port, password);
  const stopPolling = new AbortController();
  const outcome = await Promise.race([
    exited,
    answers(url, child.pid ?? -1, Date.now() + ctx.startTimeoutMs, stopPolling.signal).then((ok) => (ok ? null : 'timeout')),
  ]);
  stopPolling.abort();
  if (outcome !== null) {
    if (outcome === 'timeout') await terminate(child.pid ?? -1, child, 5000);
    const tail = (await readFile(logFile, 'utf8').catch(() => '')).split('\n').slice(-15).join('\n');
    const why = `${stderr}\n${tail}`.trim();
    const what = outcome === 'timeout' ? `did not answer within ${ctx.startTimeoutMs} ms` : outcome;
    const err = new Error(`private redis-server (${ctx.binary}) ${what}${why ? `:\n${why}` : ''}`);
    Object.assign(err, { portInUse: /Address already in use/i.test(why) });
    await rm(ctx.statePath, { force: true });
    throw err;
  }
  child.stderr?.removeAllListeners('data');
  child.stderr?.resume(); // keep draining so Redis never blocks on a full pipe
  (child.stderr as { unref?: () => void } | null)?.unref?.();
  child.unref(); // stop() ends it; an unclosed handle must not keep the daemon alive
  ctx.log.info({ redis: redactRedisUrl(url), pid: state.pid, dir: ctx.dir, logFile }, 'started a private redis-server');
  return handle(state, { owned: true, reused: false, child }, ctx);
}

async function reuse(prev: State, ctx: Ctx): Promise<PrivateRedis | null> {
  const url = urlFor(prev.port, prev.password);
  if (!pidAlive(prev.pid)) {
    ctx.log.info({ pid: prev.pid }, 'previous private redis-server is gone; starting a new one');
    return null;
  }
  let ok = await answers(url, prev.pid, Date.now() + 1500);
  if (!ok) {
    const command = await processCommand(prev.pid);
    // its process title is "redis-server 127.0.0.1:<port>": a pid reused by another program,
    // or by someone else's redis-server, is not ours to wait for or stop
    if (command === null || !/redis-server|valkey-server/.test(command) || !command.includes(String(prev.port))) {
      ctx.log.info({ pid: prev.pid }, 'stale private-redis state (pid now belongs to another program); starting a new one');
      return null;
    }
    // a redis-server from this dataDir that does not answer yet: maybe still loading its AOF
    ok = await answers(url, prev.pid, Date.now() + ctx.startTimeoutMs);
    if (!ok) {
      ctx.log.warn({ pid: prev.pid }, 'previous private redis-server does not answer; stopping it and starting a new one');
      await terminate(prev.pid, undefined, 5000);
      return null;
    }
  }
  // Its owner died (crash, SIGKILL): adopt it. Else share it and leave stopping to the owner.
  const owned = !pidAlive(prev.ownerPid);
  const state = owned ? { ...prev, ownerPid: process.pid } : prev;
  if (owned) await writeState(ctx.statePath, state);
  ctx.log.info({ redis: redactRedisUrl(url), pid: prev.pid, dir: ctx.dir, owned }, 'using the private redis-server already running in dataDir');
  return handle(state, { owned, reused: true }, ctx);
}

function handle(state: State, how: { owned: boolean; reused: boolean; child?: ChildProcess }, ctx: Ctx): PrivateRedis {
  let stopping: Promise<void> | undefined;
  return {
    url: urlFor(state.port, state.password),
    port: state.port,
    pid: state.pid,
    dir: ctx.dir,
    owned: how.owned,
    reused: how.reused,
    stop(timeoutMs = 10_000) {
      stopping ??= (async () => {
        if (!how.owned) return;
        await terminate(state.pid, how.child, timeoutMs);
        const current = await readState(ctx.statePath);
        if (current?.pid === state.pid) await rm(ctx.statePath, { force: true });
        ctx.log.info({ pid: state.pid }, 'stopped the private redis-server');
      })();
      return stopping;
    },
  };
}

/** Poll until the server at `url` answers as process `pid`; false at the deadline or on abort. */
async function answers(url: string, pid: number, deadline: number, signal?: AbortSignal): Promise<boolean> {
  for (;;) {
    const left = deadline - Date.now();
    if (left <= 0 || signal?.aborted) return false;
    const probe = await probeRedis(url, { connectTimeoutMs: Math.min(500, left), totalTimeoutMs: Math.min(5000, left) });
    if (probe.status === 'ok') {
      try {
        // the pid tells our server from another program's that got the port
        if (parseRedisInfo(await probe.client.info('server'))['process_id'] === String(pid)) return true;
      } catch {
        // LOADING the AOF: not ready yet
      } finally {
        probe.client.disconnect();
      }
    }
    try {
      await delay(50, signal);
    } catch {
      return false;
    }
  }
}

async function terminate(pid: number, child: ChildProcess | undefined, timeoutMs: number): Promise<void> {
  if (pid <= 0 || !pidAlive(pid)) return;
  const gone = child ? childExit(child, timeoutMs) : waitForPidExit(pid, timeoutMs);
  try {
    process.kill(pid, 'SIGTERM');
    process.kill(pid, 'SIGCONT'); // a stopped process acts on SIGTERM only once continued
  } catch { /* already gone */ }
  if (await gone) return;
  try { process.kill(pid, 'SIGKILL'); } catch { /* already gone */ }
  await (child ? childExit(child, 5000) : waitForPidExit(pid, 5000));
}

function childExit(child: ChildProcess, timeoutMs: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => { child.off('exit', onExit); resolve(false); }, timeoutMs);
    const onExit = () => { clearTimeout(timer); resolve(true); };
    child.once('exit', onExit);
  });
}

async function readState(file: string): Promise<State | null> {
  try {
    const s = JSON.parse(await readFile(file, 'utf8')) as Partial<State>;
    if (typeof s.pid === 'number' && typeof s.port === 'number' && typeof s.password === 'string' && typeof s.ownerPid === 'number') {
      return s as State;
    }
  } catch {
    // missing or unreadable: no previous instance
  }
  return null;
}

async function writeState(file: string, state: State): Promise<void> {
  await writeFile(file, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
  await chmod(file, 0o600);
}
