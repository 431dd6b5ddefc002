/**
 * The guard proxy's plain-HTTP path: an absolute-form request (`GET http://host/path`) forwarded
 * through the guarded undici agent, so the upstream connection is resolved, checked and dialled
 * at the checked address like every crawler connection. Streamed both ways, nothing cached,
 * bodies never logged. Media requests are refused and media response bodies dropped unread.
 *
 * The proxy's own error responses carry `x-vigil-guard: <fetch error kind>`; the same header
 * from an upstream is removed, so a server cannot forge a guard verdict.
 */
import type http from 'node:http';
import { Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { isBlockedRequest, isMediaContentType } from './browser-request-filter.js';
import { mapFetchError } from './fetch-error-kind.js';
import { authorityOf, GUARD_DETAIL_HEADER, GUARD_HEADER, type ProxyContext } from './guard-proxy-context.js';
import { discardBody } from './read-body.js';

/** Never forwarded, either way. */
const HOP_BY_HOP: ReadonlySet<string> = new Set([
  'connection', 'keep-alive', 'proxy-connection', 'proxy-authenticate', 'proxy-authorization', 'te', 'trailer',
  'transfer-encoding', 'upgrade', 'expect', 'host', 'http2-settings', GUARD_HEADER, GUARD_DETAIL_HEADER,
]);

type HeaderBag = Record<string, string | string[] | undefined>;

/** Drop hop-by-hop headers, and any header the `connection` header names. */
function endToEnd(headers: HeaderBag): Record<string, string | string[]> {
  const named = new Set(
    String(headers.connection ?? '').split(',').map((s) => s.trim().toLowerCase()).filter((s) => s !== ''),
  );
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) {
    const lower = name.toLowerCase();
    if (value === undefined || HOP_BY_HOP.has(lower) || named.has(lower)) continue;
    out[lower] = value;
  }
  return out;
}

/** Passes bytes through until `max`, then fails the pipeline (the connection is cut). */
class ByteCap extends Transform {
  private seen = 0;
  constructor(private readonly max: number) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.seen += chunk.length;
    if (this.seen > this.max) callback(Object.assign(new Error('body too large'), { code: 'VIGIL_BODY_TOO_LARGE' }));
    else callback(null, chunk);
  }
}

function answer(res: http.ServerResponse, status: number, kind: string, detail: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.writeHead(status, {
    [GUARD_HEADER]: kind,
    [GUARD_DETAIL_HEADER]: detail,
    'content-length': '0',
    'cache-control': 'no-store',
  });
  res.end();
}

function hasBody(req: http.IncomingMessage): boolean {
  const length = Number(req.headers['content-length'] ?? 0);
  return req.headers['transfer-encoding'] !== undefined || (Number.isFinite(length) && length > 0);
}

/** Serve one request the browser sent to the proxy. Never throws. */
export async function forwardRequest(ctx: ProxyContext, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const target = req.url ?? '';
  const authority = authorityOf(target);
  let url: URL;
  try {
    if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(target)) throw new Error('origin-form');
    url = new URL(target);
  } catch {
    ctx.refuse(authority, 'not_proxy_request', '');
    answer(res, 400, 'other', 'not_proxy_request');
    return;
  }
  if (url.protocol !== 'http:') {
    ctx.refuse(authority, 'blocked_scheme', url.protocol);
    answer(res, 403, 'blocked_scheme', url.protocol);
    return;
  }
  if (isBlockedRequest({ url: target, headers: req.headers })) {
    ctx.refuse(authority, 'media', 'request');
    answer(res, 403, 'other', 'media');
    return;
  }

  // The deadline, and the browser going away (page closed), both end the upstream request.
  const clientGone = new AbortController();
  res.on('close', () => clientGone.abort());
  const deadline = AbortSignal.timeout(ctx.requestTimeoutMs);
  const signal = AbortSignal.any([deadline, clientGone.signal]);
  try {
    const upstream = await ctx.agent.agent.request({
      origin: url.origin,
      path: `${url.pathname}${url.search}`,
      method: req.method ?? 'GET',
      headers: endToEnd(req.headers),
      body: hasBody(req) ? req : null,
      signal,
    });
    ctx.allowed();
    const headers = endToEnd(upstream.headers);
    if (isMediaContentType(String(headers['content-type'] ?? ''))) {
      // An image or video that got this far is answered without its body, which is never read.
      discardBody(upstream.body);
      ctx.refuse(authority, 'media', 'response');
      delete headers['content-length'];
      delete headers['content-encoding'];
      res.writeHead(upstream.statusCode, { ...headers, 'content-length': '0' });
      res.end();
      return;
    }
    res.writeHead(upstream.statusCode, headers);
    await pipeline(upstream.body, new ByteCap(ctx.maxBodyBytes), res);
  } catch (err) {
    if (clientGone.signal.aborted && !deadline.aborted) return; // the browser left; nothing to say
    const mapped = deadline.aborted ? { kind: 'timeout' as const, detail: 'deadline' } : mapFetchError(err);
    const kind = (err as { code?: unknown }).code === 'VIGIL_BODY_TOO_LARGE' ? 'body_too_large' : mapped.kind;
    if (kind === 'blocked_address' || kind === 'blocked_scheme') ctx.refuse(authority, kind, mapped.detail);
    else ctx.fail(authority, kind, mapped.detail);
    answer(res, kind === 'timeout' ? 504 : 502, kind, mapped.detail);
  }
}
