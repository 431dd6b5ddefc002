/**
 * A private PostgreSQL server for the fault series, so that it can really be stopped and started
 * again mid-run without touching the machine's shared server on 5432.
 *
 * The Debian binaries (`initdb`, `pg_ctl`, `postgres` under /usr/lib/postgresql/<version>/bin;
 * `FAULT_PG_BIN` overrides) run a cluster in a fresh temporary directory: trust auth, listening
 * on 127.0.0.1 only on a free port, its unix socket in that directory, fsync and full-page writes
 * off (they guard against a crash of the machine; a stop with `-m immediate` is a crash of the
 * server only, and a commit's WAL is already with the OS). `synchronous_commit` stays on: off, an
 * immediate stop would lose commits already acknowledged — a fault no real server is run with. postgres refuses to run as root: when this process is root, every
 * command runs as the `postgres` OS user (`runuser -u postgres --`) and the directory is given to it.
 *
 * Clean-up is guaranteed three ways: `stop()` (idempotent; stops the server, removes the
 * directory); a guardian shell started beside it that does the same as soon as this process is
 * gone, however it ended (SIGKILL included); and a failed start cleans up before it throws.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../support/daemon-process.js';

export interface PrivatePostgres {
  port: number;
  /** the temporary directory: data/, the unix socket, postgres.log */
  dir: string;
  /** `postgres://postgres@127.0.0.1:PORT/<database>` */
  url(database?: string): string;
  /** false from the moment a stop begins until the server accepts connections again */
  readonly up: boolean;
  /**
   * Stops the server (`pg_ctl stop -m <mode>`: `immediate` kills it without a checkpoint, so the
   * start does crash recovery; `fast` aborts open transactions and shuts down cleanly), waits
   * `downMs`, and starts it again on the same port; resolves once it accepts connections, with
   * how long the stop and the start took (a slow one explains a long outage).
   */
  restart(mode: 'immediate' | 'fast', downMs: number): Promise<{ stopMs: number; startMs: number }>;
  /** Stops the server and removes its directory. Idempotent; never throws. */
  stop(): Promise<void>;
}

/** The newest /usr/lib/postgresql/<version>/bin that has initdb, or `FAULT_PG_BIN`. */
function binDir(): string {
  if (process.env.FAULT_PG_BIN) return process.env.FAULT_PG_BIN;
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).filter((v) => existsSync(path.join(root, v, 'bin', 'initdb'))) : [];
  versions.sort((a, b) => Number(b) - Number(a));
  if (versions.length === 0) throw new Error(`no PostgreSQL server binaries under ${root} (set FAULT_PG_BIN to the directory holding initdb and pg_ctl)`);
  return path.join(root, versions[0]!, 'bin');
}

/** Runs a command to completion (as `postgres` when we are root); rejects with its output on failure. */
function run(argv: string[], asPostgres: boolean, timeoutMs = 60_000): Promise<string> {
  const [cmd, ...args] = asPostgres ? ['runuser', '-u', 'postgres', '--', ...argv] : argv;
  return new Promise((resolve, reject) => {
    const child = spawn(cmd!, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => { out += c.toString(); });
    child.stderr.on('data', (c: Buffer) => { out += c.toString(); });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', (err) => { clearTimeout(timer); reject(err); });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve(out);
      else reject(new Error(`${argv.join(' ')} failed (${signal ?? code}):\n${out}`));
    });
  });
}

/**
 * Starts a private server (initdb, then pg_ctl start) and resolves once it accepts connections.
 * @throws Error naming the step that failed (binaries missing, no `postgres` user, initdb or
 *   start failing, with postgres.log); nothing is left behind.
 */
export async function startPrivatePostgres(): Promise<PrivatePostgres> {
  const bin = binDir();
  const asPostgres = process.getuid?.() === 0;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'vigil-fault-pg-'));
  const data = path.join(dir, 'data');
  const logFile = path.join(dir, 'postgres.log');
  let guardian: ChildProcess | null = null;
  let stopped: Promise<void> | null = null;
  let up = false;
  const port = await freePort();

  const pgCtl = (...args: string[]) => run([path.join(bin, 'pg_ctl'), '-D', data, ...args], asPostgres);
  const start = () => pgCtl('-l', logFile, '-w', '-t', '60', '-o',
    // one string: pg_ctl hands it to postgres through a shell (the temp path has no spaces)
    [`-p ${port}`, `-k ${dir}`, '-c listen_addresses=127.0.0.1', '-c fsync=off', '-c full_page_writes=off', '-c max_connections=300', '-c shared_buffers=32MB'].join(' '), 'start');
  const stopServer = (mode: 'immediate' | 'fast') => pgCtl('-m', mode, '-w', '-t', '60', 'stop');

  const cleanUp = async (): Promise<void> => {
    up = false;
    if (existsSync(path.join(data, 'postmaster.pid'))) await stopServer('immediate').catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
    if (guardian?.pid && guardian.exitCode === null) {
      try { process.kill(guardian.pid, 'SIGKILL'); } catch { /* already gone */ }
    }
  };

  try {
    if (asPostgres) {
      const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
      const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
      chownSync(dir, uid, gid);
    }
    await run([path.join(bin, 'initdb'), '-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync', '--no-instructions'], asPostgres);
    // The guardian: once this process is gone (however it ended), stop the server and remove the dir.
    const stopCmd = [asPostgres ? 'runuser -u postgres --' : '', path.join(bin, 'pg_ctl'), '-D', data, '-m immediate -w stop'].join(' ');
    guardian = spawn('sh', ['-c', `while kill -0 ${process.pid} 2>/dev/null; do sleep 1; done; ${stopCmd} >/dev/null 2>&1; rm -rf '${dir}'`], {
      detached: true, stdio: 'ignore',
    });
    guardian.unref();
    await start();
    up = true;
  } catch (err) {
    const log = existsSync(logFile) ? readFileSync(logFile, 'utf8').slice(-4000) : '';
    await cleanUp();
    throw new Error(`could not start a private PostgreSQL server: ${(err as Error).message}${log ? `\npostgres.log:\n${log}` : ''}`, { cause: err });
  }

  return {
    port,
    dir,
    url: (database = 'postgres') => `postgres://postgres@127.0.0.1:${port}/${database}`,
    get up() { return up; },
    async restart(mode, downMs) {
      up = false;
      const stopping = Date.now();
      await stopServer(mode);
      const stopMs = Date.now() - stopping;
      await new Promise((r) => setTimeout(r, downMs));
      const starting = Date.now();
      await start();
      up = true;
      return { stopMs, startMs: Date.now() - starting };
    },
    stop() {
      stopped ??= cleanUp().catch(() => undefined);
      return stopped;
    },
  };
}
