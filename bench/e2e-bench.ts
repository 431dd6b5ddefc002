/**
 * End-to-end benchmark (issue 9 item 1): N URLs submitted through the API with `verdict:
 * illegal`, across a loopback fleet in several "countries" with injected latency → every one
 * first-checked, traced and its country's hotline notified (webhook sink).
 *
 *   npx tsx bench/e2e-bench.ts [--urls 2000] [--hosts 8] [--latency 20] [--per-host 8] [--timeout 300] [--log FILE]
 *
 * `--log FILE` keeps the daemon's log lines (outcomes, timings; never content) for a timeline;
 * `--profile DIR` has the daemon write a V8 CPU profile there when it exits.
 *
 * Measured in one run:
 * - end-to-end first checks/s: from the submission's POST to the last "check done";
 * - its ratio to a raw undici loop over the same URLs at the same concurrency (fleet hosts ×
 *   per-host limit), and to a no-op BullMQ job loop of the same count and worker concurrency;
 * - submission → first notice delivered, p50/p99 (webhook sink arrival times; target p99 ≤ 5 s);
 * - the daemon's peak RSS, Redis `used_memory`, and PostgreSQL transactions per URL.
 *
 * The daemon runs as it is deployed: its own process (`node bin/vigil.js start --role all`), on a
 * PostgreSQL database the bench creates and drops, and the machine's Redis under a unique prefix
 * whose keys are removed at the end. The world (fleet, DNS, RDAP, webhook sink) and both
 * baselines run in this process, so the daemon does not share its event loop with the servers it
 * checks — as it never does in production.
 *
 * SAFETY: every server binds loopback (127.0.0.0/8); host names resolve through the world's own
 * DNS server; content is synthetic. Bounded: N URLs, a deadline (`--timeout` seconds), then
 * everything is closed and the process ends. Results: bench/results/e2e.json.
 */
import { randomBytes } from 'node:crypto';
import { promises as dnsPromises } from 'node:dns';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import pg from 'pg';
import { Agent, request } from 'undici';
import { stringify } from 'yaml';
import { queuePrefix } from '../queue/queue-names.js';
import { baseEnv, freePort, runVigil, type VigilProcess } from '../tests/support/daemon-process.js';
import { createTestDatabase, TEST_REDIS_URL, uniqueId } from '../tests/support/test-env.js';
import { startWorld, type World } from '../tests/world/world.js';

interface Options { urls: number; hosts: number; latency: number; perHost: number; timeout: number; log: string | null; profile: string | null }

function parseArgs(argv: readonly string[]): Options {
  const o: Options = { urls: 2_000, hosts: 8, latency: 20, perHost: 8, timeout: 300, log: null, profile: null };
  for (let i = 0; i < argv.length; i += 2) {
    const key = argv[i]?.replace(/^--/, '');
    if ((key === 'log' || key === 'profile') && argv[i + 1]) {
      o[key] = path.resolve(argv[i + 1]!);
      continue;
    }
    const value = Number(argv[i + 1]);
    const map: Record<string, Exclude<keyof Options, 'log' | 'profile'>> = { urls: 'urls', hosts: 'hosts', latency: 'latency', 'per-host': 'perHost', timeout: 'timeout' };
    const field = key ? map[key] : undefined;
    if (!field || !Number.isFinite(value) || value < 0) throw new Error(`usage: --urls N --hosts 1-8 --latency MS --per-host N --timeout S --log FILE --profile DIR (bad ${argv[i]})`);
    o[field] = value;
  }
  o.urls = Math.min(100_000, Math.max(1, Math.floor(o.urls)));
  o.hosts = Math.min(COUNTRIES.length, Math.max(1, Math.floor(o.hosts)));
  o.perHost = Math.max(1, Math.floor(o.perHost));
  return o;
}

const COUNTRIES = ['NL', 'DE', 'US', 'GB', 'FR', 'IT', 'ES', 'SE'];
const ADMIN = `e2e-bench-admin-${randomBytes(8).toString('hex')}`;
const here = path.dirname(fileURLToPath(import.meta.url));

const percentile = (sorted: number[], p: number): number => sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
const round = (n: number, d = 1): number => Math.round(n * 10 ** d) / 10 ** d;

async function redisUsedMemory(redis: Redis): Promise<number> {
  const info = await redis.info('memory');
  return Number(/used_memory:(\d+)/.exec(info)?.[1] ?? NaN);
}

/** A process's peak resident set (VmHWM), MiB; NaN when /proc does not say. */
function peakRssMiB(pid: number): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    return Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? NaN) / 1024;
  } catch {
    return NaN;
  }
}

/** CPU seconds (user + system) a process has used so far; NaN when /proc does not say. */
function cpuSeconds(pid: number): number {
  try {
    // fields after the command name (which may hold spaces): state is field 3, utime 14, stime 15
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '').split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  } catch {
    return NaN;
  }
}
/** USER_HZ: Linux reports process times in hundredths of a second on every common platform */
const CLOCK_TICKS = 100;

/** Committed transactions of one database so far (every statement outside BEGIN…COMMIT is one). */
async function committedTransactions(databaseUrl: string): Promise<number> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    // the statistics snapshot of this session would hide the daemon's newer commits
    await client.query('SELECT pg_stat_clear_snapshot()');
    const { rows } = await client.query<{ n: string }>('SELECT xact_commit AS n FROM pg_stat_database WHERE datname = current_database()');
    return Number(rows[0]?.n ?? NaN);
  } finally {
    await client.end();
  }
}

/** Calls `onLine` with each JSON log line the daemon prints to stdout. */
function followLog(daemon: VigilProcess, onLine: (line: { msg?: string }) => void): void {
  let pending = '';
  daemon.child.stdout!.on('data', (chunk: Buffer) => {
    pending += chunk.toString();
    let index;
    while ((index = pending.indexOf('\n')) >= 0) {
      const line = pending.slice(0, index);
      pending = pending.slice(index + 1);
      if (!line.startsWith('{')) continue;
      try {
        onLine(JSON.parse(line) as { msg?: string });
      } catch {
        // not a log line
      }
    }
  });
}

/** The raw baseline: undici requests over the same URLs, `concurrency` at a time, world DNS. */
async function rawLoop(urls: string[], concurrency: number, dnsServer: string): Promise<{ perSecond: number; failures: number }> {
  const resolver = new dnsPromises.Resolver();
  resolver.setServers([dnsServer]);
  const agent = new Agent({
    connections: concurrency,
    connect: {
      lookup: (hostname, _opts, cb) => {
        resolver.resolve4(hostname).then((a) => cb(null, [{ address: a[0]!, family: 4 }] as never, 4 as never), (err: Error) => cb(err as NodeJS.ErrnoException, '', 4));
      },
    },
  });
  let next = 0;
  let failures = 0;
  const started = performance.now();
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < urls.length) {
      const url = urls[next++]!;
      try {
        const res = await request(url, { dispatcher: agent, headersTimeout: 10_000, bodyTimeout: 10_000 });
        await res.body.dump({ limit: 10 * 1024 * 1024 }).catch(() => undefined);
        if (res.statusCode !== 200) failures++;
      } catch { failures++; }
    }
  }));
  const seconds = (performance.now() - started) / 1000;
  await agent.close();
  return { perSecond: urls.length / seconds, failures };
}

/** A no-op BullMQ loop: `count` jobs added in bulk, a worker of `concurrency` that does nothing. */
async function bullLoop(count: number, concurrency: number): Promise<{ perSecond: number }> {
  const prefix = uniqueId('e2ebull');
  const connection = { url: TEST_REDIS_URL, maxRetriesPerRequest: null } as const;
  const queue = new Queue('noop', { connection, prefix });
  let done = 0;
  let resolveDone!: () => void;
  const allDone = new Promise<void>((r) => { resolveDone = r; });
  const started = performance.now();
  const worker = new Worker('noop', async () => undefined, { connection, prefix, concurrency });
  worker.on('completed', () => { if (++done === count) resolveDone(); });
  for (let i = 0; i < count; i += 1000) {
    await queue.addBulk(Array.from({ length: Math.min(1000, count - i) }, (_, j) => ({ name: 'noop', data: { i: i + j }, opts: { removeOnComplete: true } })));
  }
  await allDone;
  const seconds = (performance.now() - started) / 1000;
  await worker.close();
  await queue.obliterate({ force: true }).catch(() => undefined);
  await queue.close();
  const redis = new Redis(TEST_REDIS_URL);
  const keys = await redis.keys(`${prefix}:*`);
  if (keys.length) await redis.del(...keys);
  await redis.quit();
  return { perSecond: count / seconds };
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  const concurrency = o.hosts * o.perHost;
  const countries = Object.fromEntries(COUNTRIES.slice(0, o.hosts).map((c, i) => [`127.0.0.${i + 2}`, c]));
  let world: World | undefined;
  let db: Awaited<ReturnType<typeof createTestDatabase>> | undefined;
  let daemon: VigilProcess | undefined;
  let dataDir: string | undefined;
  const prefix = uniqueId('e2ebench');
  const redis = new Redis(TEST_REDIS_URL);
  let peakRss = process.memoryUsage().rss;
  const rssTimer = setInterval(() => { peakRss = Math.max(peakRss, process.memoryUsage().rss); }, 100);
  const hardStop = setTimeout(() => { console.error('e2e bench: hard deadline passed; exiting'); process.exit(2); }, (o.timeout + 120) * 1000);
  hardStop.unref();
  try {
    world = await startWorld({ fleetSize: o.hosts, latencyMs: o.latency, countries });
    db = await createTestDatabase();
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'vigil-e2e-bench-'));
    const w = world.config();
    const secret = `whsec_${Buffer.from(`synthetic-bench-secret-${randomBytes(4).toString('hex')}`).toString('base64')}`;
    const config = {
      queue: { prefix, dispatchInterval: '100ms' },
      crawler: {
        dnsServers: w.crawler.dnsServers, allowNetworks: w.crawler.allowNetworks, timeouts: { connect: '5s', total: '20s' },
        concurrency, perHostConcurrency: o.perHost, browser: { enabled: false },
      },
      tracing: w.tracing,
      notices: { smtp: { url: w.notices.smtp.url } },
      directory: {
        homeCountry: 'GB',
        recipients: COUNTRIES.slice(0, o.hosts).map((c) => ({
          id: `hotline-${c.toLowerCase()}`, kind: 'hotline', name: `Hotline ${c}`, countries: [c],
          channel: { webhook: { url: world!.webhooks.url(`/${c.toLowerCase()}`), secret } },
        })),
      },
    };
    const configFile = path.join(dataDir, 'vigil.yaml');
    writeFileSync(configFile, stringify(config));
    const port = await freePort();
    daemon = runVigil(['start', '--role', 'all', '--config', configFile], {
      cwd: dataDir,
      env: baseEnv({
        DATABASE_URL: db.url, REDIS_URL: TEST_REDIS_URL, VIGIL_DATA_DIR: path.join(dataDir, 'data'), VIGIL_HTTP_PORT: String(port),
        VIGIL_ADMIN_TOKEN: ADMIN, VIGIL_LOG_LEVEL: 'info',
      }),
      nodeArgs: o.profile ? ['--cpu-prof', `--cpu-prof-dir=${o.profile}`] : [],
    });
    const daemonUrl = `http://127.0.0.1:${port}`;
    let checksDone = 0;
    let lastCheckAt = 0;
    let tracesDone = 0;
    let lastTraceAt = 0;
    let resolveChecked!: () => void;
    const allChecked = new Promise<void>((r) => { resolveChecked = r; });
    followLog(daemon, (line) => {
      if (line.msg === 'check done') {
        checksDone++;
        lastCheckAt = performance.now();
        if (checksDone >= o.urls) resolveChecked();
      } else if (line.msg === 'trace done') {
        tracesDone++;
        lastTraceAt = performance.now();
      }
    });
    await daemon.waitForLog((line) => line.msg === 'vigil started', 60_000);
    const api = async <T>(p: string, json: unknown): Promise<{ status: number; body: T }> => {
      const res = await request(`${daemonUrl}${p}`, {
        method: 'POST', headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' }, body: JSON.stringify(json),
      });
      return { status: res.statusCode, body: (await res.body.json()) as T };
    };
    if ((await api('/v1/forces', { id: 'bench', name: 'Bench force' })).status !== 201) throw new Error('could not create the force');
    const transactionsBefore = await committedTransactions(db.url);
    const daemonCpuBefore = cpuSeconds(daemon.child.pid!);

    const urls = Array.from({ length: o.urls }, (_, i) => world!.url(world!.hosts[i % o.hosts]!.address, `/page.html?e2e=${i}`));
    const pending = new Set(urls.map((u) => new URL(u).href));
    const firstNoticeAt = new Map<string, number>();
    let resolveNotified!: () => void;
    const allNotified = new Promise<void>((r) => { resolveNotified = r; });
    // the sink records deliveries; look at each new one as it arrives
    let seen = 0;
    const noticeTimer = setInterval(() => {
      const deliveries = world!.webhooks.deliveries;
      for (; seen < deliveries.length; seen++) {
        const d = deliveries[seen]!;
        const body = d.json as { type?: string; reports?: { url: string }[] } | undefined;
        if (body?.type !== 'notice.initial') continue;
        for (const r of body.reports ?? []) {
          const key = new URL(r.url).href;
          if (pending.delete(key)) firstNoticeAt.set(key, d.at.getTime());
        }
      }
      if (pending.size === 0) resolveNotified();
    }, 50);

    const t0 = performance.now();
    const t0Wall = Date.now();
    const submitted = await api<{ accepted: number }>('/v1/submissions?force=bench', { reference: 'E2E-BENCH', items: urls.map((url) => ({ url, verdict: 'illegal' })) });
    const intakeMs = performance.now() - t0;
    if (submitted.status !== 202 || submitted.body.accepted !== o.urls) throw new Error(`submission: ${submitted.status} ${JSON.stringify(submitted.body)}`);
    console.log(`submitted ${o.urls} URLs in ${round(intakeMs)} ms; waiting for the checks and notices (deadline ${o.timeout} s)`);

    const deadline = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), o.timeout * 1000).unref());
    const checked = await Promise.race([allChecked.then(() => 'ok' as const), deadline]);
    const checkSeconds = ((checked === 'ok' ? lastCheckAt : performance.now()) - t0) / 1000;
    const notified = await Promise.race([allNotified.then(() => 'ok' as const), deadline]);
    const traceSeconds = (lastTraceAt - t0) / 1000;
    clearInterval(noticeTimer);
    const redisMemory = await redisUsedMemory(redis);
    const prefixKeys = (await redis.keys(`${queuePrefix(prefix)}:*`)).length;
    const latencies = [...firstNoticeAt.values()].map((at) => (at - t0Wall) / 1000).sort((a, b) => a - b);
    const transactions = (await committedTransactions(db.url)) - transactionsBefore;
    const daemonCpu = cpuSeconds(daemon.child.pid!) - daemonCpuBefore;
    const daemonPeakRss = peakRssMiB(daemon.child.pid!);
    daemon.child.kill('SIGTERM');
    const exit = await daemon.exited;
    if (o.log) writeFileSync(o.log, daemon.stdout());
    daemon = undefined;
    if (exit.code !== 0) console.error(`the daemon exited with ${exit.code ?? exit.signal} on SIGTERM`);

    console.log('raw undici loop and no-op BullMQ loop (same URLs / count, same concurrency)…');
    const raw = await rawLoop(urls, concurrency, w.crawler.dnsServers[0]!);
    const bull = await bullLoop(o.urls, concurrency);

    const e2ePerSecond = Math.min(checksDone, o.urls) / checkSeconds;
    const result = {
      at: new Date().toISOString(),
      machine: { cpus: os.cpus().length, totalMemGiB: round(os.totalmem() / 2 ** 30), node: process.version, loadavg: os.loadavg().map((l) => round(l, 2)) },
      options: { ...o, concurrency },
      intake: { ms: round(intakeMs) },
      e2e: {
        completed: checked === 'ok', checks: checksDone, seconds: round(checkSeconds, 2), checksPerSecond: round(e2ePerSecond),
        traces: tracesDone, lastTraceSeconds: round(traceSeconds, 2),
      },
      raw: { checksPerSecond: round(raw.perSecond), failures: raw.failures },
      bullmqNoop: { jobsPerSecond: round(bull.perSecond) },
      ratios: { e2eToRaw: round(e2ePerSecond / raw.perSecond, 3), e2eToBullmqNoop: round(e2ePerSecond / bull.perSecond, 3) },
      firstNotice: {
        completed: notified === 'ok', notified: firstNoticeAt.size, missing: pending.size,
        p50Seconds: round(percentile(latencies, 50), 2), p99Seconds: round(percentile(latencies, 99), 2), maxSeconds: round(latencies.at(-1) ?? NaN, 2),
        targetP99Seconds: 5, met: notified === 'ok' && percentile(latencies, 99) <= 5,
      },
      daemonCpu: {
        seconds: round(daemonCpu, 2),
        perUrlMs: round((daemonCpu * 1000) / o.urls, 2),
        utilization: round(daemonCpu / (latencies.at(-1) ?? NaN), 2),
        note: 'user+system CPU of the daemon process from the submission to the last first notice; utilization = CPU seconds / that span (1.0 = one core busy)',
      },
      daemonPeakRssMiB: round(daemonPeakRss),
      benchPeakRssMiB: round(peakRss / 2 ** 20),
      postgres: { transactions, perUrl: round(transactions / o.urls, 1), note: 'xact_commit of the bench database while the URLs were checked and notified (a statement outside BEGIN…COMMIT counts as one)' },
      redis: { usedMemoryMiB: round(redisMemory / 2 ** 20, 2), note: 'the shared Redis as a whole, read before cleanup', prefixKeys },
    };
    mkdirSync(path.join(here, 'results'), { recursive: true });
    writeFileSync(path.join(here, 'results', 'e2e.json'), `${JSON.stringify(result, null, 2)}\n`);
    console.log(JSON.stringify(result, null, 2));
    if (checked !== 'ok' || notified !== 'ok') process.exitCode = 1;
  } finally {
    clearInterval(rssTimer);
    if (daemon) {
      daemon.child.kill('SIGTERM');
      await daemon.exited;
    }
    const keys = await redis.keys(`${queuePrefix(prefix)}:*`).catch(() => [] as string[]);
    for (let i = 0; i < keys.length; i += 1000) await redis.del(...keys.slice(i, i + 1000));
    await redis.quit();
    await db?.drop().catch((err: unknown) => console.error('could not drop the bench database', err));
    await world?.close();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  }
}

await main();
