/**
 * Crawler benchmark (issue 3): checks/s of the full guarded HttpFetcher against a raw undici
 * request loop, same loopback fleet, same concurrency. Target: fetcher/raw ≥ 0.8.
 *
 *   npx tsx bench/crawler-bench.ts [--urls 5000] [--hosts 8] [--concurrency 256] [--latency 50] [--images 0.3] [--gzip 1] [--rounds 3] [--inline 0]
 *
 * The fleet (bench/crawler-fleet.ts) runs in a process of its own, as a real fleet does not share
 * the checker's CPU; `--inline 1` runs it in this process instead (the first two sessions' method:
 * the servers then take their CPU from the same thread as the client being measured). Raw and
 * fetcher rounds alternate so that load from elsewhere on the machine hits both alike. Besides
 * checks/s, the CPU time per check of the client and of the fleet is reported: checks/s compares
 * throughput at the given latency and concurrency, CPU per check what each check costs.
 *
 * SAFETY: servers bind 127.0.0.2–9 only; names resolve through the tests' loopback DNS server;
 * content is synthetic (filler pages, random bytes). Bounded: K checks each, then everything
 * is closed and the process ends. Results are printed and written to bench/results/crawler.json.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { PerformanceObserver } from 'node:perf_hooks';
import { Agent, request } from 'undici';
import { HttpFetcher } from '../crawler/http-fetcher.js';
import { type Fleet, startFleetInline, startFleetProcess } from './crawler-fleet.js';
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
  /** run the fleet in this process (1) or in its own (0) */
  inline: number;
}

function parseArgs(argv: readonly string[]): Options {
  const options: Options = { urls: 5_000, hosts: 8, concurrency: 256, latency: 50, images: 0.3, gzip: 1, rounds: 3, inline: 0 };
  for (let i = 0; i < argv.length; i += 2) {
    const key = argv[i]?.replace(/^--/, '') as keyof Options;
    const value = Number(argv[i + 1]);
    if (!(key in options) || !Number.isFinite(value) || value < 0) throw new Error(`usage: --urls N --hosts 1-8 --concurrency N --latency MS --images 0-1 --gzip 0|1 --rounds N --inline 0|1 (bad ${argv[i]})`);
    options[key] = value;
  }
  options.hosts = Math.min(8, Math.max(1, Math.floor(options.hosts)));
  options.urls = Math.min(1_000_000, Math.max(1, Math.floor(options.urls)));
  options.concurrency = Math.max(1, Math.floor(options.concurrency));
  options.rounds = Math.min(20, Math.max(1, Math.floor(options.rounds)));
  return options;
}

interface RunResult {
  checks: number;
  seconds: number;
  checksPerSecond: number;
  /** CPU time of this process per check (the client; with `--inline 1` the fleet too) */
  cpuMicrosPerCheck: number;
  /** garbage collection pauses of this process per check (µs) */
  gcMicrosPerCheck: number;
  /** CPU time of the fleet's process per check (null with `--inline 1`) */
  fleetCpuMicrosPerCheck: number | null;
  failures: number;
}

/** garbage collection pauses of this process so far (ms) */
let gcMillis = 0;
const gcObserver = new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) gcMillis += entry.duration;
});
gcObserver.observe({ entryTypes: ['gc'] });

/** Run `total` checks with `concurrency` workers pulling the next index. */
async function run(total: number, concurrency: number, fleet: Fleet | null, check: (i: number) => Promise<boolean>): Promise<RunResult> {
  let next = 0;
  let failures = 0;
  const fleetCpu = fleet === null ? 0 : await fleet.cpuMicros();
  const gcBefore = gcMillis;
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
  // the observer hears of a pause a little after it: let those of the last checks arrive
  await new Promise((resolve) => setImmediate(resolve));
  const gcUsed = gcMillis - gcBefore;
  const fleetUsed = fleet === null ? null : (await fleet.cpuMicros()) - fleetCpu;
  return {
    checks: total,
    seconds: round(seconds, 3),
    checksPerSecond: round(total / seconds, 1),
    cpuMicrosPerCheck: round((used.user + used.system) / total, 1),
    gcMicrosPerCheck: round((gcUsed * 1000) / total, 1),
    fleetCpuMicrosPerCheck: fleetUsed === null ? null : round(fleetUsed / total, 1),
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
  const fleetOptions = { hosts: options.hosts, latency: options.latency, gzip: options.gzip };
  const fleet = options.inline > 0 ? await startFleetInline(fleetOptions) : await startFleetProcess(fleetOptions);
  const servers = fleet.servers;
  const url = (s: { host: string; port: number }, p: string): string => `http://${s.host}:${s.port}${p}`;
  const perHost = Math.max(1, Math.ceil(options.concurrency / options.hosts));
  const pathOf = (i: number): string => (i % 100 < options.images * 100 ? `/img/${i}.jpg` : `/page/${i}`);
  const server = (i: number): { host: string; port: number } => servers[i % servers.length] as { host: string; port: number };

  const agent = new Agent({ connections: perHost, pipelining: 1, keepAliveTimeout: 4_000 });
  const raw = async (i: number): Promise<boolean> => {
    try {
      const res = await request(url(server(i), pathOf(i)), { dispatcher: agent, headers: { 'user-agent': 'vigil-bench' } });
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
    const measuredFleet = options.inline > 0 ? null : fleet;
    await run(warm, options.concurrency, measuredFleet, raw);
    await run(warm, options.concurrency, measuredFleet, guarded);

    const rawRounds: RunResult[] = [];
    const fetcherRounds: RunResult[] = [];
    for (let r = 0; r < options.rounds; r++) {
      rawRounds.push(await run(options.urls, options.concurrency, measuredFleet, raw));
      fetcherRounds.push(await run(options.urls, options.concurrency, measuredFleet, guarded));
    }
    const rawResult = { ...median(rawRounds), rounds: rawRounds.map((x) => x.checksPerSecond) };
    const fetcherResult = { ...median(fetcherRounds), rounds: fetcherRounds.map((x) => x.checksPerSecond) };
    const ratio = round(fetcherResult.checksPerSecond / rawResult.checksPerSecond, 3);
    const medianOf = (values: readonly number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;
    const cpuMicrosPerCheck = {
      raw: medianOf(rawRounds.map((x) => x.cpuMicrosPerCheck)),
      fetcher: medianOf(fetcherRounds.map((x) => x.cpuMicrosPerCheck)),
      fetcherToRaw: 0,
      fleetRaw: measuredFleet === null ? null : medianOf(rawRounds.map((x) => x.fleetCpuMicrosPerCheck ?? 0)),
      fleetFetcher: measuredFleet === null ? null : medianOf(fetcherRounds.map((x) => x.fleetCpuMicrosPerCheck ?? 0)),
    };
    cpuMicrosPerCheck.fetcherToRaw = round(cpuMicrosPerCheck.fetcher / cpuMicrosPerCheck.raw, 2);
    const gcMicrosPerCheck = {
      raw: medianOf(rawRounds.map((x) => x.gcMicrosPerCheck)),
      fetcher: medianOf(fetcherRounds.map((x) => x.gcMicrosPerCheck)),
    };
    const report = {
      benchmark: 'crawler',
      at: new Date().toISOString(),
      node: process.version,
      // V8 settings change the garbage collector's share (docs/OPERATOR.md, semi-space)
      nodeFlags: [...process.execArgv.filter((a) => a.startsWith('--max-')), ...(process.env.NODE_OPTIONS ?? '').split(/\s+/).filter((a) => a.startsWith('--max-'))],
      options,
      fleet: options.inline > 0 ? 'inline: the servers in the measured process' : 'a process of its own',
      raw: rawResult,
      fetcher: fetcherResult,
      ratio,
      cpuMicrosPerCheck,
      gcMicrosPerCheck,
      target: 0.8,
      meetsTarget: ratio >= 0.8,
      peakRssMiB: round(peakRss / 1024 / 1024, 1),
    };
    const out = path.join('bench', 'results', 'crawler.json');
    await mkdir(path.dirname(out), { recursive: true });
    await writeFile(out, `${JSON.stringify(report, null, 2)}\n`);
    console.log(`raw undici:   ${rawResult.checksPerSecond} checks/s median of [${rawResult.rounds.join(', ')}] (${rawResult.failures} failed)`);
    console.log(`HttpFetcher:  ${fetcherResult.checksPerSecond} checks/s median of [${fetcherResult.rounds.join(', ')}] (${fetcherResult.failures} failed)`);
    const who = options.inline > 0 ? 'client and servers, one process' : 'client';
    console.log(`CPU per check (${who}): raw ${cpuMicrosPerCheck.raw} µs, HttpFetcher ${cpuMicrosPerCheck.fetcher} µs (×${cpuMicrosPerCheck.fetcherToRaw})`
      + (cpuMicrosPerCheck.fleetRaw === null ? '' : `; the fleet's: ${cpuMicrosPerCheck.fleetRaw} µs, ${cpuMicrosPerCheck.fleetFetcher} µs`));
    console.log(`garbage collection per check (of the above): raw ${gcMicrosPerCheck.raw} µs, HttpFetcher ${gcMicrosPerCheck.fetcher} µs`);
    console.log(`ratio ${ratio} (target ≥ 0.8) — ${options.urls} URLs, ${options.hosts} hosts, concurrency ${options.concurrency}, ${options.latency} ms latency, fleet ${options.inline > 0 ? 'inline' : 'in its own process'}${report.nodeFlags.length > 0 ? `, node ${report.nodeFlags.join(' ')}` : ''}; written to ${out}`);
  } finally {
    clearInterval(rssSampler);
    gcObserver.disconnect();
    await Promise.all([fetcher.close(), agent.close(), dns.close(), fleet.close()]);
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
