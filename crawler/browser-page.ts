/**
 * One visit: navigate a blank page, let its scripts build the page until the network is quiet,
 * read the visible text, and report it in the HTTP fetcher's {@link FetchResult} shape. Never a
 * screenshot, never the page's HTML: only `innerText` (lower-cased, capped) for classification.
 */
import type { Page, Request, Response } from 'playwright-core';
import type { FetchFailure, FetchResult } from '../core/fetcher.js';
import { mapBrowserError } from './browser-errors.js';
import { authorityOf, guardVerdictOf, type ProxyVerdict } from './guard-proxy-context.js';

export interface VisitOptions {
  /** `performance.now()` when the fetch began (durations, and which proxy verdicts count) */
  started: number;
  /** `performance.now()` by which the visit must be over */
  deadlineAt: number;
  maxRedirects: number;
  /** the network counts as quiet after this long without a request under way, ms */
  settleQuietMs: number;
  /** longest wait for quiet after the document is parsed, ms */
  settleMaxMs: number;
  /** characters of visible text kept */
  textCap: number;
  /** what the guard proxy recorded for a destination since `since` */
  verdictFor(authority: string, since: number): ProxyVerdict | null;
}

/** Requests under way on a page, and a hook called when that changes. */
class NetworkTracker {
  readonly inflight = new Set<Request>();
  onChange: (() => void) | null = null;
  mainResponse: Response | null = null;
  failedNavigation: Request | null = null;
}

function isMainFrameNavigation(page: Page, request: Request): boolean {
  try {
    return request.isNavigationRequest() && request.frame() === page.mainFrame();
  } catch {
    return false;
  }
}

/** Follow the page's requests until `dispose()` (pages are kept for later visits). */
function track(page: Page): { t: NetworkTracker; dispose: () => void } {
  const t = new NetworkTracker();
  const onRequest = (request: Request): void => {
    t.inflight.add(request);
    t.onChange?.();
  };
  const onDone = (request: Request): void => {
    t.inflight.delete(request);
    t.onChange?.();
  };
  const onFailed = (request: Request): void => {
    if (isMainFrameNavigation(page, request)) t.failedNavigation = request;
    onDone(request);
  };
  const onResponse = (response: Response): void => {
    if (isMainFrameNavigation(page, response.request())) t.mainResponse = response;
  };
  page.on('request', onRequest);
  page.on('requestfinished', onDone);
  page.on('requestfailed', onFailed);
  page.on('response', onResponse);
  const dispose = (): void => {
    t.onChange = null;
    page.off('request', onRequest);
    page.off('requestfinished', onDone);
    page.off('requestfailed', onFailed);
    page.off('response', onResponse);
  };
  return { t, dispose };
}

/** Resolve once nothing has been under way for `quietMs`, or after `maxMs` in any case. */
function settle(t: NetworkTracker, quietMs: number, maxMs: number): Promise<void> {
  return new Promise((resolve) => {
    let quiet: NodeJS.Timeout | undefined;
    const finish = (): void => {
      clearTimeout(quiet);
      clearTimeout(cap);
      t.onChange = null;
      resolve();
    };
    const cap = setTimeout(finish, Math.max(0, maxMs));
    t.onChange = () => {
      clearTimeout(quiet);
      if (t.inflight.size === 0) quiet = setTimeout(finish, quietMs);
    };
    t.onChange();
  });
}

/** Runs in the page (plain JavaScript: no DOM types in this project). */
const READ_TEXT = `(max) => {
  const title = document.title ? document.title + '\\n' : '';
  return (title + (document.body ? document.body.innerText : '')).slice(0, max);
}`;

/** The visible text: title and `body.innerText`, cut in the page to `cap` characters. */
async function visibleText(page: Page, cap: number): Promise<string | null> {
  try {
    const text = await page.evaluate<unknown>(`(${READ_TEXT})(${Math.floor(cap)})`);
    if (typeof text !== 'string') return null;
    return text.toLowerCase();
  } catch {
    return null; // navigated meanwhile, or the page is gone
  }
}

function redirectsOf(request: Request): number {
  let n = 0;
  for (let r = request.redirectedFrom(); r !== null; r = r.redirectedFrom()) n++;
  return n;
}

function failure(kind: FetchFailure['error'], detail: string, finalUrl: string, redirects: number, started: number): FetchFailure {
  return { kind: 'error', error: kind, detail, finalUrl, redirects, durationMs: Math.round(performance.now() - started) };
}

/** Navigate `page` to `url` and report. Throws only when the page or browser goes away. */
export async function visitPage(page: Page, url: string, o: VisitOptions): Promise<FetchResult> {
  const { t, dispose } = track(page);
  try {
    return await visit(page, t, url, o);
  } finally {
    dispose();
  }
}

async function visit(page: Page, t: NetworkTracker, url: string, o: VisitOptions): Promise<FetchResult> {
  let gotoError: unknown = null;
  try {
    const response = await page.goto(url, { waitUntil: 'domcontentloaded', timeout: Math.max(1, o.deadlineAt - performance.now()) });
    if (response !== null) t.mainResponse = response;
  } catch (err) {
    gotoError = err;
  }

  const main = t.mainResponse;
  const mainHeaders = main?.headers() ?? {};
  const guard = main === null ? null : guardVerdictOf(main.url(), mainHeaders);
  if (main !== null && guard !== null) {
    // the proxy's own answer: the guard refused, or the upstream failed
    return failure(guard.kind, guard.detail, main.url(), redirectsOf(main.request()), o.started);
  }
  if (gotoError !== null && mapBrowserError(gotoError).kind === 'timeout') {
    // the document never finished parsing within the deadline (a hanging body, a busy script)
    return failure('timeout', 'deadline', main?.url() ?? url, main !== null ? redirectsOf(main.request()) : 0, o.started);
  }
  if (gotoError !== null && (main === null || (main.status() >= 300 && main.status() < 400))) {
    const failed = t.failedNavigation;
    const failedUrl = failed?.url() ?? main?.url() ?? url;
    const redirects = failed !== null ? redirectsOf(failed) : main !== null ? redirectsOf(main.request()) + 1 : 0;
    if (redirects > o.maxRedirects) return failure('too_many_redirects', String(redirects), failedUrl, redirects, o.started);
    const verdict = o.verdictFor(authorityOf(failedUrl), o.started);
    if (verdict !== null) return failure(verdict.kind, verdict.detail, failedUrl, redirects, o.started);
    const mapped = mapBrowserError(failed?.failure()?.errorText ?? gotoError);
    const fromGoto = mapBrowserError(gotoError);
    const best = mapped.kind === 'other' && fromGoto.kind !== 'other' ? fromGoto : mapped;
    return failure(best.kind, best.detail, failedUrl, redirects, o.started);
  }
  if (main === null) return failure('other', 'no_response', url, 0, o.started);

  const redirects = redirectsOf(main.request());
  if (redirects > o.maxRedirects) return failure('too_many_redirects', String(redirects), main.url(), redirects, o.started);

  let textSample: string | null = null;
  if (gotoError === null) {
    t.failedNavigation = null;
    const early = await visibleText(page, o.textCap);
    const budget = Math.min(o.settleMaxMs, o.deadlineAt - performance.now() - 250);
    await settle(t, o.settleQuietMs, budget);
    // A script navigation away (or a refused one, which leaves an error page) does not replace
    // the document that was asked for: its text is what was read before it left. Same-document
    // navigations (history.pushState) make no request and change nothing here.
    const left = t.mainResponse !== main || t.failedNavigation !== null;
    textSample = left ? early : (await visibleText(page, o.textCap)) ?? early;
  }
  // else: the response was not rendered (a download, an empty error response): status and headers only

  const length = Number(mainHeaders['content-length']);
  return {
    kind: 'response',
    status: main.status(),
    headers: mainHeaders,
    finalUrl: main.url(),
    redirects,
    remoteAddress: null,
    bodyBytes: Number.isFinite(length) && length >= 0 ? length : textSample?.length ?? 0,
    truncated: false,
    textSample,
    media: {
      contentType: (mainHeaders['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() || null,
      contentLength: Number.isFinite(length) && length >= 0 ? length : null,
      etag: mainHeaders.etag ?? null,
      lastModified: mainHeaders['last-modified'] ?? null,
    },
    durationMs: Math.round(performance.now() - o.started),
  };
}
