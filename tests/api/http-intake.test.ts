/**
 * The API over real HTTP on loopback: a streamed (chunked) upload over the byte limit gets its
 * 413 before the client has finished sending; a 100,000-line CSV is answered 202 in seconds;
 * the OpenAPI document describes the routes from their zod schemas.
 */
import net from 'node:net';
import { Readable } from 'node:stream';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApiHarness, type ApiHarness } from './support/api-harness.js';
import { uniqueId } from '../support/test-env.js';

describe('API over HTTP', () => {
  let h: ApiHarness;
  let base: string;
  let token: string;

  beforeAll(async () => {
    h = await startApiHarness();
    base = await h.app.listen({ host: '127.0.0.1', port: 0 });
    const force = await h.newForce();
    token = (await h.newKey('force', { force })).token;
  });
  afterAll(() => h?.close());

  it('a chunked text upload beyond 50 MB is cut off with a 413 problem', async () => {
    const line = Buffer.from(`https://${'x'.repeat(60)}.test/${'y'.repeat(1000)}\n`);
    let sent = 0;
    const endless = new Readable({
      read() {
        // stop offering data well past the limit, so a server that never answers fails the test instead of hanging it
        if (sent > 80 * 1024 * 1024) { this.push(null); return; }
        sent += line.length * 256;
        this.push(Buffer.concat(Array(256).fill(line)));
      },
    });
    const res = await request(`${base}/v1/submissions`, {
      method: 'POST', body: endless,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'text/plain' },
    });
    expect(res.statusCode).toBe(413);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(await res.body.json()).toMatchObject({ code: 'PAYLOAD_TOO_LARGE' });
    expect(sent).toBeLessThan(80 * 1024 * 1024);
  }, 60_000);

  it('a Content-Length over the limit is refused before the body is read', async () => {
    // A raw socket: announce 60 MB, send 15 bytes, and wait. The answer must come without the rest.
    const { hostname, port } = new URL(base);
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = net.connect({ host: hostname, port: Number(port) }, () => {
        socket.write(`POST /v1/submissions HTTP/1.1\r\nhost: ${hostname}\r\nauthorization: Bearer ${token}\r\n` +
          `content-type: text/csv\r\ncontent-length: ${60 * 1024 * 1024}\r\n\r\nurl\nhttp://a.test/`);
      });
      let text = '';
      socket.on('data', (chunk: Buffer) => {
        text += chunk.toString();
        if (text.includes('\r\n\r\n') && text.includes('}')) { socket.destroy(); resolve(text); }
      });
      socket.on('error', reject);
      socket.setTimeout(10_000, () => { socket.destroy(); reject(new Error(`no answer; got: ${text}`)); });
    });
    expect(answer).toMatch(/^HTTP\/1\.1 413 /);
    expect(answer).toContain('"code":"PAYLOAD_TOO_LARGE"');
  });

  it('answers a 100,000-line CSV with 202 in seconds', async () => {
    const tag = uniqueId('bulk');
    const csv = ['url,sha256', ...Array.from({ length: 100_000 }, (_, i) => `https://${tag}-${i % 90_000}.test/p/${i % 90_000},`)].join('\n');
    const started = performance.now();
    const res = await request(`${base}/v1/submissions`, {
      method: 'POST', body: csv, headers: { authorization: `Bearer ${token}`, 'content-type': 'text/csv' },
    });
    const body = (await res.body.json()) as { accepted: number; duplicates: number; rejected: unknown[] };
    const seconds = (performance.now() - started) / 1000;
    process.stdout.write(`100,000-line CSV (${(csv.length / 1e6).toFixed(1)} MB) answered ${res.statusCode} in ${seconds.toFixed(2)} s\n`);
    expect(res.statusCode).toBe(202);
    expect(body).toMatchObject({ accepted: 90_000, duplicates: 10_000, rejected: [] });
    expect(seconds).toBeLessThan(30);
  }, 120_000);

  it('serves the OpenAPI document generated from the route schemas, and its UI', async () => {
    const res = await request(`${base}/docs/json`);
    const doc = (await res.body.json()) as { openapi: string; paths: Record<string, Record<string, { parameters?: { name: string; in: string; schema: { enum?: string[] } }[]; requestBody?: { content: Record<string, unknown> } }>> };
    expect(doc.openapi).toBe('3.0.3');
    for (const path of ['/v1/forces', '/v1/keys', '/v1/keys/{id}', '/v1/submissions', '/v1/submissions/{id}', '/v1/submissions/{id}/report.csv', '/v1/reports', '/v1/reports/{id}', '/v1/reports/{id}/verdict']) {
      expect(doc.paths, path).toHaveProperty([path]);
    }
    expect(Object.keys(doc.paths['/v1/submissions']?.post?.requestBody?.content ?? {})).toEqual(['application/json', 'text/csv', 'text/plain']);
    const status = doc.paths['/v1/reports']?.get?.parameters?.find((p) => p.name === 'status');
    expect(status?.schema.enum).toContain('notified');
    expect(doc.paths['/v1/submissions']?.post?.parameters?.map((p) => `${p.in}:${p.name}`)).toContain('header:idempotency-key');
    expect(JSON.stringify(doc.paths['/v1/reports/{id}/verdict']?.post?.requestBody)).toContain('not_illegal');
    expect(JSON.stringify(doc.paths['/v1/keys']?.post?.requestBody)).toContain('recipient');
    const ui = await request(`${base}/docs`, { maxRedirections: 0 } as object);
    await ui.body.dump();
    expect([200, 302]).toContain(ui.statusCode);
  });
});
