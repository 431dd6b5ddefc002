/**
 * One RDAP query over HTTP (RFC 7480): GET a URL, follow a few redirects, read a capped JSON body.
 *
 * Which connections are trusted is decided per hop (CONTRACT.md §7): the first hop to a server
 * named in the bootstrap data goes through `trustedDispatcher`; every URL that came from the
 * network — a redirect's Location, a referral link — goes through `guardedDispatcher` (the
 * crawler's network guard, handed in by the composition root).
 */
import type { Dispatcher } from 'undici';
import { request } from 'undici';

/** Why a query gave no answer (kept apart from "answered, but no contact in it"). */
export type RdapFailureReason =
  | 'network' // refused, reset, DNS failure of the server's name
  | 'timeout' // the lookup's deadline ran out
  | 'http_status' // 429, 5xx, or another status that is neither an answer nor 404
  | 'bad_json' // not JSON, or JSON that is not an object
  | 'too_large' // the body is over the cap
  | 'too_many_redirects'
  | 'bad_redirect' // a Location that is missing, not http(s) or not a URL
  | 'blocked'; // the network guard refused the destination

export type RdapFetchResult =
  | { kind: 'ok'; urls: string[]; body: Record<string, unknown> }
  | { kind: 'not_found'; urls: string[] }
  | { kind: 'failed'; urls: string[]; reason: RdapFailureReason; detail: string; status?: number };

export interface RdapFetchOptions {
  /** for the first hop when `firstHopTrusted` */
  trustedDispatcher: Dispatcher;
  /** for every other hop */
  guardedDispatcher: Dispatcher;
  firstHopTrusted: boolean;
  /** redirects followed at most */
  maxRedirects: number;
  maxBodyBytes: number;
  /** aborts the whole query (all hops) */
  signal: AbortSignal;
  userAgent: string;
}

const ACCEPT = 'application/rdap+json, application/json;q=0.9';

/** Codes the network guard raises (crawler/guard-errors.ts); tracing may not import crawler/. */
const BLOCKED_CODES = new Set(['VIGIL_BLOCKED_ADDRESS']);

function failure(urls: string[], reason: RdapFailureReason, detail: string, status?: number): RdapFetchResult {
  return status === undefined ? { kind: 'failed', urls, reason, detail } : { kind: 'failed', urls, reason, detail, status };
}

function classifyError(err: unknown, signal: AbortSignal): { reason: RdapFailureReason; detail: string } {
  if (signal.aborted) return { reason: 'timeout', detail: 'deadline' };
  const e = err as { code?: unknown; name?: unknown; message?: unknown; cause?: { code?: unknown } };
  const code = typeof e.code === 'string' ? e.code : typeof e.cause?.code === 'string' ? e.cause.code : typeof e.name === 'string' ? e.name : 'EUNKNOWN';
  if (BLOCKED_CODES.has(code)) return { reason: 'blocked', detail: code };
  if (/TIMEOUT/i.test(code)) return { reason: 'timeout', detail: code };
  return { reason: 'network', detail: code };
}

/** Reads at most `max` bytes of the body; null when it is longer. */
async function readCapped(body: Dispatcher.ResponseData['body'], max: number): Promise<Buffer | null> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    const buf = chunk as Buffer;
    size += buf.length;
    if (size > max) {
      body.destroy();
      return null;
    }
    chunks.push(buf);
  }
  return Buffer.concat(chunks);
}

/** GET `url` as RDAP. Never throws. */
export async function fetchRdap(url: string, options: RdapFetchOptions): Promise<RdapFetchResult> {
  const urls: string[] = [];
  let current = url;
  for (let hop = 0; hop <= options.maxRedirects; hop++) {
    urls.push(current);
    const dispatcher = hop === 0 && options.firstHopTrusted ? options.trustedDispatcher : options.guardedDispatcher;
    let res: Dispatcher.ResponseData;
    try {
      res = await request(current, {
        method: 'GET',
        dispatcher,
        signal: options.signal,
        headers: { accept: ACCEPT, 'user-agent': options.userAgent },
      });
    } catch (err) {
      const { reason, detail } = classifyError(err, options.signal);
      return failure(urls, reason, detail);
    }
    // After the body is dropped, the deadline's abort may still fire on it: never unhandled.
    res.body.on('error', () => undefined);
    try {
      const { statusCode } = res;
      if (statusCode >= 300 && statusCode < 400 && statusCode !== 304) {
        res.body.destroy();
        const location = res.headers.location;
        const target = typeof location === 'string' ? safeUrl(location, current) : null;
        if (target === null) return failure(urls, 'bad_redirect', `status ${statusCode} with Location ${JSON.stringify(location ?? null)}`, statusCode);
        current = target;
        continue;
      }
      if (statusCode === 404) {
        res.body.destroy();
        return { kind: 'not_found', urls };
      }
      if (statusCode < 200 || statusCode >= 300) {
        res.body.destroy();
        const retryAfter = typeof res.headers['retry-after'] === 'string' ? `, Retry-After ${res.headers['retry-after'].slice(0, 32)}` : '';
        return failure(urls, 'http_status', `status ${statusCode}${retryAfter}`, statusCode);
      }
      const declared = Number(res.headers['content-length']);
      if (Number.isFinite(declared) && declared > options.maxBodyBytes) {
        res.body.destroy();
        return failure(urls, 'too_large', `content-length ${declared}`);
      }
      const bytes = await readCapped(res.body, options.maxBodyBytes);
      if (bytes === null) return failure(urls, 'too_large', `over ${options.maxBodyBytes} bytes`);
      let parsed: unknown;
      try {
        parsed = JSON.parse(bytes.toString('utf8'));
      } catch (err) {
        return failure(urls, 'bad_json', (err as Error).message.slice(0, 120));
      }
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return failure(urls, 'bad_json', 'not a JSON object');
      return { kind: 'ok', urls, body: parsed as Record<string, unknown> };
    } catch (err) {
      res.body.destroy();
      const { reason, detail } = classifyError(err, options.signal);
      return failure(urls, reason, detail);
    }
  }
  return failure(urls, 'too_many_redirects', `more than ${options.maxRedirects}`);
}

/** An absolute http(s) URL for `location` relative to `base`, or null. */
export function safeUrl(location: string, base: string): string | null {
  try {
    const u = new URL(location, base);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') return null;
    if (u.username !== '' || u.password !== '') return null;
    return u.toString();
  } catch {
    return null;
  }
}
