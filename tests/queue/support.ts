/**
 * Helpers for the queue tests: a log capture, throw-away redis-servers, key clean-up under a
 * test's own prefix (never FLUSHALL on the shared Redis), and event waits.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once, type EventEmitter } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { Redis } from 'ioredis';
import { pino, type Logger } from 'pino';
import { freePort } from '../../queue/process-tools.js';
import { queuePrefix } from '../../queue/queue-names.js';
import { TEST_REDIS_URL, uniqueId } from '../support/test-env.js';

export { TEST_REDIS_URL, uniqueId };

export interface LogCapture {
  log: Logger;
  /** every line logged so far, parsed */
  lines(): Array<Record<string, unknown>>;
  /** the raw text logged so far */
  text(): string;
}

export function captureLog(): LogCapture {
  const chunks: string[] = [];
  const sink = new Writable({ write(chunk, _enc, done) { chunks.push(String(chunk)); done(); } });
  const log = pino({ level: 'debug' }, sink);
  return {
    log,
    text: () => chunks.join(''),
    lines: () => chunks.join('').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

export async function tempDir(): Promise<{ dir: string; remove: () => Promise<void> }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'vigil-queue-'));
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

export interface TestRedis {
  port: number;
  url: string;
  pid: number;
  process: ChildProcess;
  stop(): Promise<void>;
}

/**
 * A throw-away redis-server on a free (or given) loopback port, no persistence; resolves when it
 * logs that it accepts connections, rejects if it exits first.
 */
export async function startTestRedis(extraArgs: string[] = [], port?: number): Promise<TestRedis> {
  const p = port ?? (await freePort());
  const child = spawn('redis-server', ['--bind', '127.0.0.1', '--port', String(p), '--save', '', '--appendonly', 'no', '--daemonize', 'no', ...extraArgs], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  await new Promise<void>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString('utf8');
      if (output.includes('Ready to accept connections')) {
        child.stdout?.off('data', onData);
        child.off('exit', onExit);
        resolve();
      }
    };
    const onExit = (code: number | null) => reject(new Error(`test redis-server exited (${code}):\n${output}`));
    child.stdout?.on('data', onData);
    child.stderr?.on('data', (c: Buffer) => { output += c.toString('utf8'); });
    child.once('exit', onExit);
    child.once('error', (err) => reject(new Error(`cannot run redis-server (the queue tests need it on PATH): ${err.message}`)));
  });
  child.stdout?.resume();
  return {
    port: p,
    url: `redis://127.0.0.1:${p}`,
    pid: child.pid as number,
    process: child,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** Delete every key under a test's queue prefix (SCAN + DEL: never FLUSHALL on the shared Redis). */
export async function deletePrefixKeys(url: string, prefix: string): Promise<number> {
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await client.connect();
  let deleted = 0;
  try {
    let cursor = '0';
    do {
      const [next, keys] = await client.scan(cursor, 'MATCH', `${queuePrefix(prefix)}:*`, 'COUNT', 500);
      cursor = next;
      if (keys.length > 0) deleted += await client.del(...keys);
    } while (cursor !== '0');
  } finally {
    client.disconnect();
  }
  return deleted;
}

/** Resolve when `emitter` has emitted `event` `count` times; reject after `timeoutMs`. */
export function eventCount(emitter: EventEmitter, event: string, count: number, timeoutMs = 15_000): Promise<unknown[][]> {
  return new Promise((resolve, reject) => {
    const seen: unknown[][] = [];
    const timer = setTimeout(() => { emitter.off(event, on); reject(new Error(`saw ${seen.length}/${count} '${event}' events within ${timeoutMs} ms`)); }, timeoutMs);
    const on = (...args: unknown[]) => {
      seen.push(args);
      if (seen.length >= count) { clearTimeout(timer); emitter.off(event, on); resolve(seen); }
    };
    emitter.on(event, on);
  });
}

/** A promise with its resolve exposed. */
export function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => { resolve = r; });
  return { promise, resolve };
}

/** A queue prefix no other test file uses. */
export const newPrefix = (): string => uniqueId('vigiltest');
