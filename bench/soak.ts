/**
 * Soak (issue 9 item 3): `npm run soak -- --minutes 30`.
 *
 * The daemon runs as a child process (`node bin/vigil.js start --role all`) with the browser on,
 * on a PostgreSQL database and a private redis-server of its own, against a hostile loopback
 * fleet: slow pages, stalled responses (headers and half a body, then nothing), big bodies
 * (beyond `crawler.maxBodyBytes`), redirect chains, and script-built pages (which go to
 * Chromium). URLs are submitted through the API continuously at a bounded rate (`--rate` URLs/s),
 * cycling over a bounded set (`--distinct`), so after the first pass everything is a
 * re-submission of a known URL; short recheck intervals keep the known reports being checked.
 *
 * Sampled every `--sample-seconds` (default 60; shorter for runs under 12 minutes so a run has
 * at least 12 samples): the daemon's RSS, its open file descriptors (`/proc/<pid>/fd`), the
 * number of Chromium processes under it (`/proc`, zombies counted apart), and Redis
 * `used_memory`. The least-squares slope per hour of each is reported over the whole run and over
 * its last half; the run FAILS (exit 1) when a last-half slope exceeds its threshold:
 *   RSS 64 MiB/h · file descriptors 60/h · Chromium processes 4/h · Redis used_memory 32 MiB/h
 * or when the daemon dies. Results: bench/results/soak.json.
 *
 * SAFETY: loopback only (the world helpers refuse anything else); its own database (dropped at
 * the end) and its own redis-server on a free port; the shared Redis and the machine's PostgreSQL
 * server are left alone. Content is synthetic.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import pg from 'pg';
import { request } from 'undici';
import { stringify } from 'yaml';
import { startTestRedis, type TestRedis } from '../tests/queue/support.js';
import { baseEnv, freePort, runVigil, type VigilProcess } from '../tests/support/daemon-process.js';
import { CHROMIUM_PATH, createTestDatabase } from '../tests/support/test-env.js';
import { startWorld, type World } from '../tests/world/world.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const ADMIN = 'soak-admin-token-synthetic';
const MiB = 2 ** 20;
const THRESHOLDS = { rssMiBPerHour: 64, fdsPerHour: 60, chromiumProcsPerHour: 4, redisMiBPerHour: 32 } as const;

interface Options { minutes: number; rate: number; distinct: number; sampleSeconds: number }

function parseArgs(argv: readonly string[]): Options {
  const o: Options = { minutes: 30, rate: 3, distinct: 240, sampleSeconds: 0 };
  for (let i = 0; i < argv.length; i += 2) {
    const key = argv[i]?.replace(/^--/, '').replace(/-(\w)/g, (_, c: string) => c.toUpperCase()) as keyof Options;
    const value = Number(argv[i + 1]);
    if (!(key in o) || !Number.isFinite(value) || value <= 0) {
      throw new Error(`usage: soak [--minutes 30] [--rate 3] [--distinct 240] [--sample-seconds 60] (bad ${argv[i]})`);
    }
    o[key] = value;
  }
  if (!o.sampleSeconds) o.sampleSeconds = Math.min(60, Math.max(5, Math.floor((o.minutes * 60) / 12)));
  return o;
}

interface Sample { t: number; rssMiB: number; fds: number; chromium: number; zombies: number; redisMiB: number }

function procStats(): { pid: number; ppid: number; state: string; comm: string }[] {
  const out: { pid: number; ppid: number; state: string; comm: string }[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const close = stat.lastIndexOf(')');
      const comm = stat.slice(stat.indexOf('(') + 1, close);
      const [state, ppid] = stat.slice(close + 2).split(' ');
      out.push({ pid: Number(name), ppid: Number(ppid), state: state ?? '?', comm });
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/** Chromium descendants of `root` (by process name; tsx's esbuild helper is not counted): live ones and zombies apart. */
function descendants(root: number): { live: number; zombies: number } {
  const stats = procStats();
  const children = new Map<number, typeof stats>();
  for (const s of stats) children.set(s.ppid, [...(children.get(s.ppid) ?? []), s]);
  let live = 0;
  let zombies = 0;
  const queue = [...(children.get(root) ?? [])];
  while (queue.length) {
    const s = queue.shift()!;
    if (/chrom/i.test(s.comm)) {
      if (s.state === 'Z') zombies++; else live++;
    }
    queue.push(...(children.get(s.pid) ?? []));
  }
  return { live, zombies };
}

function rssMiB(pid: number): number {
  const kb = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  return Number(kb ?? 0) / 1024;
}

/** Least-squares slope of y over t (t in seconds), per hour. */
export function slopePerHour(points: { t: number; y: number }[]): number {
  const n = points.length;
  if (n < 2) return 0;
  const mt = points.reduce((a, p) => a + p.t, 0) / n;
  const my = points.reduce((a, p) => a + p.y, 0) / n;
  let num = 0;
  let den = 0;
  for (const p of points) { num += (p.t - mt) * (p.y - my); den += (p.t - mt) ** 2; }
  return den === 0 ? 0 : (num / den) * 3600;
}

const round = (x: number, d = 1) => Math.round(x * 10 ** d) / 10 ** d;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The hostile routes on every fleet host; returns a way to end held responses. */
function installHostile(world: World): () => void {
  const held = new Set<ServerResponse>();
  const page = (text: string) => `<html><head><title>t</title></head><body><p>${text}</p></body></html>`;
  const app = '<!doctype html><html><head><title>app</title></head><body><div id="root"></div>'
    + '<noscript>You need to enable JavaScript to run this app.</noscript>'
    + '<script>const r=document.getElementById("root");for(let i=0;i<40;i++){const p=document.createElement("p");p.textContent="synthetic item "+i;r.appendChild(p);}</script></body></html>';
  for (const h of world.hosts) {
    const route = (p: string, handler: (req: IncomingMessage, res: ServerResponse) => void) => h.http.route('GET', p, handler);
    route('/slow', (_req, res) => {
      const t = setTimeout(() => { res.writeHead(200, { 'content-type': 'text/html' }); res.end(page('slow but there')); }, 2000 + Math.floor(Math.random() * 4000));
      res.on('close', () => clearTimeout(t));
    });
    route('/stall', (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html', 'content-length': '100000' });
      res.write('<html><body><p>half a page');
      held.add(res);
      const t = setTimeout(() => res.destroy(), 120_000); // bounded: the server gives up after 2 min
      res.on('close', () => { clearTimeout(t); held.delete(res); });
    });
    route('/big', (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' });
      const chunk = Buffer.from(`<p>${'x'.repeat(65_000)}</p>\n`);
      let sent = 0;
      const pump = () => {
        while (sent < 8 * MiB) {
          sent += chunk.length;
          if (!res.write(chunk)) { res.once('drain', pump); return; }
        }
        res.end();
      };
      res.on('error', () => undefined);
      pump();
    });
    route('/app', (_req, res) => { res.writeHead(200, { 'content-type': 'text/html' }); res.end(app); });
    route('/redir', (req, res) => {
      const n = Number(new URL(req.url ?? '/', 'http://x').searchParams.get('n') ?? '3');
      const q = new URL(req.url ?? '/', 'http://x').searchParams.get('i') ?? '0';
      res.writeHead(302, { location: n > 0 ? `/redir?n=${n - 1}&i=${q}` : `/page.html?i=${q}` });
      res.end();
    });
  }
  return () => { for (const r of held) r.destroy(); };
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  const kinds = ['slow', 'stall', 'big', 'app', 'redir', 'page.html'];
  let world: World | undefined;
  let db: Awaited<ReturnType<typeof createTestDatabase>> | undefined;
  let redis: TestRedis | undefined;
  let daemon: VigilProcess | undefined;
  let releaseHeld = () => {};
  const dir = mkdtempSync(path.join(os.tmpdir(), 'vigil-soak-'));
  const hardStop = setTimeout(() => { console.error('soak: hard deadline passed; exiting'); process.exit(2); }, (o.minutes * 60 + 300) * 1000);
  hardStop.unref();
  let exitCode = 0;
  try {
    [world, db, redis] = await Promise.all([startWorld({ fleetSize: 3 }), createTestDatabase(), startTestRedis()]);
    releaseHeld = installHostile(world);
    const w = world.config();
    const secret = `whsec_${Buffer.from('synthetic-soak-secret').toString('base64')}`;
    const config = {
      queue: { prefix: 'soak', dispatchInterval: '200ms' },
      crawler: {
        ...w.crawler, timeouts: { connect: '3s', total: '10s' }, maxBodyBytes: '1MB', concurrency: 32,
        browser: { enabled: true, executablePath: CHROMIUM_PATH, pages: 2 },
      },
      tracing: w.tracing,
      notices: { smtp: { url: w.notices.smtp.url } },
      schedule: { recheck: { live: '60s', notified: '60s', unreachable: '60s' } },
      directory: {
        homeCountry: 'GB',
        recipients: world.hosts.filter((h) => h.country).map((h) => ({
          id: `hotline-${h.country!.toLowerCase()}`, kind: 'hotline', name: `Hotline ${h.country}`, countries: [h.country],
          channel: { webhook: { url: world!.webhooks.url(`/${h.country!.toLowerCase()}`), secret } },
        })),
      },
    };
    const file = path.join(dir, 'vigil.yaml');
    writeFileSync(file, stringify(config));
    const port = await freePort();
    daemon = runVigil(['start', '--role', 'all', '--config', file], {
      cwd: dir,
      env: baseEnv({
        DATABASE_URL: db.url, REDIS_URL: redis.url, VIGIL_DATA_DIR: path.join(dir, 'data'), VIGIL_HTTP_PORT: String(port),
        VIGIL_ADMIN_TOKEN: ADMIN, VIGIL_LOG_LEVEL: 'warn', CHROMIUM_PATH,
      }),
    });
    const url = `http://127.0.0.1:${port}`;
    // "vigil started" is logged at info; at warn level, wait for the API instead
    for (let i = 0; ; i++) {
      try { if ((await request(`${url}/healthz`)).statusCode < 500) break; } catch { /* not yet */ }
      if (daemon.child.exitCode !== null) throw new Error(`daemon exited at start:\n${daemon.stderr()}\n${daemon.stdout()}`);
      if (i > 600) throw new Error('daemon did not answer within 60 s');
      await sleep(100);
    }
    const api = async (p: string, json: unknown): Promise<number> => {
      const res = await request(`${url}${p}`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' }, body: JSON.stringify(json) });
      await res.body.dump();
      return res.statusCode;
    };
    const forced = await api('/v1/forces', { id: 'soak', name: 'Soak force' });
    if (forced !== 201) throw new Error(`could not create the force: ${forced}`);
    const pid = daemon.child.pid!;
    const client = new Redis(redis.url, { maxRetriesPerRequest: 1 });

    // submitter: a batch each second, `rate` URLs per batch on average, cycling over `distinct` URLs
    let counter = 0;
    let submitted = 0;
    let rejectedBatches = 0;
    let running = true;
    const submitter = (async () => {
      let carry = 0;
      while (running) {
        carry += o.rate;
        const n = Math.floor(carry);
        carry -= n;
        const items = Array.from({ length: n }, () => {
          const i = counter++ % o.distinct;
          const host = world!.hosts[i % world!.hosts.length]!;
          const kind = kinds[Math.floor(i / world!.hosts.length) % kinds.length]!;
          return { url: world!.url(host.address, `/${kind}?i=${i}`), verdict: 'illegal' };
        });
        if (items.length) {
          const status = await api('/v1/submissions?force=soak', { reference: `SOAK-${counter}`, items }).catch(() => 0);
          if (status === 202) submitted += items.length; else rejectedBatches++;
        }
        await sleep(1000);
      }
    })();

    const samples: Sample[] = [];
    const t0 = Date.now();
    const sample = async () => {
      if (daemon!.child.exitCode !== null) throw new Error(`daemon died: ${daemon!.child.exitCode}\n${daemon!.stderr().slice(-4000)}`);
      const info = await client.info('memory');
      const used = Number(/used_memory:(\d+)/.exec(info)?.[1] ?? 0);
      const d = descendants(pid);
      const s: Sample = {
        t: round((Date.now() - t0) / 1000, 1), rssMiB: round(rssMiB(pid)), fds: readdirSync(`/proc/${pid}/fd`).length,
        chromium: d.live, zombies: d.zombies, redisMiB: round(used / MiB, 2),
      };
      samples.push(s);
      console.log(`t=${s.t}s rss=${s.rssMiB}MiB fds=${s.fds} chromium=${s.chromium} zombies=${s.zombies} redis=${s.redisMiB}MiB submitted=${submitted}`);
    };
    await sample();
    const end = t0 + o.minutes * 60_000;
    while (Date.now() < end) {
      await sleep(Math.min(o.sampleSeconds * 1000, Math.max(0, end - Date.now())));
      await sample();
    }
    running = false;
    await submitter;

    const dbChecks = await (async () => {
      const c = new pg.Client({ connectionString: db!.url });
      await c.connect();
      try {
        const r = await c.query<{ checks: string; reports: string; browser: string }>(
          "SELECT (SELECT count(*) FROM checks) AS checks, (SELECT count(*) FROM reports) AS reports, (SELECT count(*) FROM checks WHERE reason LIKE 'browser_%') AS browser");
        return r.rows[0]!;
      } catch {
        const r = await c.query<{ checks: string; reports: string }>('SELECT (SELECT count(*) FROM checks) AS checks, (SELECT count(*) FROM reports) AS reports');
        return { ...r.rows[0]!, browser: 'n/a' };
      } finally {
        await c.end();
      }
    })();
    client.disconnect();

    const half = samples.filter((s) => s.t >= (samples.at(-1)!.t) / 2);
    const slope = (pts: Sample[], f: (s: Sample) => number) => round(slopePerHour(pts.map((s) => ({ t: s.t, y: f(s) }))), 2);
    const metrics = {
      rssMiB: { whole: slope(samples, (s) => s.rssMiB), lastHalf: slope(half, (s) => s.rssMiB), threshold: THRESHOLDS.rssMiBPerHour },
      fds: { whole: slope(samples, (s) => s.fds), lastHalf: slope(half, (s) => s.fds), threshold: THRESHOLDS.fdsPerHour },
      chromiumProcs: { whole: slope(samples, (s) => s.chromium + s.zombies), lastHalf: slope(half, (s) => s.chromium + s.zombies), threshold: THRESHOLDS.chromiumProcsPerHour },
      redisMiB: { whole: slope(samples, (s) => s.redisMiB), lastHalf: slope(half, (s) => s.redisMiB), threshold: THRESHOLDS.redisMiBPerHour },
    };
    const exceeded = Object.entries(metrics).filter(([, m]) => m.lastHalf > m.threshold).map(([k]) => k);
    const result = {
      at: new Date().toISOString(),
      machine: { cpus: os.cpus().length, totalMemGiB: round(os.totalmem() / 2 ** 30), node: process.version, loadavg: os.loadavg().map((l) => round(l, 2)) },
      options: o,
      load: { submittedUrls: submitted, rejectedBatches, reports: Number(dbChecks.reports), checks: Number(dbChecks.checks), browserChecks: dbChecks.browser },
      slopesPerHour: metrics,
      unit: 'slope per hour (least squares); lastHalf = samples from the second half of the run; fail if lastHalf > threshold',
      pass: exceeded.length === 0,
      exceeded,
      samples,
    };
    mkdirSync(path.join(here, 'results'), { recursive: true });
    writeFileSync(path.join(here, 'results', 'soak.json'), `${JSON.stringify(result, null, 2)}\n`);
    console.log(JSON.stringify({ ...result, samples: `${samples.length} samples in bench/results/soak.json` }, null, 2));
    if (exceeded.length) {
      console.error(`soak FAILED: growth over the last half above threshold: ${exceeded.join(', ')}`);
      exitCode = 1;
    }
  } finally {
    if (daemon && daemon.child.exitCode === null && daemon.child.signalCode === null) {
      daemon.child.kill('SIGTERM');
      const t = setTimeout(() => daemon!.child.kill('SIGKILL'), 15_000);
      await daemon.exited;
      clearTimeout(t);
    }
    releaseHeld();
    await redis?.stop();
    await db?.drop().catch(() => undefined);
    await world?.close();
    rmSync(dir, { recursive: true, force: true });
  }
  process.exit(exitCode);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
