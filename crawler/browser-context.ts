/**
 * One browser context (a Chromium off-the-record profile, in memory) set up under vigil's rules:
 *
 * - all traffic through the guard proxy (`proxy.server`; Playwright adds `<-loopback>`);
 * - every request routed: images, media, fonts and other media loads aborted
 *   (crawler/browser-request-filter.ts), and requests of pages vigil did not open (popups) too;
 * - WebSockets closed before they connect (`routeWebSocket`); the proxy refuses plain ones too;
 * - WebRTC and WebTransport removed from every frame before page script runs;
 * - no downloads, service workers blocked, CSP honoured; popups closed as they open.
 *
 * It counts the visits it served, so the pool can retire it after N, and keeps the pages of
 * finished visits (blanked) for the next ones: opening a tab costs Chromium several times what a
 * navigation does.
 */
import type { Browser, BrowserContext, Page, Route } from 'playwright-core';
import { isBlockedRequest } from './browser-request-filter.js';

export interface ContextSpec {
  /** the guard proxy, `http://127.0.0.1:PORT` */
  proxyUrl: string;
  userAgent: string;
}

/** Runs in every frame before its scripts: channels that could bypass the proxy are removed. */
const REMOVE_DIRECT_CHANNELS = `(() => {
  for (const name of ['RTCPeerConnection', 'webkitRTCPeerConnection', 'RTCDataChannel', 'RTCIceTransport', 'WebTransport']) {
    try { Object.defineProperty(globalThis, name, { value: undefined, writable: false, configurable: false }); } catch {}
  }
})();`;

const ignore = (): void => {};

export class GuardedContext {
  /** visits served by this context so far */
  served = 0;
  /** pages lent out now */
  open = 0;
  /** no new pages; closed when the last open page closes */
  retired = false;
  private readonly own = new WeakSet<Page>();
  private readonly creating = new Set<Promise<Page>>();
  /** blank pages of finished visits, ready for the next */
  private readonly idle: Page[] = [];
  private readonly broken = new WeakSet<Page>();

  private constructor(
    readonly context: BrowserContext,
    /** the browser launch this context belongs to */
    readonly generation: number,
  ) {}

  /** Create and set up a context in `browser`. */
  static async open(browser: Browser, generation: number, spec: ContextSpec): Promise<GuardedContext> {
    const context = await browser.newContext({
      proxy: { server: spec.proxyUrl },
      userAgent: spec.userAgent,
      javaScriptEnabled: true,
      acceptDownloads: false,
      serviceWorkers: 'block',
      bypassCSP: false,
      ignoreHTTPSErrors: false,
      permissions: [],
      reducedMotion: 'reduce',
      viewport: { width: 1280, height: 800 },
    });
    const guarded = new GuardedContext(context, generation);
    try {
      await context.addInitScript({ content: REMOVE_DIRECT_CHANNELS });
      await context.route('**/*', (route) => guarded.filter(route));
      await context.routeWebSocket(() => true, (ws) => ws.close({ code: 1008, reason: 'refused' }));
      context.on('page', (page) => void guarded.closeIfForeign(page));
    } catch (err) {
      await context.close().catch(ignore);
      throw err;
    }
    return guarded;
  }

  /** A blank page of vigil's own: a kept one if there is one, else a new one. */
  async takePage(): Promise<Page> {
    for (let kept = this.idle.pop(); kept !== undefined; kept = this.idle.pop()) {
      if (!kept.isClosed() && !this.broken.has(kept)) return kept;
    }
    const creating = this.context.newPage();
    this.creating.add(creating);
    try {
      const page = await creating;
      this.own.add(page);
      page.once('crash', () => this.broken.add(page));
      return page;
    } finally {
      this.creating.delete(creating);
    }
  }

  /**
   * Keep `page` for a later visit once it is blank again (about:blank: the visited document,
   * its timers and workers are gone). False when it could not be blanked; the caller closes it.
   */
  async keepPage(page: Page, timeoutMs: number): Promise<boolean> {
    if (this.retired || page.isClosed() || this.broken.has(page)) return false;
    try {
      await page.goto('about:blank', { timeout: timeoutMs });
    } catch {
      return false;
    }
    if (this.retired || page.isClosed() || this.broken.has(page)) return false;
    this.idle.push(page);
    return true;
  }

  async close(): Promise<void> {
    await this.context.close();
  }

  /** A page is vigil's once its `newPage()` has returned it; wait for those under way. */
  private async isOwn(page: Page): Promise<boolean> {
    if (this.own.has(page)) return true;
    await Promise.allSettled([...this.creating]);
    return this.own.has(page);
  }

  private async closeIfForeign(page: Page): Promise<void> {
    if (!(await this.isOwn(page))) await page.close({ runBeforeUnload: false }).catch(ignore);
  }

  private async filter(route: Route): Promise<void> {
    const request = route.request();
    let blocked = isBlockedRequest({ url: request.url(), headers: request.headers(), resourceType: request.resourceType() });
    if (!blocked) {
      try {
        blocked = !(await this.isOwn(request.frame().page()));
      } catch {
        blocked = true; // no frame (a worker's request outside any page of ours)
      }
    }
    await (blocked ? route.abort('blockedbyclient') : route.continue()).catch(ignore);
  }
}
