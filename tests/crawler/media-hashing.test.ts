/**
 * Content identity in the fetcher, end to end on loopback (127.0.0.2, in allowNetworks):
 * header metadata, digests under `mediaPolicy: hash` (streamed, in memory, only for a body read
 * to its end), hash-list matches, and that `metadata` never reads a media body. Images are
 * random bytes.
 */
import { createHash } from 'node:crypto';
import type http from 'node:http';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { ContentDigests, FetchResult } from '../../core/fetcher.js';
import { HttpFetcher, type HttpFetcherOptions } from '../../crawler/http-fetcher.js';
import { createDnsResolver } from '../../tracing/dns-resolver.js';
import { startHttpServer, type TestHttpServer } from './support/loopback-servers.js';
import { startDnsServer, type TestDnsServer } from './support/test-dns-server.js';
import { encodeSync, fillerPage, KIB, syntheticImage } from './support/synthetic-bodies.js';

const CAP = 512 * KIB;
const IMAGE = syntheticImage(200 * KIB);
const LARGE = syntheticImage(CAP + 1);
const PAGE = fillerPage('<img src="/a.jpg">');

let dns: TestDnsServer;
let web: TestHttpServer;
const fetchers: HttpFetcher[] = [];
/** bytes the server had written when each response closed, by path */
const written: Record<string, Promise<number>> = {};

function digestsOf(data: Buffer): ContentDigests {
  const hex = (algorithm: string): string => createHash(algorithm).update(data).digest('hex');
  return { sha256: hex('sha256'), sha1: hex('sha1'), md5: hex('md5') };
}

function makeFetcher(overrides: Partial<HttpFetcherOptions> = {}): HttpFetcher {
  const f = new HttpFetcher({
    resolver: createDnsResolver({ servers: [dns.server], timeoutMs: 2_000, tries: 1 }),
    allowNetworks: ['127.0.0.2/32'],
    userAgent: 'vigil-test/1',
    connectTimeoutMs: 2_000,
    totalTimeoutMs: 5_000,
    maxBodyBytes: CAP,
    maxRedirects: 2,
    concurrency: 8,
    perHostConcurrency: 4,
    ...overrides,
  });
  fetchers.push(f);
  return f;
}

function serve(path: string, res: http.ServerResponse, headers: Record<string, string>, body: Buffer): void {
  written[path] = new Promise((resolve) => res.on('close', () => resolve(res.socket?.bytesWritten ?? -1)));
  res.writeHead(200, headers);
  // in pieces, so that a client that stops reading leaves most of it unsent
  let offset = 0;
  const pump = (): void => {
    while (offset < body.length && !res.destroyed) {
      const piece = body.subarray(offset, offset + 16 * KIB);
      offset += piece.length;
      if (!res.write(piece)) {
        res.once('drain', pump);
        return;
      }
    }
    if (!res.destroyed) res.end();
  };
  pump();
}

beforeAll(async () => {
  dns = await startDnsServer({ 'media.test': { A: ['127.0.0.2'] } });
  web = await startHttpServer('127.0.0.2', (req, res) => {
    const path = req.url ?? '/';
    const image = { 'content-type': 'image/jpeg', etag: '"v1-abc"', 'last-modified': 'Mon, 01 Jan 2024 00:00:00 GMT' };
    switch (path) {
      case '/image.jpg':
        serve(path, res, { ...image, 'content-length': String(IMAGE.length) }, IMAGE);
        return;
      case '/image.gz':
        serve(path, res, { ...image, 'content-encoding': 'gzip' }, encodeSync('gzip', IMAGE));
        return;
      case '/large.jpg':
        serve(path, res, { 'content-type': 'image/jpeg', 'content-length': String(LARGE.length) }, LARGE);
        return;
      case '/unlabelled':
        serve(path, res, {}, IMAGE);
        return;
      case '/mislabelled':
        serve(path, res, { 'content-type': 'text/html' }, IMAGE);
        return;
      case '/page':
        serve(path, res, { 'content-type': 'text/html' }, PAGE);
        return;
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

describe('mediaPolicy metadata (the default)', () => {
  test('an image is not read; its header metadata is reported', async () => {
    const result = expectResponse(await makeFetcher().fetch({ url: `http://media.test:${web.port}/image.jpg` }));
    expect(result).toMatchObject({ bodyBytes: 0, digests: null, hashListMatch: null, mediaRefs: null });
    expect(result.media).toEqual({
      contentType: 'image/jpeg',
      contentLength: IMAGE.length,
      etag: '"v1-abc"',
      lastModified: 'Mon, 01 Jan 2024 00:00:00 GMT',
    });
    expect(await written['/image.jpg']).toBeLessThan(IMAGE.length);
  });

  test('item hashes do not make it read a media body', async () => {
    const result = expectResponse(await makeFetcher().fetch({ url: web.url('/image.jpg'), expect: digestsOf(IMAGE) }));
    expect(result).toMatchObject({ bodyBytes: 0, digests: null });
  });
});

describe('mediaPolicy hash', () => {
  test('an image is streamed through sha256, sha1 and md5', async () => {
    const result = expectResponse(await makeFetcher().fetch({ url: web.url('/image.jpg'), mediaPolicy: 'hash' }));
    expect(result).toMatchObject({ bodyBytes: IMAGE.length, truncated: false, textSample: null, mediaRefs: null });
    expect(result.digests).toEqual(digestsOf(IMAGE));
    expect(result.hashListMatch).toBeNull();
  });

  test('digests are of the decoded bytes', async () => {
    const result = expectResponse(await makeFetcher().fetch({ url: web.url('/image.gz'), mediaPolicy: 'hash' }));
    expect(result.digests).toEqual(digestsOf(IMAGE));
  });

  test('an unlabelled body is media: hashed', async () => {
    const result = expectResponse(await makeFetcher().fetch({ url: web.url('/unlabelled'), mediaPolicy: 'hash' }));
    expect(result.digests).toEqual(digestsOf(IMAGE));
  });

  test('a body cut at the cap has no digests', async () => {
    const result = expectResponse(await makeFetcher().fetch({ url: web.url('/large.jpg'), mediaPolicy: 'hash' }));
    expect(result).toMatchObject({ truncated: true, bodyBytes: CAP, digests: null, hashListMatch: null });
  });

  test('a digest in the hash list → hashListMatch, strongest algorithm first', async () => {
    const { sha1, md5 } = digestsOf(IMAGE);
    const list = new Set([md5, sha1]);
    const f = makeFetcher({ hashList: { has: (d) => list.has(d) } });
    const result = expectResponse(await f.fetch({ url: web.url('/image.jpg'), mediaPolicy: 'hash' }));
    expect(result.hashListMatch).toEqual({ algorithm: 'sha1', digest: sha1 });
  });

  test('a page is not hashed, unless the item has hashes (a mislabelled file can still match)', async () => {
    const f = makeFetcher();
    const page = expectResponse(await f.fetch({ url: web.url('/page'), mediaPolicy: 'hash' }));
    expect(page.digests).toBeNull();
    const mislabelled = expectResponse(await f.fetch({ url: web.url('/mislabelled'), mediaPolicy: 'hash', expect: { md5: digestsOf(IMAGE).md5 } }));
    expect(mislabelled.digests).toEqual(digestsOf(IMAGE));
  });
});
