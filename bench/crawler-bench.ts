/**
 * Crawler benchmark (issue 3): checks/s of the full guarded HttpFetcher against a raw undici
 * request loop, same loopback fleet, same concurrency. Target: fetcher/raw ≥ 0.8.
 *
 *   npx tsx bench/crawler-bench.ts [--urls 5000] [--hosts 8] [--concurrency 256] [--latency 50] [--images 0.3] [--gzip 1] [--rounds 3]
 *
 * The servers run in the same process and share its CPU with both clients; raw and fetcher
 * rounds alternate so that load from elsewhere on the machine hits both alike.
 *
 * SAFETY: servers bind 127.0.0.2–9 only; names resolve through the tests' loopback DNS server;
 * content is synthetic (filler pages, random bytes). Bounded: K checks each, then everything
 * is closed and the process ends. Results are printed and written to bench/results/crawler.json.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { Agent, request } from 'undici';
import { HttpFetcher } from '../crawler/http-fetcher.js';
import { startHttpServer, type TestHttpServer } from '../tests/crawler/support/loopback-servers.js';
import { startDnsServer } from '../tests/crawler/support/test-dns-server.js';
import { createDnsResolver } from '../tracing/dns-resolver.js';

interface Options {
  urls: number;
  hosts: number;
  concurrency: number;
  latency: number;
  images: number;
  /** serve pages gzip-encoded to clients that accept it (1) or never (0) */
  gzip: number;
  /** measured rounds, raw and fetcher alternating; medians reported */
  rounds: number;
}

function parseArgs(argv: readonly string[]): Options {
  const options: Options = { urls: 5_000, hosts: 8, concurrency: 256, latency: 50, images: 0.3, gzip: 1, rounds: 3 };
  for (let i = 0; i < argv.length; i += 2) {
    const key = argv[i]?.replace(/^--/, '') as keyof Options;
    const value = Number(argv[i + 1]);
    if (!(key in options) || !Number.isFinite(value) || value < 0) throw new Error(`usage: --urls N --hosts 1-8 --concurrency N --latency MS --images 0-1 --gzip 0|1 --rounds N (bad ${argv[i]})`);
    options[key] = value;
  }
  options.hosts = Math.min(8, Math.max(1, Math.floor(options.hosts)));
  options.urls = Math.min(1_000_000, Math.max(1, Math.floor(options.urls)));
  options.concurrency = Math.max(1, Math.floor(options.concurrency));
  options.rounds = Math.min(20, Math.max(1, Math.floor(options.rounds)));
  return options;
}

const PAGE = Buffer.from(
  `<!doctype html><html><head><title>synthetic</title><meta property="og:image" content="/img/og.jpg"></head><body>` +
    Array.from({ length: 12 }, (_, i) => `<img src="/img/${i}.jpg" srcset="/img/${i}@2x.jpg 2x">`).join('') +
    '<p>synthetic filler text for the benchmark</p>'.repeat(150) +
    '</body></html>',
);
const PAGE_GZIP = gzipSync(PAGE);
const IMAGE = randomBytes(32 * 1024);

interface RunResult {
  checks: number;
  seconds: number;
  checksPerSecond: number;
  /** CPU time of this process (clients and servers) per check: steadier than checks/s on a busy machine */
  cpuMicrosPerCheck: number;
  failures: number;
}

/** Run `total` checks with `concurrency` workers pulling the next index. */
async function run(total: number, concurrency: number, check: (i: number) => Promise<boolean>): Promise<RunResult> {
  let next = 0;
  let failures = 0;
  const started = performance.now();
  const cpu = process.cpuUsage();
  await Promise.all(
    Array.from({ length: Math.min(concurrency, total) }, async () => {
      while (next < total) {
        const i = next++;
        if (!(await check(i))) failures++;
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  return {
    checks: total,
    seconds: round(seconds, 3),
    checksPerSecond: round(total / seconds, 1),
    cpuMicrosPerCheck: round((used.user + used.system) / total, 1),
    failures,
  };
}

/** the round with the median rate */
function median(rounds: readonly RunResult[]): RunResult {
  const sorted = [...rounds].sort((a, b) => a.checksPerSecond - b.checksPerSecond);
  return sorted[Math.floor(sorted.length / 2)] as RunResult;
}

function round(n: number, digits: number): number {
  return Number(n.toFixed(digits));
}

async function main(): Promise<void> {
  const options = parseArgs(process.argv.slice(2));
  const addresses = Array.from({ length: options.hosts }, (_, i) => `127.0.0.${i + 2}`);
  const zone = Object.fromEntries(addresses.map((a, i) => [`h${i + 1}.bench.test`, { A: [a] }]));
  const dns = await startDnsServer(zone);
  const servers: TestHttpServer[] = await Promise.all(
    addresses.map((address) =>
      startHttpServer(address, (req, res) => {
        // the injected latency: the server's own pacing
        setTimeout(() => {
          if ((req.url ?? '').startsWith('/img/')) {
            res.writeHead(200, { 'content-type': 'image/jpeg', 'content-length': String(IMAGE.length), etag: '"bench"' }).end(IMAGE);
          } else if (options.gzip > 0 && (req.headers['accept-encoding'] ?? '').includes('gzip')) {
            res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'content-encoding': 'gzip', 'content-length': String(PAGE_GZIP.length) }).end(PAGE_GZIP);
          } else {
            res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'content-length': String(PAGE.length) }).end(PAGE);
          }
        }, options.latency);
      }),
    ),
  );
  const perHost = Math.max(1, Math.ceil(options.concurrency / options.hosts));
  const pathOf = (i: number): string => (i % 100 < options.images * 100 ? `/img/${i}.jpg` : `/page/${i}`);
  const server = (i: number): TestHttpServer => servers[i % servers.length] as TestHttpServer;

  const agent = new Agent({ connections: perHost, pipelining: 1, keepAliveTimeout: 4_000 });
  const raw = async (i: number): Promise<boolean> => {
    try {
      const res = await request(server(i).url(pathOf(i)), { dispatcher: agent, headers: { 'user-agent': 'vigil-bench' } });
      for await (const _chunk of res.body) {
        // read and dropped, as a minimal checker would
      }
      return res.statusCode === 200;
    } catch {
      return false;
    }
  };

  const fetcher = new HttpFetcher({
    resolver: createDnsResolver({ servers: [dns.server], timeoutMs: 2_000, tries: 2 }),
    allowNetworks: ['127.0.0.2/31', '127.0.0.4/30', '127.0.0.8/31'],
    userAgent: 'vigil-bench',
    connectTimeoutMs: 5_000,
    totalTimeoutMs: 30_000,
    maxBodyBytes: 10 * 1024 * 1024,
    maxRedirects: 10,
    concurrency: options.concurrency,
    perHostConcurrency: perHost,
  });
  const guarded = async (i: number): Promise<boolean> => {
    const s = server(i);
    const result = await fetcher.fetch({ url: `http://h${(i % servers.length) + 1}.bench.test:${s.port}${pathOf(i)}` });
    return result.kind === 'response' && result.status === 200;
  };

  let peakRss = process.memoryUsage.rss();
  const rssSampler = setInterval(() => {
    peakRss = Math.max(peakRss, process.memoryUsage.rss());
  }, 50);
  try {
    // warm-up: connections, DNS cache, JIT — not measured
    const warm = Math.min(options.urls, 500);
    await run(warm, options.concurrency, raw);
    await run(warm, options.concurrency, guarded);

    const rawRounds: RunResult[] = [];
    const fetcherRounds: RunResult[] = [];
    for (let r = 0; r < options.rounds; r++) {
      rawRounds.push(await run(options.urls, options.concurrency, raw));
      fetcherRounds.push(await run(options.urls, options.concurrency, guarded));
    }
    const rawResult = { ...median(rawRounds), rounds: rawRounds.map((x) => x.checksPerSecond) };
    const fetcherResult = { ...median(fetcherRounds), rounds: fetcherRounds.map((x) => x.checksPerSecond) };
    const ratio = round(fetcherResult.checksPerSecond / rawResult.checksPerSecond, 3);
    const cpu = (rounds: readonly RunResult[]): number => median([...rounds].map((x) => ({ ...x, checksPerSecond: x.cpuMicrosPerCheck }))).checksPerSecond;
    const cpuMicrosPerCheck = { raw: cpu(rawRounds), fetcher: cpu(fetcherRounds) };
    const report = {
      benchmark: 'crawler',
      at: new Date().toISOString(),
      node: process.version,
      options,
      raw: rawResult,
      fetcher: fetcherResult,
      ratio,
      cpuMicrosPerCheck,
      target: 0.8,
      meetsTarget: ratio >= 0.8,
      peakRssMiB: round(peakRss / 1024 / 1024, 1),
    };
    const out = path.join('bench', 'results', 'crawler.json');
    await mkdir(path.dirname(out), { recursive: true });
    await writeFile(out, `${JSON.stringify(report, null, 2)}\n`);
    console.log(`raw undici:   ${rawResult.checksPerSecond} checks/s median of [${rawResult.rounds.join(', ')}] (${rawResult.failures} failed)`);
    console.log(`HttpFetcher:  ${fetcherResult.checksPerSecond} checks/s median of [${fetcherResult.rounds.join(', ')}] (${fetcherResult.failures} failed)`);
    console.log(`CPU per check (clients + servers): raw ${cpuMicrosPerCheck.raw} µs, HttpFetcher ${cpuMicrosPerCheck.fetcher} µs`);
    console.log(`ratio ${ratio} (target ≥ 0.8) — ${options.urls} URLs, ${options.hosts} hosts, concurrency ${options.concurrency}, ${options.latency} ms latency; written to ${out}`);
  } finally {
    clearInterval(rssSampler);
    await Promise.all([fetcher.close(), agent.close(), dns.close(), ...servers.map((s) => s.close())]);
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
