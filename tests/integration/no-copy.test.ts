/**
 * No-copy proof (CONTRACT.md §7, issue 9 item 4): vigil never writes fetched content to disk,
 * logs it, or stores it in PostgreSQL or Redis.
 *
 * The real daemon runs as a child process (`bin/vigil.js start --role all`) on the embedded
 * database and a private Redis it starts itself (AOF on), both in a data directory of this test,
 * with `TMPDIR` pointing at a directory of this test, `mediaPolicy: hash` (image bodies are read
 * and streamed through hash functions) and Chromium on (a script-built page goes to the browser).
 * World hosts serve content carrying one unique marker in: an HTML page's text, an HTML
 * attribute, an image body, a gzip-compressed page, and text a script writes into the DOM (the
 * raw HTML holds it only reversed, so only the browser produces it). The marker is only ever in
 * bodies: headers are metadata and vigil may legitimately keep some of them.
 *
 * Once every report has been checked (the "check done" lines in the child's stdout) and traced,
 * the private Redis is asked to SAVE (an RDB dump next to the AOF) and the daemon is stopped
 * (SIGTERM). Then the marker — as bytes, lower-cased, upper-cased, in base64 (each alignment) and
 * in hex — is searched for in the child's stdout and stderr, every file under the data directory,
 * the test's TMPDIR, and /dev/shm entries created during the run (also while Chromium still runs).
 * Zero hits. A positive control shows the search finds the marker in a file written for it.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { Redis } from 'ioredis';
import { request } from 'undici';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { baseEnv, freePort, runVigil, type VigilProcess } from '../support/daemon-process.js';
import { CHROMIUM_PATH } from '../support/test-env.js';
import { sendStatic } from '../world/http-host.js';
import { startWorld, type World } from '../world/world.js';

const ADMIN = `nocopy-admin-${randomBytes(8).toString('hex')}`;
/** Mixed case, so the lower- and upper-cased forms are different needles. */
const MARKER = `NoCopyMark${randomBytes(10).toString('hex').toUpperCase()}zq`;
const SHM = '/dev/shm';

/** Every byte form of the marker the search looks for. */
function needles(marker: string): { name: string; bytes: Buffer }[] {
  const out = [
    { name: 'bytes', bytes: Buffer.from(marker) },
    { name: 'lower', bytes: Buffer.from(marker.toLowerCase()) },
    { name: 'upper', bytes: Buffer.from(marker.toUpperCase()) },
    { name: 'utf16le', bytes: Buffer.from(marker, 'utf16le') },
    { name: 'hex', bytes: Buffer.from(Buffer.from(marker).toString('hex')) },
    { name: 'HEX', bytes: Buffer.from(Buffer.from(marker).toString('hex').toUpperCase()) },
  ];
  // base64 of the marker inside a longer stream: depends on its offset mod 3; keep the stable middle
  for (let pad = 0; pad < 3; pad++) {
    const b64 = Buffer.concat([Buffer.alloc(pad, 0x20), Buffer.from(marker)]).toString('base64');
    const stable = b64.slice(Math.ceil((pad * 4) / 3) + 1, Math.floor(((pad + marker.length) * 4) / 3) - 1);
    out.push({ name: `base64+${pad}`, bytes: Buffer.from(stable) });
  }
  return out;
}

interface Hit { where: string; form: string }

function searchBuffer(where: string, data: Buffer, forms: { name: string; bytes: Buffer }[], hits: Hit[]): void {
  for (const f of forms) if (data.includes(f.bytes)) hits.push({ where, form: f.name });
}

/** Every regular file under `root` (symlinks not followed), searched for every form. */
function searchTree(root: string, forms: { name: string; bytes: Buffer }[], hits: Hit[], only?: (entry: string) => boolean): number {
  let files = 0;
  const walk = (p: string): void => {
    let st;
    try { st = lstatSync(p); } catch { return; }
    if (st.isDirectory()) {
      let entries: string[] = [];
      try { entries = readdirSync(p); } catch { return; }
      for (const e of entries) if (p !== root || !only || only(e)) walk(path.join(p, e));
    } else if (st.isFile()) {
      try { searchBuffer(p, readFileSync(p), forms, hits); files++; } catch { /* vanished or unreadable */ }
    }
  };
  walk(root);
  return files;
}

let world: World;
let dir: string;
let dataDir: string;
let tmpDir: string;
let vigil: VigilProcess;
let httpPort: number;
let shmBefore = new Set<string>();
const urls: string[] = [];

function pageBody(text: string): string {
  // plenty of visible text and an image, so the HTTP fetch decides (no browser) for these pages
  return `<!doctype html><html><head><meta charset="utf-8"><title>Synthetic</title></head><body>
<h1>Synthetic page</h1><p>${'Ordinary synthetic words for the page body. '.repeat(8)}</p>${text}
<img src="/nocopy/image.png" alt="x"></body></html>\n`;
}

beforeAll(async () => {
  world = await startWorld({ fleetSize: 2 });
  dir = mkdtempSync(path.join(os.tmpdir(), 'vigil-nocopy-'));
  dataDir = path.join(dir, 'data');
  tmpDir = path.join(dir, 'tmp');
  mkdirSync(tmpDir);
  if (existsSync(SHM)) shmBefore = new Set(readdirSync(SHM));

  const a = world.hosts[0]!.http;
  const b = world.hosts[1]!.http;
  const html = { 'content-type': 'text/html; charset=utf-8' };
  const image = Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), randomBytes(1500), Buffer.from(MARKER), randomBytes(1500),
  ]);
  a.routeStatic('/nocopy/text.html', { headers: html, body: pageBody(`<p>Text ${MARKER} here.</p>`) });
  a.routeStatic('/nocopy/attr.html', { headers: html, body: pageBody(`<div data-note="${MARKER}" title="${MARKER}">attr</div>`) });
  a.routeStatic('/nocopy/image.png', { headers: { 'content-type': 'image/png' }, body: image });
  b.routeStatic('/nocopy/image.png', { headers: { 'content-type': 'image/png' }, body: image });
  const gz = gzipSync(Buffer.from(pageBody(`<p>Compressed ${MARKER} text.</p>`)));
  b.route('GET', '/nocopy/gzip.html', (_req, res) => sendStatic(res, { headers: { ...html, 'content-encoding': 'gzip', vary: 'accept-encoding' }, body: gz }));
  // script-built: little text, an app root; the marker exists only once the script has run
  const reversed = [...MARKER].reverse().join('');
  b.routeStatic('/nocopy/app.html', {
    headers: html,
    body: `<!doctype html><html><head><meta charset="utf-8"><title>App</title></head><body><div id="root"></div>
<script>document.getElementById('root').textContent = 'Built ' + ${JSON.stringify(reversed)}.split('').reverse().join('') + ' by script';</script>
</body></html>\n`,
  });
  urls.push(
    world.url(a.address, '/nocopy/text.html'),
    world.url(a.address, '/nocopy/attr.html'),
    world.url(a.address, '/nocopy/image.png'),
    world.url(b.address, '/nocopy/image.png?copy=2'),
    world.url(b.address, '/nocopy/gzip.html'),
    world.url(b.address, '/nocopy/app.html'),
  );

  const w = world.config();
  const file = path.join(dir, 'vigil.yaml');
  writeFileSync(file, stringify({
    queue: { dispatchInterval: '100ms' },
    crawler: {
      ...w.crawler, mediaPolicy: 'hash', timeouts: { connect: '2s', total: '10s' },
      browser: { enabled: true, executablePath: CHROMIUM_PATH, pages: 2 },
    },
    tracing: w.tracing,
    notices: { smtp: { url: w.notices.smtp.url } },
  }));
  httpPort = await freePort();
  const redisPort = await freePort();
  vigil = runVigil(['start', '--role', 'all', '--config', file], {
    cwd: dir,
    env: baseEnv({
      REDIS_URL: `redis://127.0.0.1:${redisPort}`, VIGIL_DATA_DIR: dataDir, VIGIL_HTTP_PORT: String(httpPort),
      VIGIL_ADMIN_TOKEN: ADMIN, TMPDIR: tmpDir, VIGIL_LOG_LEVEL: 'debug',
    }),
  });
  await vigil.waitForLog((l) => l.msg === 'vigil started', 45_000);
}, 60_000);

afterAll(async () => {
  if (vigil && vigil.child.exitCode === null && vigil.child.signalCode === null) {
    vigil.child.kill('SIGTERM');
    await vigil.exited;
  }
  await world?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function countLines(msg: string): number {
  return vigil.stdout().split('\n').filter((l) => l.includes(`"msg":"${msg}"`)).length;
}

async function until(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\nstdout:\n${vigil.stdout().slice(-4000)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('no copy of fetched content anywhere (CONTRACT.md §7)', () => {
  it('the search finds the marker where it is (positive control)', () => {
    const control = `Control-${randomBytes(8).toString('hex')}Ab`;
    const forms = needles(control);
    const file = path.join(tmpDir, 'control.bin');
    // each form in its own file: every needle must be findable
    for (const f of forms) {
      const hits: Hit[] = [];
      writeFileSync(file, Buffer.concat([randomBytes(17), f.name.startsWith('base64') ? Buffer.from(Buffer.concat([Buffer.alloc(Number(f.name.slice(7)), 0x20), Buffer.from(control)]).toString('base64')) : f.bytes, randomBytes(5)]));
      searchTree(tmpDir, forms, hits);
      expect(hits.map((h) => h.form), f.name).toContain(f.name);
    }
    // base64 at any offset in a longer base64 stream
    for (let lead = 0; lead < 3; lead++) {
      const hits: Hit[] = [];
      writeFileSync(file, Buffer.concat([randomBytes(lead), Buffer.from(control), randomBytes(4)]).toString('base64'));
      searchTree(tmpDir, forms, hits);
      expect(hits.length, `base64 with ${lead} leading bytes`).toBeGreaterThan(0);
    }
    rmSync(file);
    const none: Hit[] = [];
    searchTree(tmpDir, forms, none);
    expect(none).toEqual([]);
  });

  it('after checking every URL (HTTP, hashed image bodies, gzip, browser), no file, log or dump holds the marker', async () => {
    const post = (p: string, json: unknown) => request(`http://127.0.0.1:${httpPort}${p}`, {
      method: 'POST', headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' }, body: JSON.stringify(json),
    });
    const force = await post('/v1/forces', { id: 'nocopy', name: 'No-copy force' });
    await force.body.dump();
    expect(force.statusCode).toBe(201);
    const submitted = await post('/v1/submissions?force=nocopy', { items: urls.map((url) => ({ url })) });
    const body = (await submitted.body.json()) as { accepted?: number };
    expect(submitted.statusCode).toBe(202);
    expect(body.accepted).toBe(urls.length);

    await until(() => countLines('check done') >= urls.length, 40_000, `${urls.length} "check done" lines`);
    await until(() => countLines('trace done') >= 1, 10_000, 'a "trace done" line');
    const lines = vigil.stdout().split('\n').filter((l) => l.includes('"msg":"check done"')).map((l) => JSON.parse(l) as { outcome: string; reason: string });
    // every URL was seen live; the script-built page by the browser
    expect(lines.filter((l) => l.outcome === 'live')).toHaveLength(urls.length);
    expect(lines.some((l) => l.reason.startsWith('browser_'))).toBe(true);

    const forms = needles(MARKER);
    const hits: Hit[] = [];
    // /dev/shm while Chromium still runs
    if (existsSync(SHM)) searchTree(SHM, forms, hits, (e) => !shmBefore.has(e));

    // an RDB dump next to the AOF: what Redis holds, all of it, on disk
    const state = JSON.parse(readFileSync(path.join(dataDir, 'redis', 'private-redis.json'), 'utf8')) as { port: number; password: string };
    const redis = new Redis({ host: '127.0.0.1', port: state.port, password: state.password, lazyConnect: true });
    await redis.connect();
    expect(await redis.save()).toBe('OK');
    expect(await redis.dbsize()).toBeGreaterThan(0);
    await redis.quit();

    vigil.child.kill('SIGTERM');
    expect((await vigil.exited).code).toBe(0);
    expect(existsSync(path.join(dataDir, 'redis', 'dump.rdb'))).toBe(true);

    searchBuffer('stdout', Buffer.from(vigil.stdout()), forms, hits);
    searchBuffer('stderr', Buffer.from(vigil.stderr()), forms, hits);
    const dataFiles = searchTree(dataDir, forms, hits);
    searchTree(tmpDir, forms, hits);
    if (existsSync(SHM)) searchTree(SHM, forms, hits, (e) => !shmBefore.has(e));
    expect(dataFiles).toBeGreaterThan(5); // the database files, the AOF and the dump were searched
    expect(hits).toEqual([]);
  }, 60_000);
});
