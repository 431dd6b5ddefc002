/**
 * The browser implementation of the {@link Fetcher} port, for pages whose content is built by
 * script (chosen by core/browser-choice.ts): Chromium through playwright-core, every byte of its
 * traffic through the guard proxy (crawler/guard-proxy.ts).
 *
 *   scheme check → page slot (`crawler.browser.pages`) → hard deadline (launch, navigation,
 *   settle, text) → result in the HTTP fetcher's shape, status/headers of the main document.
 *
 * A page that has not finished at the deadline is closed; if it cannot be closed within the
 * grace, the browser counts as wedged and the watchdog kills its process tree (the next fetch
 * launches a new one). The slot is held until the page is really gone. It never takes a
 * screenshot, never reads the page's HTML, and keeps no file: see crawler/browser-launch.ts.
 */
import type { Fetcher, FetchErrorKind, FetchFailure, FetchRequest, FetchResult } from '../core/fetcher.js';
import type { HostResolver } from '../tracing/dns-resolver.js';
import { mapBrowserError } from './browser-errors.js';
import { BrowserPool, type PageLease, type PoolStats } from './browser-pool.js';
import { visitPage } from './browser-page.js';
import { looksLikeMediaUrl } from './browser-request-filter.js';
import { GuardProxy, type GuardProxyCounts } from './guard-proxy.js';

export interface BrowserFetcherOptions {
  /** Chromium (`crawler.browser.executablePath`, else CHROMIUM_PATH, else /usr/bin/chromium) */
  executablePath: string;
  /** the tracing resolver; the guard proxy resolves through it */
  resolver: HostResolver;
  /** CIDRs exempt from the public-address rule (`crawler.allowNetworks`; tests only) */
  allowNetworks: readonly string[];
  userAgent: string;
  /** TCP + TLS connect, per upstream connection of the proxy */
  connectTimeoutMs: number;
  /** the whole fetch: launch if needed, navigation, settling, reading */
  totalTimeoutMs: number;
  /** bytes of one response the proxy relays at most */
  maxBodyBytes: number;
  /** redirects of the main document followed at most */
  maxRedirects: number;
  /** pages open at once (`crawler.browser.pages`) */
  pages: number;
  /** pages per browser context before it is replaced. @default 20 */
  pagesPerContext?: number;
  /** how long closing a page may take before the browser is killed, ms. @default 3000 */
  watchdogGraceMs?: number;
  /** quiet network time that ends settling, ms. @default 300 */
  settleQuietMs?: number;
  /** longest settling after the document is parsed, ms. @default 3000 */
  settleMaxMs?: number;
}

/** Characters of visible text kept in `textSample` (64 KiB, like the HTTP fetcher's sample). */
export const BROWSER_TEXT_CAP = 64 * 1024;

const HTTP_SCHEMES = new Set(['http:', 'https:']);
const LAUNCH_TIMEOUT_MS = 30_000;
const TIMED_OUT = Symbol('timed out');

/** `work`'s value, or TIMED_OUT when it takes longer than `ms`. */
function within<T>(work: Promise<T>, ms: number): Promise<T | typeof TIMED_OUT> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => resolve(TIMED_OUT), ms);
    work.then(resolve, reject).finally(() => clearTimeout(timer));
  });
}

function failure(error: FetchErrorKind, detail: string, finalUrl: string, started: number): FetchFailure {
  return { kind: 'error', error, detail, finalUrl, redirects: 0, durationMs: Math.round(performance.now() - started) };
}

export class BrowserFetcher implements Fetcher {
  private readonly proxy: GuardProxy;
  private readonly background: GuardProxy;
  private readonly pool: BrowserPool;
  private proxiesStarted: Promise<unknown> | null = null;
  private closing: Promise<void> | null = null;
  private readonly cleanups = new Set<Promise<void>>();

  /** @throws Error when an `allowNetworks` entry is not a CIDR, or `pages` is not positive */
  constructor(private readonly options: BrowserFetcherOptions) {
    const proxyOptions = {
      resolver: options.resolver,
      allowNetworks: options.allowNetworks,
      connectTimeoutMs: options.connectTimeoutMs,
      requestTimeoutMs: options.totalTimeoutMs,
      maxBodyBytes: options.maxBodyBytes,
    };
    this.proxy = new GuardProxy(proxyOptions);
    this.background = new GuardProxy({ ...proxyOptions, refuseAll: true });
    this.pool = new BrowserPool({
      executablePath: options.executablePath,
      userAgent: options.userAgent,
      pages: options.pages,
      pagesPerContext: options.pagesPerContext ?? 20,
      graceMs: options.watchdogGraceMs ?? 3_000,
      launchTimeoutMs: LAUNCH_TIMEOUT_MS,
    });
  }

  async fetch(request: FetchRequest): Promise<FetchResult> {
    const started = performance.now();
    let url: URL;
    try {
      url = new URL(request.url);
    } catch {
      return failure('other', 'invalid_url', request.url, started);
    }
    if (!HTTP_SCHEMES.has(url.protocol)) return failure('blocked_scheme', url.protocol, url.href, started);
    if (request.vantage != null) return failure('other', 'vantage_unsupported', url.href, started);
    // The browser is for pages; an image or video URL is never opened in it (CONTRACT.md §7).
    if (looksLikeMediaUrl(url.href)) return failure('other', 'media_url', url.href, started);

    try {
      await this.startProxies();
    } catch {
      return failure('other', 'proxy_unavailable', url.href, started);
    }
    let release: () => void;
    try {
      release = await this.pool.slot(request.signal);
    } catch {
      return failure('timeout', 'aborted', url.href, started);
    }

    const began = performance.now();
    const deadline = AbortSignal.timeout(this.options.totalTimeoutMs);
    const signal = request.signal ? AbortSignal.any([deadline, request.signal]) : deadline;
    const ticket = { generation: null as number | null };
    const leasing = this.pool.openPage(ticket);
    const work = leasing.then((lease) => visitPage(lease.page, url.href, {
      started: began,
      deadlineAt: began + this.options.totalTimeoutMs,
      maxRedirects: this.options.maxRedirects,
      settleQuietMs: this.options.settleQuietMs ?? 300,
      settleMaxMs: this.options.settleMaxMs ?? 3_000,
      textCap: BROWSER_TEXT_CAP,
      verdictFor: (authority, since) => this.proxy.verdictFor(authority, since),
    })).catch((err: unknown) => {
      const mapped = mapBrowserError(err);
      return failure(mapped.kind, mapped.detail === 'browser_error' ? 'browser_unavailable' : mapped.detail, url.href, began);
    });

    let onAbort: (() => void) | undefined;
    const cutShort = new Promise<FetchResult>((resolve) => {
      onAbort = () => {
        const reason = (signal.reason as { name?: unknown } | undefined)?.name === 'TimeoutError' ? 'deadline' : 'aborted';
        resolve(failure('timeout', reason, url.href, began));
      };
      if (signal.aborted) onAbort();
      else signal.addEventListener('abort', onAbort, { once: true });
    });
    let finished = false;
    try {
      const result = await Promise.race([work.then((r) => ((finished = true), r)), cutShort]);
      return result;
    } finally {
      if (onAbort) signal.removeEventListener('abort', onAbort);
      // a page whose visit finished is kept for the next; one cut short is closed
      this.track(this.cleanUp(leasing, ticket, release, finished));
    }
  }

  /** Close every page, the browser (killed if it does not exit in time) and the proxies. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      await this.pool.close();
      await Promise.allSettled([...this.cleanups]);
      await Promise.all([this.proxy.close(), this.background.close()]);
    })();
    return this.closing;
  }

  /** Resolves once every fetch answered so far has given its page back (blanked or closed). */
  async settled(): Promise<void> {
    while (this.cleanups.size > 0) await Promise.allSettled([...this.cleanups]);
  }

  /** Counters of the guard proxy pages use (tests, metrics). */
  guardCounts(): GuardProxyCounts {
    return this.proxy.counts();
  }

  /** Counters of the refuse-all proxy the browser's own traffic goes to. */
  backgroundCounts(): GuardProxyCounts {
    return this.background.counts();
  }

  /** Launches, watchdog kills and contexts so far. */
  poolStats(): PoolStats {
    return this.pool.stats;
  }

  /** The running browser's private directory on tmpfs, if any (tests; diagnostics). */
  browserDir(): string | null {
    return this.pool.dir;
  }

  /** The running browser's process id, if any (tests; operators' diagnostics). */
  browserPid(): number | null {
    return this.pool.pid;
  }

  private startProxies(): Promise<unknown> {
    this.proxiesStarted ??= Promise.all([this.proxy.start(), this.background.start()]).then(() => {
      this.pool.setProxies(this.proxy.url, this.background.url);
    });
    return this.proxiesStarted;
  }

  /**
   * Close the page — or, if it will not close, kill the browser — then give the slot back. A
   * page that never arrived (the browser stopped answering while opening it) counts as wedged
   * too, once the grace has passed.
   */
  private async cleanUp(
    leasing: Promise<PageLease>,
    ticket: { generation: number | null },
    release: () => void,
    reuse: boolean,
  ): Promise<void> {
    const grace = this.options.watchdogGraceMs ?? 3_000;
    try {
      const settled = leasing.catch(() => null);
      let lease = await within(settled, grace);
      if (lease === TIMED_OUT) {
        if (ticket.generation !== null) this.pool.kill(ticket.generation);
        // a kill makes the pending page fail; a launch under way ends by its own timeout
        lease = await within(settled, LAUNCH_TIMEOUT_MS + grace);
      }
      if (lease !== TIMED_OUT && lease !== null) await lease.release(reuse);
    } finally {
      release();
    }
  }

  private track(cleanup: Promise<void>): void {
    this.cleanups.add(cleanup);
    void cleanup.finally(() => this.cleanups.delete(cleanup));
  }
}
