/**
 * The browser and its contexts, shared by all browser fetches:
 *
 * - at most `pages` pages open at once (`crawler.browser.pages`): a slot is taken before a page
 *   is opened and given back only once the page is closed;
 * - one context at a time takes new pages; after `pagesPerContext` it is retired and closed as
 *   soon as its last page closes, so no state outlives a few dozen visits;
 * - the browser is launched on first use and again after it died or was killed;
 * - the watchdog (`kill`) SIGKILLs a wedged browser's whole process tree; the next page gets a
 *   fresh browser.
 */
import { ConcurrencyLimit } from './concurrency-limit.js';
import { GuardedContext } from './browser-context.js';
import { launchChromium, type LaunchedBrowser } from './browser-launch.js';
import { killMentioning, killTree, processesMentioning, processTree } from './browser-process.js';
import type { Page } from 'playwright-core';

export interface BrowserPoolOptions {
  executablePath: string;
  userAgent: string;
  /** pages open at once */
  pages: number;
  /** pages a context serves before it is retired */
  pagesPerContext: number;
  /** how long a close may take before the browser counts as wedged, ms */
  graceMs: number;
  launchTimeoutMs?: number;
}

/** An open page and how to give it back. */
export interface PageLease {
  page: Page;
  generation: number;
  /**
   * Give the page back within `graceMs`: blanked and kept for another visit (`reuse`, for a
   * visit that finished), else closed. When it cannot be closed in time, the browser is killed.
   * @returns false when the browser had to be killed
   */
  release(reuse: boolean): Promise<boolean>;
}

/** What the pool has done, for tests and metrics. */
export interface PoolStats {
  launches: number;
  kills: number;
  contexts: number;
}

const ignore = (): void => {};

function within<T>(work: Promise<T>, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    work.then(
      () => resolve(true),
      () => resolve(true), // it failed, but it did not hang
    ).finally(() => clearTimeout(timer));
  });
}

/** Wait (polling /proc, bounded) until no process mentions `dir`: SIGKILL is not instant. */
async function gone(dir: string, maxMs: number): Promise<void> {
  const until = performance.now() + maxMs;
  while (processesMentioning(dir).length > 0 && performance.now() < until) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

export class BrowserPool {
  private readonly slots: ConcurrencyLimit;
  private current: LaunchedBrowser | null = null;
  private launching: Promise<LaunchedBrowser> | null = null;
  private context: GuardedContext | null = null;
  private opening: Promise<GuardedContext> | null = null;
  private closed = false;
  private proxies: { page: string; background: string } | null = null;
  private readonly tally: PoolStats = { launches: 0, kills: 0, contexts: 0 };

  constructor(private readonly options: BrowserPoolOptions) {
    this.slots = new ConcurrencyLimit(options.pages);
  }

  /**
   * Wait for a page slot. Returns the function that gives it back.
   * @throws the signal's reason when it aborts first
   */
  slot(signal?: AbortSignal): Promise<() => void> {
    return this.slots.acquire(signal);
  }

  /**
   * Where pages (the guard proxy) and the browser's own traffic (a refuse-all proxy) are sent.
   * Set before the first page; a change applies to browsers launched and contexts opened later.
   */
  setProxies(pageProxyUrl: string, backgroundProxyUrl: string): void {
    this.proxies = { page: pageProxyUrl, background: backgroundProxyUrl };
  }

  /**
   * Open a page (launching the browser, or a new context, when needed). Call with a slot held.
   * @param ticket told the browser generation as soon as there is one, so a caller whose page
   *   never arrives (a wedged browser) can still `kill` the right browser
   */
  async openPage(ticket?: { generation: number | null }): Promise<PageLease> {
    if (this.closed) throw new Error('browser pool closed');
    if (this.proxies === null) throw new Error('browser pool: proxies not set');
    const launched = await this.browser();
    if (ticket) ticket.generation = launched.generation;
    const context = await this.contextOf(launched);
    let page: Page;
    try {
      page = await context.takePage();
    } catch (err) {
      this.pageClosed(context);
      throw err;
    }
    return {
      page,
      generation: launched.generation,
      release: async (reuse) => {
        if (reuse && this.current === launched && (await context.keepPage(page, this.options.graceMs))) {
          this.pageClosed(context);
          return true;
        }
        const ok = await within(page.close({ runBeforeUnload: false }), this.options.graceMs);
        this.pageClosed(context);
        if (!ok) this.kill(launched.generation);
        return ok;
      },
    };
  }

  /** The watchdog: SIGKILL the browser of `generation` (if still current) and forget it. */
  kill(generation: number): void {
    const launched = this.current;
    if (launched === null || launched.generation !== generation) return;
    this.forget(launched);
    this.tally.kills++;
    if (launched.pid !== null) killTree(launched.pid);
    killMentioning(launched.dir);
    void launched.browser.close().catch(ignore).finally(() => launched.dispose());
  }

  /** The current browser's private directory (tmpfs), if one is running. */
  get dir(): string | null {
    return this.current?.dir ?? null;
  }

  /** The current browser's process id, if one is running. */
  get pid(): number | null {
    return this.current?.pid ?? null;
  }

  get stats(): PoolStats {
    return { ...this.tally };
  }

  /** Close the browser; whatever does not exit within the grace is killed. */
  async close(): Promise<void> {
    this.closed = true;
    const launched = this.current ?? (await this.launching?.catch(() => null)) ?? null;
    if (launched === null) return;
    this.forget(launched);
    await within(launched.browser.close(), this.options.graceMs);
    if (launched.pid !== null && processTree(launched.pid).length > 0) killTree(launched.pid);
    if (processesMentioning(launched.dir).length > 0) killMentioning(launched.dir);
    await gone(launched.dir, this.options.graceMs);
    await launched.dispose();
  }

  private forget(launched: LaunchedBrowser): void {
    if (this.current === launched) this.current = null;
    if (this.context?.generation === launched.generation) this.context = null;
  }

  private async browser(): Promise<LaunchedBrowser> {
    const proxies = this.proxies as { page: string; background: string };
    if (this.current !== null && this.current.browser.isConnected()) return this.current;
    if (this.launching === null) {
      const generation = this.tally.launches + 1;
      this.launching = launchChromium({
        executablePath: this.options.executablePath,
        backgroundProxyUrl: proxies.background,
        launchTimeoutMs: this.options.launchTimeoutMs,
      }, generation).then((launched) => {
        this.tally.launches = generation;
        this.current = launched;
        launched.browser.on('disconnected', () => {
          // crashed, killed or closed: nothing of it may linger (its crash handler runs apart)
          this.forget(launched);
          killMentioning(launched.dir);
          void launched.dispose();
        });
        if (this.closed) void this.close();
        return launched;
      }).finally(() => {
        this.launching = null;
      });
    }
    return this.launching;
  }

  /** A context that may take one more page; counts the page in. */
  private async contextOf(launched: LaunchedBrowser): Promise<GuardedContext> {
    for (;;) {
      const current = this.context;
      if (current !== null && current.generation === launched.generation && !current.retired
        && current.served < this.options.pagesPerContext) {
        current.served++;
        current.open++;
        return current;
      }
      if (this.opening === null) {
        if (current !== null) this.retire(current);
        this.context = null;
        this.opening = GuardedContext.open(launched.browser, launched.generation, {
          proxyUrl: (this.proxies as { page: string }).page,
          userAgent: this.options.userAgent,
        }).then((opened) => {
          this.tally.contexts++;
          this.context = opened;
          return opened;
        }).finally(() => {
          this.opening = null;
        });
      }
      await this.opening;
    }
  }

  private retire(context: GuardedContext): void {
    context.retired = true;
    if (context.open === 0) void within(context.close(), this.options.graceMs).catch(ignore);
  }

  private pageClosed(context: GuardedContext): void {
    context.open--;
    if (context.retired && context.open === 0) void within(context.close(), this.options.graceMs).catch(ignore);
  }
}
