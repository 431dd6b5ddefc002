/**
 * The HTTP implementation of the {@link Fetcher} port: undici behind the network guard.
 *
 * The pipeline, each step small (DESIGN.md house style 6):
 *   scheme check → global concurrency limit → hard deadline (DNS + connect + headers + body)
 *   → manual redirects (every hop dialled through the guarded agent) → body decoded by vigil,
 *   counted against the decoded-byte cap, passed through in-memory consumers, dropped.
 * It reports what happened and never decides the outcome (core/classify-outcome.ts does).
 */
import type { Dispatcher } from 'undici';
import { hasExpectedHashes, type HashLookup } from '../core/content-digests.js';
import type { Fetcher, FetchErrorKind, FetchFailure, FetchRequest, FetchResult } from '../core/fetcher.js';
import { mediaMetadataFromHeaders } from '../core/media-metadata.js';
import type { HostResolver } from '../tracing/dns-resolver.js';
import { parseCidrList } from './address-policy.js';
import { ConcurrencyLimit } from './concurrency-limit.js';
import { mapFetchError } from './fetch-error-kind.js';
import { createGuardedAgent, type GuardedAgent } from './guarded-agent.js';
import { createVantageAgent, type VantageConfig } from './vantage-agent.js';
import { discardBody, isUnreadMedia, mediaType, readBody } from './read-body.js';

export interface HttpFetcherOptions {
  /** the tracing resolver; the guard resolves through it */
  resolver: HostResolver;
  /** CIDRs exempt from the public-address rule (`crawler.allowNetworks`; tests only) */
  allowNetworks: readonly string[];
  userAgent: string;
  /** TCP + TLS connect, per hop */
  connectTimeoutMs: number;
  /** the whole fetch, all hops, DNS to last body byte */
  totalTimeoutMs: number;
  /** body bytes read at most; the rest is not read (`truncated`) */
  maxBodyBytes: number;
  /** redirects followed at most; one more is `too_many_redirects` */
  maxRedirects: number;
  /** fetches running at once, across all hosts */
  concurrency: number;
  /** sockets per origin */
  perHostConcurrency: number;
  /** response header block cap, bytes. @default 65536 */
  maxHeaderSize?: number;
  /** the hash list (`hashList.files`) digests are looked up in; null = none. @default null */
  hashList?: HashLookup | null;
  /**
   * `crawler.vantages`: HTTP proxies a fetch may be made through (`FetchRequest.vantage`). The
   * destination is still checked by the guard, before the proxy is asked (crawler/vantage-agent.ts).
   * @default []
   */
  vantages?: readonly VantageConfig[];
}

const HTTP_SCHEMES = new Set(['http:', 'https:']);
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
/** a redirect's own body is drained (for keep-alive) only up to this, then the socket is dropped */
const REDIRECT_DRAIN_BYTES = 16 * 1024;

/** Where a fetch has got to; read when the deadline cuts it short. */
interface Progress {
  url: URL;
  redirects: number;
  started: number;
}

export class HttpFetcher implements Fetcher {
  private readonly guarded: GuardedAgent;
  private readonly vantages = new Map<string, GuardedAgent>();
  private readonly limit: ConcurrencyLimit;
  private readonly headers: Record<string, string>;

  /** @throws Error when an `allowNetworks` entry is not a CIDR, or `concurrency` is not positive */
  constructor(private readonly options: HttpFetcherOptions) {
    this.limit = new ConcurrencyLimit(options.concurrency);
    const allow = parseCidrList(options.allowNetworks);
    this.guarded = createGuardedAgent({
      resolver: options.resolver,
      allow,
      connectTimeoutMs: options.connectTimeoutMs,
      headersTimeoutMs: options.totalTimeoutMs,
      bodyTimeoutMs: options.totalTimeoutMs,
      perHostConcurrency: options.perHostConcurrency,
      maxHeaderSize: options.maxHeaderSize,
    });
    for (const vantage of options.vantages ?? []) {
      this.vantages.set(vantage.id, createVantageAgent({
        vantage,
        resolver: options.resolver,
        allow,
        connectTimeoutMs: options.connectTimeoutMs,
        headersTimeoutMs: options.totalTimeoutMs,
        bodyTimeoutMs: options.totalTimeoutMs,
        perHostConcurrency: options.perHostConcurrency,
        maxHeaderSize: options.maxHeaderSize,
      }));
    }
    this.headers = {
      'user-agent': options.userAgent,
      accept: 'text/html,application/xhtml+xml,*/*;q=0.8',
      // vigil decodes these itself, with the byte cap on decoded bytes (crawler/decode-body.ts)
      'accept-encoding': 'gzip, deflate, br',
    };
  }

  async fetch(request: FetchRequest): Promise<FetchResult> {
    const vantage = request.vantage ?? null;
    const result = await this.fetchVia(request, vantage);
    // each observation made through a vantage says which (CONTRACT.md §3 `crawler.vantages`)
    return vantage === null ? result : { ...result, vantage };
  }

  private async fetchVia(request: FetchRequest, vantage: string | null): Promise<FetchResult> {
    const started = performance.now();
    let url: URL;
    try {
      url = new URL(request.url);
    } catch {
      return failure('other', 'invalid_url', request.url, 0, started);
    }
    if (!HTTP_SCHEMES.has(url.protocol)) return failure('blocked_scheme', url.protocol, url.href, 0, started);
    // an unknown vantage is never replaced by going direct: that would be a silent lie
    const guarded = vantage === null ? this.guarded : this.vantages.get(vantage);
    if (guarded === undefined) return failure('other', 'vantage_unknown', url.href, 0, started);

    let release: () => void;
    try {
      release = await this.limit.acquire(request.signal);
    } catch {
      return failure('timeout', 'aborted', url.href, 0, started);
    }

    // One controller for the deadline and the caller's signal. (AbortSignal.timeout/any would do
    // the same with a timer left for the garbage collector and a composite signal per fetch;
    // this timer is cleared as soon as the work has stopped.)
    const controller = new AbortController();
    const { signal } = controller;
    const deadline = setTimeout(() => controller.abort(new DOMException('The operation timed out.', 'TimeoutError')), this.options.totalTimeoutMs);
    deadline.unref();
    const callerSignal = request.signal;
    const onCallerAbort = (): void => controller.abort(callerSignal?.reason);
    if (callerSignal?.aborted) onCallerAbort();
    else callerSignal?.addEventListener('abort', onCallerAbort, { once: true });
    // durationMs of a fetch that ran is its own time, from the slot on (the deadline's span)
    const progress: Progress = { url, redirects: 0, started: performance.now() };
    const work = this.follow(progress, request, guarded, signal);
    // The slot is held until the work itself has stopped, not just until the caller is answered.
    void work.finally(() => {
      clearTimeout(deadline);
      callerSignal?.removeEventListener('abort', onCallerAbort);
      release();
    });

    // undici does not fail a request that is still waiting for its connection (e.g. a slow
    // DNS answer) when the signal aborts, so the deadline is enforced here as well.
    let onAbort: (() => void) | undefined;
    const cutShort = new Promise<FetchResult>((resolve) => {
      onAbort = () => resolve(this.abortFailure(progress, signal));
      if (signal.aborted) onAbort();
      else signal.addEventListener('abort', onAbort, { once: true });
    });
    try {
      return await Promise.race([work, cutShort]);
    } finally {
      if (onAbort) signal.removeEventListener('abort', onAbort);
    }
  }

  async close(): Promise<void> {
    await Promise.all([this.guarded.close(), ...[...this.vantages.values()].map((v) => v.close())]);
  }

  /** Request, follow redirects by hand, read the final body. Never throws. */
  private async follow(progress: Progress, request: FetchRequest, guarded: GuardedAgent, signal: AbortSignal): Promise<FetchResult> {
    for (;;) {
      const { url } = progress;
      try {
        const res = await guarded.agent.request({
          origin: url.origin,
          path: `${url.pathname}${url.search}`,
          method: 'GET',
          headers: this.headers,
          signal,
        });
        const headers = flattenHeaders(res.headers);
        const location = headers.location;

        if (REDIRECT_STATUSES.has(res.statusCode) && location !== undefined) {
          await drain(res.body, headers);
          if (progress.redirects >= this.options.maxRedirects) {
            return failure('too_many_redirects', String(progress.redirects), url.href, progress.redirects, progress.started);
          }
          let next: URL;
          try {
            next = new URL(location, url);
          } catch {
            return failure('protocol', 'bad_location', url.href, progress.redirects, progress.started);
          }
          progress.redirects++;
          progress.url = next;
          if (!HTTP_SCHEMES.has(next.protocol)) {
            return failure('blocked_scheme', next.protocol, next.href, progress.redirects, progress.started);
          }
          continue;
        }

        const body = await readBody(res.body, headers, {
          maxBodyBytes: this.options.maxBodyBytes,
          mediaPolicy: request.mediaPolicy ?? 'metadata',
          hashAnyType: hasExpectedHashes(request.expect),
          hashList: this.options.hashList ?? null,
          url: url.href,
        });
        return {
          kind: 'response',
          status: res.statusCode,
          headers,
          finalUrl: url.href,
          redirects: progress.redirects,
          remoteAddress: guarded.lastAddress(url.origin),
          media: mediaMetadataFromHeaders(headers),
          ...body,
          durationMs: elapsed(progress.started),
        };
      } catch (err) {
        if (signal.aborted) return this.abortFailure(progress, signal);
        const mapped = mapFetchError(err);
        return failure(mapped.kind, mapped.detail, url.href, progress.redirects, progress.started);
      }
    }
  }

  /** The deadline ran out (`deadline`) or the caller gave up (`aborted`): both `timeout`. */
  private abortFailure(progress: Progress, signal: AbortSignal): FetchFailure {
    const detail = (signal.reason as { name?: unknown } | undefined)?.name === 'TimeoutError' ? 'deadline' : 'aborted';
    return failure('timeout', detail, progress.url.href, progress.redirects, progress.started);
  }
}

function failure(error: FetchErrorKind, detail: string, finalUrl: string, redirects: number, started: number): FetchFailure {
  return { kind: 'error', error, detail, finalUrl, redirects, durationMs: elapsed(started) };
}

function elapsed(started: number): number {
  return Math.round(performance.now() - started);
}

/** Lower-case names, repeated headers joined with ", " (FetchResponse.headers). */
function flattenHeaders(raw: Record<string, string | string[] | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(raw)) {
    if (value === undefined) continue;
    out[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}

/**
 * Throw away a redirect's body. An unlabelled or non-media one is drained up to a small limit
 * (never kept) so the socket can be reused; a labelled media body is not read at all (§7).
 */
async function drain(body: Dispatcher.ResponseData['body'], headers: Readonly<Record<string, string>>): Promise<void> {
  const type = mediaType(headers['content-type']);
  if (type !== '' && isUnreadMedia(type)) {
    discardBody(body);
    return;
  }
  try {
    await body.dump({ limit: REDIRECT_DRAIN_BYTES });
  } catch {
    discardBody(body);
  }
}
