import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { access, chmod, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { isVigilError, type VigilError } from '../../core/errors.js';
import { freePort, pidAlive } from '../../queue/process-tools.js';
import { connectRedis, connectionOptions, type RedisHandle } from '../../queue/redis-connection.js';
import { isLoopbackRedisUrl, redactRedisUrl } from '../../queue/redis-probe.js';
import { parseRedisInfo, versionAtLeast } from '../../queue/redis-requirements.js';
import { captureLog, startTestRedis, tempDir, TEST_REDIS_URL, type TestRedis } from './support.js';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});

async function dataDir(): Promise<string> {
  const t = await tempDir();
  cleanups.push(t.remove);
  return t.dir;
}

async function connect(options: Parameters<typeof connectRedis>[0]): Promise<RedisHandle> {
  const handle = await connectRedis(options);
  cleanups.push(() => handle.close());
  return handle;
}

async function testRedis(args: string[] = []): Promise<TestRedis> {
  const r = await startTestRedis(args);
  cleanups.push(() => r.stop());
  return r;
}

async function rejection(promise: Promise<unknown>): Promise<VigilError> {
  try {
    await promise;
  } catch (err) {
    if (isVigilError(err)) return err;
    throw err;
  }
  throw new Error('expected a VigilError, but it resolved');
}

async function pingWith(handle: RedisHandle): Promise<string> {
  const c = handle.createConnection('health');
  await once(c, 'ready');
  return c.ping();
}

/** The pid of a process that has exited: a "dead owner". */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '']);
  await once(child, 'exit');
  return child.pid as number;
}

describe('connectRedis: an existing Redis', () => {
  it('uses the Redis at the URL and makes working connections that close() ends', async () => {
    const { log } = captureLog();
    const handle = await connectRedis({ url: TEST_REDIS_URL, dataDir: await dataDir(), log });
    expect(handle.private).toBeNull();
    expect(handle.url).toBe(TEST_REDIS_URL);
    expect(versionAtLeast(handle.version, '6.2.0')).toBe(true);
    const worker = handle.createConnection('worker');
    expect(await pingWith(handle)).toBe('PONG');
    await handle.close();
    expect(worker.status).toBe('end');
    expect(() => handle.createConnection('producer')).toThrow(/closed/);
  });

  it('refuses a Redis whose maxmemory-policy is not noeviction, saying how to fix it', async () => {
    const r = await testRedis(['--maxmemory-policy', 'allkeys-lru']);
    const err = await rejection(connectRedis({ url: r.url, dataDir: await dataDir(), log: captureLog().log, startPrivate: false }));
    expect(err.code).toBe('REDIS_EVICTION_POLICY');
    expect(err.message).toContain('allkeys-lru');
    expect(err.message).toContain('CONFIG SET maxmemory-policy noeviction');
    expect(err.message).toContain('redis.conf');
  });

  it('reads the policy from INFO memory when CONFIG is disabled', async () => {
    const r = await testRedis(['--maxmemory-policy', 'volatile-ttl', '--rename-command', 'CONFIG', '']);
    const err = await rejection(connectRedis({ url: r.url, dataDir: await dataDir(), log: captureLog().log, startPrivate: false }));
    expect(err.code).toBe('REDIS_EVICTION_POLICY');
    expect(err.message).toContain('volatile-ttl');
  });

  it('says REDIS_UNAVAILABLE when something answers that will not serve (wrong password, not Redis)', async () => {
    const r = await testRedis(['--requirepass', 'right']);
    const wrong = await rejection(connectRedis({ url: `redis://:wrong@127.0.0.1:${r.port}`, dataDir: await dataDir(), log: captureLog().log }));
    expect(wrong.code).toBe('REDIS_UNAVAILABLE');
    expect(wrong.message).toMatch(/WRONGPASS|password/);
    expect(wrong.message).not.toContain('wrong@'); // the password is redacted

    const sockets = new Set<net.Socket>();
    const server = net.createServer((socket) => {
      sockets.add(socket);
      socket.end('HTTP/1.1 400 Bad Request\r\n\r\n');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(resolve);
    }));
    const port = (server.address() as net.AddressInfo).port;
    const notRedis = await rejection(connectRedis({ url: `redis://127.0.0.1:${port}`, dataDir: await dataDir(), log: captureLog().log }));
    expect(notRedis.code).toBe('REDIS_UNAVAILABLE');
    expect(notRedis.message).toContain('would not serve vigil');
    expect(notRedis.message).toContain('does not speak the Redis protocol');
  });
});

describe('connectRedis: nothing answers', () => {
  it('with startPrivate false: REDIS_UNAVAILABLE that names the URL and REDIS_URL', async () => {
    const port = await freePort();
    const err = await rejection(connectRedis({ url: `redis://127.0.0.1:${port}`, dataDir: await dataDir(), log: captureLog().log, startPrivate: false }));
    expect(err.code).toBe('REDIS_UNAVAILABLE');
    expect(err.message).toContain(`No Redis answered at redis://127.0.0.1:${port}`);
    expect(err.message).toContain('REDIS_URL');
  });

  it('without a redis-server binary: REDIS_UNAVAILABLE that says how to install Redis', async () => {
    const port = await freePort();
    const dir = await dataDir();
    const err = await rejection(connectRedis({ url: `redis://127.0.0.1:${port}`, dataDir: dir, log: captureLog().log, redisServer: path.join(dir, 'no-such-redis-server') }));
    expect(err.code).toBe('REDIS_UNAVAILABLE');
    expect(err.message).toContain(`No Redis answered at redis://127.0.0.1:${port}`);
    expect(err.message).toContain('apt-get install redis-server');
    expect(err.message).toContain('brew install redis');
    expect(err.message).toContain('REDIS_URL');
  });

  it('does not start a private Redis for a URL on another machine', async () => {
    const err = await rejection(connectRedis({ url: 'redis://no-such-host.invalid:6379', dataDir: await dataDir(), log: captureLog().log, connectTimeoutMs: 500 }));
    expect(err.code).toBe('REDIS_UNAVAILABLE');
    expect(err.message).toContain('reachable from this machine');
  });

  it('refuses a redis-server on PATH older than 6.2, and reports one that fails to start', async () => {
    const dir = await dataDir();
    const fake = async (name: string, script: string) => {
      const file = path.join(dir, name);
      await writeFile(file, `#!/bin/sh\n${script}\n`);
      await chmod(file, 0o755);
      return file;
    };
    const url = `redis://127.0.0.1:${await freePort()}`;
    const old = await fake('old-redis', 'echo "Redis server v=5.0.7 sha=0"; exit 0');
    const tooOld = await rejection(connectRedis({ url, dataDir: dir, log: captureLog().log, redisServer: old }));
    expect(tooOld.code).toBe('REDIS_VERSION_UNSUPPORTED');
    expect(tooOld.message).toContain('5.0.7');

    const broken = await fake('broken-redis', 'if [ "$1" = "--version" ]; then echo "Redis server v=7.2.0"; exit 0; fi\necho "FATAL: broken on purpose" >&2; exit 1');
    const failed = await rejection(connectRedis({ url, dataDir: dir, log: captureLog().log, redisServer: broken }));
    expect(failed.code).toBe('REDIS_UNAVAILABLE');
    expect(failed.message).toContain('failed to start');
    expect(failed.message).toContain('broken on purpose');
  });
});

describe('connectRedis: a private redis-server', () => {
  it('starts one in dataDir/redis when nothing listens at a loopback URL, with AOF, and stops it on close', async () => {
    const dir = await dataDir();
    const capture = captureLog();
    const port = await freePort();
    const handle = await connect({ url: `redis://127.0.0.1:${port}`, dataDir: dir, log: capture.log });
    const priv = handle.private;
    expect(priv).not.toBeNull();
    if (!priv) return;
    expect(priv.owned).toBe(true);
    expect(priv.reused).toBe(false);
    expect(handle.url).toBe(priv.url);
    expect(pidAlive(priv.pid)).toBe(true);
    expect(await pingWith(handle)).toBe('PONG');

    const c = handle.createConnection('producer');
    await once(c, 'ready');
    const config = await c.config('GET', '*') as string[];
    const get = (k: string) => config[config.indexOf(k) + 1];
    expect(get('appendonly')).toBe('yes');
    expect(get('maxmemory-policy')).toBe('noeviction');
    expect(get('bind')).toBe('127.0.0.1');
    expect(get('save')).toBe('');
    expect(get('dir')).toBe(path.join(dir, 'redis'));

    const entries = await readdir(path.join(dir, 'redis'));
    expect(entries.some((e) => e.startsWith('appendonly'))).toBe(true); // appendonlydir (7.x) or appendonly.aof (6.2)
    const state = path.join(dir, 'redis', 'private-redis.json');
    expect((await stat(state)).mode & 0o077).toBe(0);

    // loopback only, and a password: another local user cannot use it
    const anonymous = new Redis({ port: priv.port, host: '127.0.0.1', lazyConnect: true, retryStrategy: () => null, enableReadyCheck: false });
    anonymous.on('error', () => undefined);
    await anonymous.connect();
    await expect(anonymous.ping()).rejects.toThrow(/NOAUTH/);
    anonymous.disconnect();

    const started = capture.lines().find((l) => l.msg === 'started a private redis-server');
    expect(started?.redis).toBe(`redis://:***@127.0.0.1:${priv.port}`);
    expect(capture.text()).not.toContain(new URL(priv.url).password);

    await handle.close();
    expect(pidAlive(priv.pid)).toBe(false);
    await expect(access(state)).rejects.toThrow();
  });

  it('shares a private server another live handle owns, and adopts one whose owner died', async () => {
    const dir = await dataDir();
    const url = `redis://127.0.0.1:${await freePort()}`;
    const first = await connect({ url, dataDir: dir, log: captureLog().log });
    const pid = first.private?.pid;

    const second = await connectRedis({ url, dataDir: dir, log: captureLog().log });
    expect(second.private).toMatchObject({ pid, reused: true, owned: false });
    await second.close();
    expect(pidAlive(pid as number)).toBe(true); // not second's to stop
    expect(await pingWith(first)).toBe('PONG');

    // the owner "crashes": its pid in the state file is dead
    const statePath = path.join(dir, 'redis', 'private-redis.json');
    const state = JSON.parse(await readFile(statePath, 'utf8')) as { ownerPid: number };
    await writeFile(statePath, JSON.stringify({ ...state, ownerPid: await deadPid() }), { mode: 0o600 });
    const third = await connectRedis({ url, dataDir: dir, log: captureLog().log });
    expect(third.private).toMatchObject({ pid, reused: true, owned: true });
    await third.close();
    expect(pidAlive(pid as number)).toBe(false);
  });

  it('starts a new server when the state file names a process that is gone', async () => {
    const dir = await dataDir();
    const url = `redis://127.0.0.1:${await freePort()}`;
    const first = await connectRedis({ url, dataDir: dir, log: captureLog().log });
    const statePath = path.join(dir, 'redis', 'private-redis.json');
    const state = await readFile(statePath, 'utf8');
    const oldPid = first.private?.pid;
    await first.close();
    await writeFile(statePath, state, { mode: 0o600 }); // as after a crash: the file outlived the server

    const second = await connect({ url, dataDir: dir, log: captureLog().log });
    expect(second.private?.reused).toBe(false);
    expect(second.private?.pid).not.toBe(oldPid);
    expect(await pingWith(second)).toBe('PONG');
  });
  it('stops and replaces a private server from an earlier start that no longer answers', async () => {
    const dir = await dataDir();
    const url = `redis://127.0.0.1:${await freePort()}`;
    const first = await connect({ url, dataDir: dir, log: captureLog().log });
    const hung = first.private?.pid as number;
    process.kill(hung, 'SIGSTOP'); // alive, but answers nothing
    cleanups.push(async () => { try { process.kill(hung, 'SIGCONT'); } catch { /* gone */ } });

    const capture = captureLog();
    const second = await connect({ url, dataDir: dir, log: capture.log, privateStartTimeoutMs: 1000 });
    expect(second.private?.reused).toBe(false);
    expect(second.private?.pid).not.toBe(hung);
    expect(pidAlive(hung)).toBe(false);
    expect(capture.lines().some((l) => l.msg === 'previous private redis-server does not answer; stopping it and starting a new one')).toBe(true);
    expect(await pingWith(second)).toBe('PONG');
  });
});

describe('redis helpers', () => {
  it('compares versions numerically', () => {
    expect(versionAtLeast('7.0.15', '6.2.0')).toBe(true);
    expect(versionAtLeast('6.2.0', '6.2.0')).toBe(true);
    expect(versionAtLeast('6.10.0', '6.2.0')).toBe(true);
    expect(versionAtLeast('6.0.20', '6.2.0')).toBe(false);
    expect(versionAtLeast('5.0.7', '6.2.0')).toBe(false);
  });

  it('parses INFO', () => {
    expect(parseRedisInfo('# Server\r\nredis_version:7.0.15\r\nprocess_id:42\r\n\r\n# Memory\r\nmaxmemory_policy:noeviction\r\n'))
      .toEqual({ redis_version: '7.0.15', process_id: '42', maxmemory_policy: 'noeviction' });
  });

  it('knows loopback URLs and redacts passwords', () => {
    expect(isLoopbackRedisUrl('redis://127.0.0.1:6379')).toBe(true);
    expect(isLoopbackRedisUrl('redis://localhost')).toBe(true);
    expect(isLoopbackRedisUrl('redis://[::1]:6379')).toBe(true);
    expect(isLoopbackRedisUrl('redis://10.0.0.5:6379')).toBe(false);
    expect(isLoopbackRedisUrl('rediss://127.0.0.1:6379')).toBe(false);
    expect(redactRedisUrl('redis://user:secret@host:1/2')).toBe('redis://user:***@host:1/2');
  });

  it('gives workers retrying connections and producers fail-fast ones', () => {
    expect(connectionOptions('worker')).toMatchObject({ maxRetriesPerRequest: null, enableOfflineQueue: true });
    expect(connectionOptions('queue-events')).toMatchObject({ maxRetriesPerRequest: null, enableOfflineQueue: true });
    expect(connectionOptions('producer')).toMatchObject({ enableOfflineQueue: false });
    expect(connectionOptions('health')).toMatchObject({ enableOfflineQueue: false });
  });
});
