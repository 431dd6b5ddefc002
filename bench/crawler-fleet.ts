/**
 * The crawler benchmark's loopback fleet: 1–8 HTTP servers on 127.0.0.2–9 serving a synthetic
 * page (12 images, 150 paragraphs of filler) and synthetic 32 KiB "images" of random bytes, each
 * answer after the injected latency. bench/crawler-bench.ts starts it inline or, by default, in a
 * process of its own (this file as the child's entry), so that the servers do not share the
 * measured client's thread — as no real fleet does.
 *
 * Child protocol (IPC): argv `--hosts N --latency MS --gzip 0|1`; sends `{ ports }` once
 * listening; on the message `'cpu'` answers `{ cpu: process.cpuUsage() }`; on `'close'` (or when
 * the parent goes away) closes its servers and exits.
 */
import { fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';
import { startHttpServer, type TestHttpServer } from '../tests/crawler/support/loopback-servers.js';

export interface FleetOptions {
  hosts: number;
  latency: number;
  /** serve pages gzip-encoded to clients that accept it (1) or never (0) */
  gzip: number;
}

export interface Fleet {
  /** host address and port of each server */
  servers: { host: string; port: number }[];
  /** CPU time the fleet has used so far (µs, user + system) */
  cpuMicros(): Promise<number>;
  close(): Promise<void>;
}

const PAGE = Buffer.from(
  `<!doctype html><html><head><title>synthetic</title><meta property="og:image" content="/img/og.jpg"></head><body>` +
    Array.from({ length: 12 }, (_, i) => `<img src="/img/${i}.jpg" srcset="/img/${i}@2x.jpg 2x">`).join('') +
    '<p>synthetic filler text for the benchmark</p>'.repeat(150) +
    '</body></html>',
);
const PAGE_GZIP = gzipSync(PAGE);
const IMAGE = randomBytes(32 * 1024);

/** The fleet in this process. */
export async function startFleetInline(options: FleetOptions): Promise<Fleet> {
  const addresses = Array.from({ length: options.hosts }, (_, i) => `127.0.0.${i + 2}`);
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
  return {
    servers: servers.map((s) => ({ host: s.host, port: s.port })),
    cpuMicros: () => {
      const { user, system } = process.cpuUsage();
      return Promise.resolve(user + system);
    },
    close: async () => {
      await Promise.all(servers.map((s) => s.close()));
    },
  };
}

/** The fleet in a child process of its own (this file, run through tsx). */
export async function startFleetProcess(options: FleetOptions): Promise<Fleet> {
  const args = ['--hosts', String(options.hosts), '--latency', String(options.latency), '--gzip', String(options.gzip)];
  const proc = fork(fileURLToPath(import.meta.url), args, { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const exited = once(proc, 'exit');
  const first = await Promise.race([
    once(proc, 'message') as Promise<[{ ports?: number[] }]>,
    exited.then(([code]) => { throw new Error(`the fleet process exited (${String(code)}) before listening`); }),
  ]);
  const ports = first[0].ports ?? [];
  return {
    servers: ports.map((port, i) => ({ host: `127.0.0.${i + 2}`, port })),
    cpuMicros: async () => {
      const reply = once(proc, 'message') as Promise<[{ cpu: number }]>;
      proc.send('cpu');
      const [{ cpu }] = await reply;
      return cpu;
    },
    close: async () => {
      if (proc.exitCode === null && proc.signalCode === null) {
        proc.send('close');
        await exited;
      }
    },
  };
}

async function child(): Promise<void> {
  const argv = process.argv.slice(2);
  const arg = (name: string): number => Number(argv[argv.indexOf(`--${name}`) + 1]);
  const fleet = await startFleetInline({ hosts: arg('hosts'), latency: arg('latency'), gzip: arg('gzip') });
  const stop = async (): Promise<void> => {
    await fleet.close();
    process.disconnect?.();
  };
  process.on('message', (message) => {
    if (message === 'cpu') void fleet.cpuMicros().then((cpu) => process.send?.({ cpu }));
    if (message === 'close') void stop();
  });
  process.on('disconnect', () => void fleet.close().then(() => process.exit(0)));
  process.send?.({ ports: fleet.servers.map((s) => s.port) });
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  child().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
