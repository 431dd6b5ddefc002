/**
 * Decompression by vigil, end to end through HttpFetcher, against synthetic servers on loopback
 * (127.0.0.2, in allowNetworks). Bombs are zeros compressed on the fly; each test ends within the
 * fetch deadline with the right result, and memory stays bounded while a 1 GB bomb is served.
 */
import type http from 'node:http';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { FetchResult } from '../../core/fetcher.js';
import { HttpFetcher, type HttpFetcherOptions } from '../../crawler/http-fetcher.js';
import { createDnsResolver } from '../../tracing/dns-resolver.js';
import { startHttpServer, type TestHttpServer } from './support/loopback-servers.js';
import { startDnsServer, type TestDnsServer } from './support/test-dns-server.js';
import { encodeSync, fillerPage, MIB, serveBomb, type Coding } from './support/synthetic-bodies.js';

const DEADLINE_MS = 8_000;
const CAP = 10 * MIB;
const GIB = 1024 * MIB;
const PAGE = fillerPage('<h1>Synthetic Gallery</h1><img src="/media/one.jpg"><img srcset="two.jpg 1x, /media/three.jpg 2x">', 20_000);

let dns: TestDnsServer;
let web: TestHttpServer;
const fetchers: HttpFetcher[] = [];
/** decoded bytes each bomb's server had produced when its response closed, by path */
const produced: Record<string, Promise<number>> = {};

function makeFetcher(overrides: Partial<HttpFetcherOptions> = {}): HttpFetcher {
  const f = new HttpFetcher({
    resolver: createDnsResolver({ servers: [dns.server], timeoutMs: 2_000, tries: 1 }),
    allowNetworks: ['127.0.0.2/32'],
    userAgent: 'vigil-test/1',
    connectTimeoutMs: 2_000,
    totalTimeoutMs: DEADLINE_MS,
    maxBodyBytes: CAP,
    maxRedirects: 2,
    concurrency: 8,
    perHostConcurrency: 4,
    ...overrides,
  });
  fetchers.push(f);
  return f;
}

/** `?length` in the URL: announce Content-Length (a small one takes the one-shot decoding path) */
function send(res: http.ServerResponse, headers: Record<string, string>, body: Buffer): void {
  const announce = (res.req.url ?? '').endsWith('?length');
  const length: Record<string, string> = announce ? { 'content-length': String(body.length) } : {};
  res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', ...length, ...headers }).end(body);
}

beforeAll(async () => {
  dns = await startDnsServer({ 'zip.test': { A: ['127.0.0.2'] } });
  web = await startHttpServer('127.0.0.2', (req, res) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const bomb = /^\/bomb\/(gzip|br|deflate)(-image)?$/.exec(path);
    if (bomb) {
      produced[path] = serveBomb(res, bomb[1] as Coding, GIB, bomb[2] ? 'image/png' : 'text/html');
      return;
    }
    const coded = /^\/page\/(gzip|br|deflate|deflate-raw)$/.exec(path);
    if (coded) {
      const coding = coded[1] as Coding;
      send(res, { 'content-encoding': coding === 'deflate-raw' ? 'deflate' : coding }, encodeSync(coding, PAGE));
      return;
    }
    switch (path) {
      case '/page/identity':
        send(res, {}, PAGE);
        return;
      case '/page/chain':
        send(res, { 'content-encoding': 'gzip, br' }, encodeSync('br', encodeSync('gzip', PAGE)));
        return;
      case '/page/zstd':
        send(res, { 'content-encoding': 'zstd' }, PAGE);
        return;
      case '/chain-1000':
        send(res, { 'content-encoding': Array.from({ length: 1000 }, () => 'gzip').join(', ') }, PAGE);
        return;
      case '/small-bomb':
        // 20 MiB of zeros in ~20 KiB of gzip, announced: too big to decode at once, cut at the cap
        send(res, { 'content-encoding': 'gzip' }, encodeSync('gzip', Buffer.alloc(20 * MIB)));
        return;
      case '/corrupt-gzip':
        send(res, { 'content-encoding': 'gzip' }, Buffer.concat([encodeSync('gzip', PAGE).subarray(0, 30), Buffer.alloc(2_000, 0xff)]));
        return;
      case '/stall-gzip':
        // the first part of a gzip body, then nothing: the decoder waits on a silent socket
        res.writeHead(200, { 'content-type': 'text/html', 'content-encoding': 'gzip' });
        res.write(encodeSync('gzip', PAGE).subarray(0, 200));
        return;
      case '/empty-deflate-blocks': {
        // raw deflate: empty stored blocks forever — decodes to nothing, never ends
        res.writeHead(200, { 'content-type': 'text/html', 'content-encoding': 'deflate' });
        const block = Buffer.from([0, 0, 0, 0xff, 0xff]);
        const chunk = Buffer.concat(Array.from({ length: 2_000 }, () => block));
        const pump = (): void => {
          while (!res.destroyed && res.write(chunk));
          if (!res.destroyed) res.once('drain', pump);
        };
        pump();
        return;
      }
      default:
        res.writeHead(404).end();
    }
  });
});

afterAll(async () => {
  await Promise.all(fetchers.map((f) => f.close()));
  await Promise.all([dns.close(), web.close()]);
});

function expectResponse(result: FetchResult): Extract<FetchResult, { kind: 'response' }> {
  if (result.kind !== 'response') throw new Error(`expected a response, got ${JSON.stringify(result)}`);
  return result;
}

/** Run `work` while sampling RSS; resolves with its result and the peak growth in bytes. */
async function withPeakRss<T>(work: () => Promise<T>): Promise<{ value: T; growth: number }> {
  const before = process.memoryUsage().rss;
  let peak = before;
  const sampler = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 5);
  try {
    const value = await work();
    peak = Math.max(peak, process.memoryUsage().rss);
    return { value, growth: peak - before };
  } finally {
    clearInterval(sampler);
  }
}

describe('decoded pages', () => {
  test.each(['identity', 'gzip', 'deflate', 'deflate-raw', 'br', 'chain'].flatMap((n) => [`${n}`, `${n}?length`]))(
    '%s: decoded sample, references and byte count', async (name) => {
    const result = expectResponse(await makeFetcher().fetch({ url: `http://zip.test:${web.port}/page/${name}` }));
    expect(result).toMatchObject({ status: 200, truncated: false, bodyBytes: PAGE.length });
    expect(result.textSample).toContain('<h1>synthetic gallery</h1>');
    expect(result.mediaRefs).toEqual([
      `http://zip.test:${web.port}/media/one.jpg`,
      `http://zip.test:${web.port}/page/two.jpg`,
      `http://zip.test:${web.port}/media/three.jpg`,
    ]);
  });

  test('an encoding vigil does not know is opaque: counted, never interpreted', async () => {
    const result = expectResponse(await makeFetcher().fetch({ url: web.url('/page/zstd') }));
    expect(result).toMatchObject({ status: 200, bodyBytes: PAGE.length, textSample: null, mediaRefs: null, truncated: false });
  });
});

describe('hostile encodings', () => {
  test('a 1,000-entry Content-Encoding chain → protocol (encoding_chain), at once', async () => {
    const result = await makeFetcher().fetch({ url: web.url('/chain-1000') });
    expect(result).toMatchObject({ kind: 'error', error: 'protocol', detail: 'encoding_chain' });
    expect(result.durationMs).toBeLessThan(2_000);
  });

  test.each(['', '?length'])('corrupt gzip%s → protocol (corrupt_gzip)', async (query) => {
    const result = await makeFetcher().fetch({ url: web.url(`/corrupt-gzip${query}`) });
    expect(result).toMatchObject({ kind: 'error', error: 'protocol', detail: 'corrupt_gzip' });
  });

  test('a small announced body that decodes big is streamed instead, and cut at the cap', async () => {
    const { value: result, growth } = await withPeakRss(() => makeFetcher().fetch({ url: web.url('/small-bomb?length') }));
    expect(expectResponse(result)).toMatchObject({ status: 200, truncated: true, bodyBytes: CAP });
    expect(growth).toBeLessThan(200 * MIB);
  });

  test('a compressed body that stalls → timeout, at the deadline', async () => {
    const result = await makeFetcher({ totalTimeoutMs: 400 }).fetch({ url: web.url('/stall-gzip') });
    expect(result).toMatchObject({ kind: 'error', error: 'timeout', detail: 'deadline' });
    expect(result.durationMs).toBeLessThan(2_000);
  });

  test('endless empty deflate blocks: stopped at the encoded-byte cap, not at the deadline', async () => {
    const result = expectResponse(await makeFetcher({ maxBodyBytes: 256 * 1024 }).fetch({ url: web.url('/empty-deflate-blocks') }));
    expect(result).toMatchObject({ truncated: true, bodyBytes: 0 });
    expect(result.durationMs).toBeLessThan(DEADLINE_MS / 2);
  });

  test.each(['gzip', 'br', 'deflate'] as const)(
    'a %s bomb of 1 GiB decoded stops at the 10 MiB decoded cap, memory bounded',
    async (coding) => {
      const path = `/bomb/${coding}`;
      const { value: result, growth } = await withPeakRss(() => makeFetcher().fetch({ url: web.url(path) }));
      expect(expectResponse(result)).toMatchObject({ status: 200, truncated: true, bodyBytes: CAP });
      expect(result.durationMs).toBeLessThan(DEADLINE_MS);
      expect(growth).toBeLessThan(200 * MIB);
      // the client stopped reading: the server never got near producing the whole gigabyte
      // (what it made beyond the cap sat compressed in socket and zlib buffers)
      expect(await produced[path]).toBeLessThan(GIB / 4);
    },
  );

  test('a bomb served as an image under mediaPolicy hash: cut at the cap, so no digests', async () => {
    const path = '/bomb/gzip-image';
    const { value: result, growth } = await withPeakRss(() => makeFetcher().fetch({ url: web.url(path), mediaPolicy: 'hash' }));
    expect(expectResponse(result)).toMatchObject({ truncated: true, bodyBytes: CAP, digests: null, hashListMatch: null, textSample: null });
    expect(growth).toBeLessThan(200 * MIB);
    expect(await produced[path]).toBeLessThan(GIB / 4);
  });
});
