/**
 * `vigil start` as a user runs it: a bad configuration stops it with the key path, a missing
 * Redis says what to install, the embedded database and a private Redis come up, and SIGTERM
 * exits 0.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { request } from 'undici';
import { afterAll, describe, expect, it } from 'vitest';
import { queuePrefix } from '../../queue/queue-names.js';
import { removeQueueKeys, TEST_REDIS_URL, uniqueId } from '../support/test-env.js';
import { baseEnv, freePort, runVigil } from '../support/daemon-process.js';

const dirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'vigil-proc-'));
  dirs.push(dir);
  return dir;
}
/** queue prefixes the tests used on the shared Redis */
const prefixes: string[] = [];
afterAll(async () => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  for (const p of prefixes) await removeQueueKeys(queuePrefix(p));
});
const newPrefix = (): string => {
  const p = uniqueId('vp');
  prefixes.push(p);
  return p;
};

describe('vigil start (process)', () => {
  it('a bad configuration file stops start-up naming the key path and the reason', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'vigil.yaml');
    writeFileSync(file, 'crawler:\n  timeouts: { total: fast }\n  maxRedirect: 3\n');
    const vigil = runVigil(['start', '--config', file], { env: baseEnv(), cwd: dir });
    const { code } = await vigil.exited;
    expect(code).toBe(1);
    expect(vigil.stderr()).toContain('crawler.timeouts.total');
    expect(vigil.stderr()).toContain('crawler.maxRedirect');
  }, 90_000);

  it('vigil config check reports the same problems and exits 1; a good file exits 0', async () => {
    const dir = tempDir();
    const bad = path.join(dir, 'bad.yaml');
    writeFileSync(bad, 'schedule:\n  realert: { max: -1 }\n');
    const badRun = runVigil(['config', 'check', bad], { env: baseEnv(), cwd: dir });
    expect((await badRun.exited).code).toBe(1);
    expect(badRun.stderr()).toContain('schedule.realert.max');
    const good = path.join(dir, 'good.yaml');
    writeFileSync(good, 'http:\n  port: 9999\n');
    const goodRun = runVigil(['config', 'check', good], { env: baseEnv(), cwd: dir });
    expect((await goodRun.exited).code).toBe(0);
  }, 90_000);

  it('a usage error exits 2', async () => {
    const run = runVigil(['start', '--role', 'conductor'], { env: baseEnv() });
    expect((await run.exited).code).toBe(2);
  }, 90_000);

  it('without Redis and without redis-server on PATH it says what to install and exits 1', async () => {
    const dir = tempDir();
    const bin = path.join(dir, 'bin');
    // A PATH with node and nothing else: redis-server cannot be found.
    mkdirSync(bin);
    symlinkSync(process.execPath, path.join(bin, 'node'));
    const port = await freePort();
    const vigil = runVigil(['start'], {
      env: { ...baseEnv(), PATH: bin, REDIS_URL: `redis://127.0.0.1:${port}`, VIGIL_DATA_DIR: path.join(dir, 'data'), VIGIL_HTTP_PORT: String(await freePort()) },
      cwd: dir,
    });
    const { code } = await vigil.exited;
    expect(code).toBe(1);
    expect(vigil.stderr()).toMatch(/redis-server/);
    expect(vigil.stderr()).toMatch(/apt-get install redis-server|REDIS_URL/);
  }, 90_000);

  it('comes up on the embedded database and a private Redis, answers /readyz, and exits 0 on SIGTERM', async () => {
    const dir = tempDir();
    const dataDir = path.join(dir, 'data');
    const redisPort = await freePort();
    const httpPort = await freePort();
    const vigil = runVigil(['start'], {
      env: { ...baseEnv(), REDIS_URL: `redis://127.0.0.1:${redisPort}`, VIGIL_DATA_DIR: dataDir, VIGIL_HTTP_PORT: String(httpPort), VIGIL_ADMIN_TOKEN: 'test-admin-token' },
      cwd: dir,
    });
    await vigil.waitForLog((l) => l.msg === 'vigil started', 60_000);
    const ready = await request(`http://127.0.0.1:${httpPort}/readyz`);
    const body = (await ready.body.json()) as { status: string; checks: Record<string, { ok: boolean; kind?: string }> };
    expect(ready.statusCode).toBe(200);
    expect(body.checks.database).toMatchObject({ ok: true, kind: 'embedded' });
    expect(body.checks.redis?.ok).toBe(true);
    expect(existsSync(path.join(dataDir, 'db'))).toBe(true);
    expect(existsSync(path.join(dataDir, 'redis'))).toBe(true);

    vigil.child.kill('SIGTERM');
    const { code } = await vigil.exited;
    expect(code).toBe(0);
    expect(vigil.stdout()).toContain('vigil stopped');
    // the private Redis went with it
    await expect(request(`http://127.0.0.1:${httpPort}/healthz`)).rejects.toThrow();
    const redisGone = await new Promise<boolean>((resolve) => {
      const s = net.connect({ host: '127.0.0.1', port: redisPort });
      s.once('connect', () => { s.destroy(); resolve(false); });
      s.once('error', () => resolve(true));
    });
    expect(redisGone).toBe(true);
  }, 90_000);

  it('a SIGTERM while it is still starting stops it in order once it is up: exit 0', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'vigil.yaml');
    writeFileSync(file, `queue:\n  prefix: ${newPrefix()}\n`);
    const vigil = runVigil(['start', '--role', 'all', '--config', file], {
      env: { ...baseEnv(), REDIS_URL: TEST_REDIS_URL, VIGIL_DATA_DIR: path.join(dir, 'data'), VIGIL_HTTP_PORT: String(await freePort()) },
      cwd: dir,
    });
    // the first line of the start; the embedded database, Redis and the workers come after it
    await vigil.waitForLog((l) => l.msg === 'configuration loaded', 60_000);
    vigil.child.kill('SIGTERM');
    const { code, signal } = await vigil.exited;
    expect({ code, signal }).toEqual({ code: 0, signal: null });
    const out = vigil.stdout();
    expect(out).toContain('vigil started');
    expect(out.indexOf('vigil stopped')).toBeGreaterThan(out.indexOf('vigil started'));
  }, 90_000);

  it.each([
    ['a country database that is not one', (dir: string) => {
      writeFileSync(path.join(dir, 'country.mmdb'), randomBytes(4096));
      return 'tracing: { countryDb: [country.mmdb] }\n';
    }, /tracing: .*country\.mmdb: not a MaxMind DB file/],
    // no path configured: the one CHROMIUM_PATH names (else /usr/bin/chromium) is looked for
    ['a required browser that is not there', () => 'crawler: { browser: { enabled: true } }\n',
      /crawler\.browser\.enabled is true, but there is no Chromium executable at .*no-chromium/],
    // a path configured that is wrong: a configuration problem, whatever `enabled` says
    ['a browser path that is wrong', (dir: string) => `crawler: { browser: { executablePath: ${path.join(dir, 'elsewhere', 'chromium')} } }\n`,
      /crawler\.browser\.executablePath: file not found: .*elsewhere.chromium/],
  ])('%s stops start-up with the reason, and nothing is left running', async (_name, configure, reason) => {
    const dir = tempDir();
    const file = path.join(dir, 'vigil.yaml');
    writeFileSync(file, `queue:\n  prefix: ${newPrefix()}\n${configure(dir)}`);
    const vigil = runVigil(['start', '--role', 'all'], {
      env: {
        ...baseEnv(), REDIS_URL: TEST_REDIS_URL, VIGIL_DATA_DIR: path.join(dir, 'data'), VIGIL_HTTP_PORT: String(await freePort()),
        CHROMIUM_PATH: path.join(dir, 'no-chromium'),
      },
      cwd: dir,
    });
    // exits by itself: no worker or connection left holding the process open
    const { code } = await vigil.exited;
    expect(code).toBe(1);
    expect(vigil.stderr()).toMatch(/^vigil: cannot start: /m);
    expect(vigil.stderr()).toMatch(reason);
    expect(`${vigil.stdout()}${vigil.stderr()}`).not.toContain('"msg":"vigil started"');
  }, 90_000);

  it('a port already in use stops start-up, saying which', async () => {
    const dir = tempDir();
    const busy = net.createServer();
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
    const port = (busy.address() as net.AddressInfo).port;
    try {
      const vigil = runVigil(['start', '--role', 'api'], {
        env: { ...baseEnv(), REDIS_URL: TEST_REDIS_URL, VIGIL_DATA_DIR: path.join(dir, 'data'), VIGIL_HTTP_PORT: String(port) },
        cwd: dir,
      });
      expect((await vigil.exited).code).toBe(1);
      expect(vigil.stderr()).toMatch(new RegExp(`vigil: cannot start: http: cannot listen on 127\\.0\\.0\\.1:${port}: .*EADDRINUSE`));
    } finally {
      busy.close();
    }
  }, 90_000);

  it('a worker process serves its health and metrics (not the API) on http.port, and exits 0 on SIGTERM', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'vigil.yaml');
    writeFileSync(file, `queue:\n  prefix: ${newPrefix()}\n`);
    const port = await freePort();
    const admin = `worker-admin-${uniqueId('tok')}`;
    const vigil = runVigil(['start', '--role', 'worker', '--config', file], {
      env: { ...baseEnv(), REDIS_URL: TEST_REDIS_URL, VIGIL_DATA_DIR: path.join(dir, 'data'), VIGIL_HTTP_PORT: String(port), VIGIL_ADMIN_TOKEN: admin },
      cwd: dir,
    });
    await vigil.waitForLog((l) => l.msg === 'vigil started', 60_000);
    const get = async (p: string, token?: string) => {
      const res = await request(`http://127.0.0.1:${port}${p}`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
      return { status: res.statusCode, text: await res.body.text() };
    };
    expect((await get('/healthz')).status).toBe(200);
    expect((await get('/readyz')).status).toBe(200);
    const metrics = await get('/metrics', admin);
    expect(metrics.status).toBe(200);
    expect(metrics.text).toContain('# TYPE vigil_checks_total counter');
    expect((await get('/metrics')).status).toBe(401);
    // the API is the api role's
    expect((await get('/v1/submissions/00000000-0000-4000-8000-000000000000', admin)).status).toBe(404);
    expect((await get('/admin')).status).toBe(404);
    vigil.child.kill('SIGTERM');
    expect((await vigil.exited).code).toBe(0);
  }, 90_000);

  it('uses a running Redis with its own prefix and the embedded store; SIGINT also exits 0', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'vigil.yaml');
    writeFileSync(file, `queue:\n  prefix: ${newPrefix()}\n`);
    const httpPort = await freePort();
    const vigil = runVigil(['start', '--role', 'all'], {
      env: { ...baseEnv(), REDIS_URL: TEST_REDIS_URL, VIGIL_DATA_DIR: path.join(dir, 'data'), VIGIL_HTTP_PORT: String(httpPort) },
      cwd: dir,
    });
    await vigil.waitForLog((l) => l.msg === 'vigil started', 60_000);
    const health = await request(`http://127.0.0.1:${httpPort}/healthz`);
    expect(health.statusCode).toBe(200);
    await health.body.dump();
    vigil.child.kill('SIGINT');
    expect((await vigil.exited).code).toBe(0);
  }, 90_000);
});
