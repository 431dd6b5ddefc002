/**
 * The check job: load the report, fetch its URL once, let core decide the outcome and the
 * transition, persist. Nothing else: the rules are in core/check-transition.ts.
 *
 * Idempotent (BullMQ is at-least-once):
 * - the check id is the job's deterministic id (report + due time), and the store records a check
 *   id once: a job run twice — retried, or re-run after its worker died — changes state once;
 * - a job whose due time is no longer the report's (`nextCheckAt` moved on: its check was already
 *   recorded under another run, an analyst asked for a recheck, or the report was closed) is
 *   dropped before fetching;
 * - the transition is applied compare-and-set on the report's `stateVersion`: when another write
 *   (a concurrent check, a verdict) got in between, the report is loaded again and the same fetch
 *   result is applied to the new state, so no streak count or status is lost.
 *
 * Content identity: the first live check records a baseline (header metadata, the page's media
 * references, bounded, and — under `mediaPolicy: hash` — digests; never content) in the same
 * atomic write as the check itself, so it exists exactly when that check was applied; later
 * checks hand it to classifyOutcome with the item's hashes and the hash list. A page the HTTP fetch
 * shows to be built by script (core/browser-choice.ts) is fetched again in the browser, and that
 * result is the one classified (reason prefixed `browser_`).
 *
 * Vantages (`crawler.vantages`): the direct check comes first. When it is `gone` or
 * `inconclusive` and vantages are configured, the URL is fetched again through each vantage (HTTP
 * only, a few at a time) and classified the same way. A `live` from any vantage wins — geo-blocking
 * must not read as removal — and is the recorded observation, with its vantage (`checks.vantage`;
 * the first live one in configuration order). Otherwise the direct observation stands
 * (`vantage: null`): a vantage can only add evidence that the content is still up, never speed up
 * a removal.
 *
 * Database round trips: one read (the report with its baseline and last trace) and one write (the
 * check, its effect on the report and a first baseline, one statement); a compare-and-set
 * conflict adds one of each per retry.
 */
import type { Logger } from 'pino';
import type { Clock, RandomSource } from '../core/clock.js';
import { needsBrowser } from '../core/browser-choice.js';
import { classifyOutcome, type ClassifyRules, type IdentityContext } from '../core/classify-outcome.js';
import type { HashLookup } from '../core/content-digests.js';
import { transitionAfterCheck, type CheckTransition, type LifecyclePolicy } from '../core/check-transition.js';
import type { ExpectedHashes, Fetcher, FetchRequest, FetchResult, MediaPolicy } from '../core/fetcher.js';
import { isTerminal } from '../core/report-lifecycle.js';
import type { CheckOutcome, ReportStatus } from '../core/report-status.js';
import { MAX_STORED_MEDIA_REFS, type ContentBaseline, type ReportForCheck, type Store } from '../core/store.js';
import { enqueueTraceAfterCheck, type TraceAfterCheckDeps } from './trace-job.js';

export interface CheckJobDeps {
  store: Pick<Store, 'getReportForCheck' | 'recordCheck'>;
  fetcher: Fetcher;
  /** Chromium, for pages built by script; null/undefined = HTTP only */
  browser?: Fetcher | null;
  /** `crawler.mediaPolicy`. @default 'metadata' */
  mediaPolicy?: MediaPolicy;
  /** the hash list (`hashList.files`); the HTTP fetcher looks digests up in it too */
  hashList?: HashLookup | null;
  clock: Clock;
  rules: ClassifyRules;
  policy: LifecyclePolicy;
  /** jitter of the next due time */
  random: RandomSource;
  log: Logger;
  /** ids of `crawler.vantages`, asked when the direct check is not live; empty/undefined: direct only */
  vantages?: readonly string[];
  /** queues a trace after a live check (queue/trace-job.ts), given the last trace read with the report; undefined: no tracing */
  trace?: TraceAfterCheckDeps;
}

export interface CheckJob {
  /** the job's deterministic id: the check's id */
  checkId: string;
  reportId: string;
  /** the due time the job answers */
  dueAt: Date;
}

export interface CheckJobResult {
  outcome: CheckOutcome | null;
  reason: string;
  applied: boolean;
  status: ReportStatus | null;
  events: CheckTransition['events'];
}

/** Compare-and-set attempts before giving up (the job is then retried by BullMQ). */
const MAX_APPLY_ATTEMPTS = 5;
/** vantage fetches of one check running at once */
const VANTAGE_PARALLEL = 4;

export async function runCheckJob(job: CheckJob, deps: CheckJobDeps, signal?: AbortSignal): Promise<CheckJobResult> {
  const log = deps.log.child({ reportId: job.reportId, checkId: job.checkId });
  const dropped = (reason: string, status: ReportStatus | null = null): CheckJobResult => ({ outcome: null, reason, applied: false, status, events: [] });
  let report = await deps.store.getReportForCheck(job.reportId);
  if (!report) {
    log.warn('check job for a report that does not exist; dropped');
    return dropped('report_missing');
  }
  if (isTerminal(report.status)) {
    log.info({ status: report.status }, 'report is no longer monitored; check dropped');
    return dropped('report_closed', report.status);
  }
  if (report.nextCheckAt === null || report.nextCheckAt.getTime() !== job.dueAt.getTime()) {
    log.info({ dueAt: job.dueAt, nextCheckAt: report.nextCheckAt }, 'the report is no longer due at this time (already checked, or rescheduled); check dropped');
    return dropped('stale_due', report.status);
  }

  const policy = deps.mediaPolicy ?? 'metadata';
  const expected = expectedHashesOf(report);
  const baseline = report.baseline;
  const startedAt = deps.clock.now();
  const request: FetchRequest = { url: report.url, signal, mediaPolicy: policy, ...(expected ? { expect: expected } : {}) };
  const httpResult = await deps.fetcher.fetch(request);
  // Stopped by vigil itself (shutdown deadline, job handed back): the fetch says nothing about
  // the URL, so nothing is recorded; the job runs again elsewhere under the same check id.
  throwIfAborted(signal);
  const { result, fetchedBy } = await withBrowser(httpResult, report.url, deps, log, signal);
  const identity = identityContext(report.url, baseline, expected ?? baseline?.digests ?? null, policy, deps.hashList ?? null);
  const direct = classifyOutcome(result, deps.rules, identity);
  const fromVantage = direct.outcome === 'gone' || direct.outcome === 'inconclusive'
    ? await liveFromVantage(request, deps, identity, log, signal)
    : null;
  // the recorded observation: a vantage's live, or the direct one
  const observed = fromVantage?.result ?? result;
  const outcome = fromVantage?.outcome ?? direct.outcome;
  const reason = fromVantage?.reason ?? (fetchedBy === 'browser' ? `browser_${direct.reason}` : direct.reason);
  const vantage = fromVantage?.vantage ?? null;
  // a digest found in the hash list is a verdict (CONTRACT.md §4), merged by the rules' precedence
  const hashed = fromVantage?.result ?? httpResult;
  const hashListVerdict = hashed.kind === 'response' && hashed.hashListMatch ? { verdict: 'illegal' as const, source: 'hash_list' as const } : null;
  // the first live sighting; the store keeps it only if the check applies and none is recorded yet
  const firstBaseline = outcome === 'live' && baseline === null ? baselineOf(observed, policy, startedAt) : undefined;

  for (let attempt = 1; ; attempt++) {
    const now = deps.clock.now();
    const transition = transitionAfterCheck(lifecycleOf(report), { outcome, at: startedAt, verdict: hashListVerdict }, now, deps.policy, deps.random);
    const recorded = await deps.store.recordCheck({
      id: job.checkId,
      reportId: report.id,
      outcome,
      reason,
      httpStatus: observed.kind === 'response' ? observed.status : null,
      vantage,
      startedAt,
      durationMs: observed.durationMs,
      nextStatus: transition.nextStatus,
      nextCheckAt: transition.nextCheckAt,
      expectVersion: report.stateVersion,
      goneStreak: transition.goneStreak,
      removedAt: transition.removedAt,
      expiresAt: transition.expiresAt,
      verdict: transition.verdict,
      reopened: transition.reopened,
      ...(firstBaseline ? { baseline: firstBaseline } : {}),
    });
    if (!recorded.conflict) {
      // Outcome and reason only: never the body, the text sample or response headers.
      log.info({
        outcome, reason, from: report.status, status: transition.nextStatus, applied: recorded.applied, events: transition.events,
        goneStreak: transition.goneStreak.count, nextCheckAt: transition.nextCheckAt, durationMs: observed.durationMs, vantage,
      }, recorded.applied ? 'check done' : 'check already recorded; not applied again');
      // a live check may call for a trace (first, new address, or an old one); also when this run
      // only repeats a recorded check, so a trace lost with a crashed run is asked for again. The
      // last trace is the one read with the report, before the fetch (no read of its own): a trace
      // written while this check ran counts from the next check on.
      if (deps.trace) {
        const remoteAddress = observed.kind === 'response' ? observed.remoteAddress : null;
        await enqueueTraceAfterCheck({ reportId: report.id, checkId: job.checkId, outcome, remoteAddress, lastTrace: report.lastTrace }, deps.trace, deps.clock.now());
      }
      return { outcome, reason, applied: recorded.applied, status: transition.nextStatus, events: recorded.applied ? transition.events : [] };
    }
    if (attempt >= MAX_APPLY_ATTEMPTS) throw new Error(`report ${report.id} kept changing while its check was applied (${attempt} attempts)`);
    log.debug({ attempt }, 'report changed while the check ran; applying to the new state');
    const fresh = await deps.store.getReportForCheck(job.reportId);
    if (!fresh) return dropped('report_missing');
    report = fresh;
  }
}

function lifecycleOf(report: ReportForCheck) {
  return {
    status: report.status, verdict: report.verdict, verdictSource: report.verdictSource, createdAt: report.createdAt,
    expiresAt: report.expiresAt, removedAt: report.removedAt, goneStreak: report.goneStreak,
  };
}

function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw signal.reason instanceof Error ? signal.reason : new Error('check aborted');
}

/** The item's hashes (submission), if any. */
function expectedHashesOf(report: ReportForCheck): ExpectedHashes | null {
  const expected: ExpectedHashes = {};
  if (report.sha256) expected.sha256 = report.sha256;
  if (report.sha1) expected.sha1 = report.sha1;
  if (report.md5) expected.md5 = report.md5;
  return Object.keys(expected).length > 0 ? expected : null;
}

/**
 * What identity knows of the object. Without a baseline and without hashes there is nothing to
 * compare with (the first live check records the baseline): the status decides alone.
 */
function identityContext(
  url: string, baseline: ContentBaseline | null, expected: ExpectedHashes | null, policy: MediaPolicy, hashList: HashLookup | null,
): IdentityContext | undefined {
  if (baseline === null && expected === null) return undefined;
  return { policy, url, baseline: baseline?.media ?? null, expected, hashList, knownMediaRefs: baseline?.mediaRefs ?? [] };
}

/**
 * The HTTP result, or — for a page built by script — the browser's. A browser that could not
 * load the page for a reason of its own (`other`: launch, proxy, a media URL) says nothing about
 * the site: the HTTP result is kept.
 */
async function withBrowser(
  httpResult: FetchResult, url: string, deps: CheckJobDeps, log: CheckJobDeps['log'], signal: AbortSignal | undefined,
): Promise<{ result: FetchResult; fetchedBy: 'http' | 'browser' }> {
  if (!deps.browser || httpResult.kind !== 'response' || !needsBrowser(httpResult)) return { result: httpResult, fetchedBy: 'http' };
  let browserResult: FetchResult;
  try {
    browserResult = await deps.browser.fetch({ url, signal });
  } catch (err) {
    throwIfAborted(signal);
    log.warn({ err }, 'browser fetch failed; the HTTP result decides');
    return { result: httpResult, fetchedBy: 'http' };
  }
  throwIfAborted(signal);
  if (browserResult.kind === 'error' && browserResult.error === 'other') {
    log.warn({ detail: browserResult.detail }, 'browser could not load the page; the HTTP result decides');
    return { result: httpResult, fetchedBy: 'http' };
  }
  // The browser reaches the site through the guard proxy and does not report the address; the
  // HTTP fetch of the same final URL does (the trace of where it is hosted needs it).
  if (browserResult.kind === 'response' && browserResult.remoteAddress === null && browserResult.finalUrl === httpResult.finalUrl) {
    return { result: { ...browserResult, remoteAddress: httpResult.remoteAddress }, fetchedBy: 'browser' };
  }
  return { result: browserResult, fetchedBy: 'browser' };
}

/**
 * Fetch through every vantage (a few at a time) and return the first `live` one in configuration
 * order, or null. A vantage that fails for a reason of its own (proxy down: `other`) or throws is
 * only logged: it says nothing about the site.
 */
async function liveFromVantage(
  request: FetchRequest, deps: CheckJobDeps, identity: IdentityContext | undefined, log: CheckJobDeps['log'], signal: AbortSignal | undefined,
): Promise<{ result: FetchResult; outcome: CheckOutcome; reason: string; vantage: string } | null> {
  const ids = deps.vantages ?? [];
  if (ids.length === 0) return null;
  const found: ({ result: FetchResult; outcome: CheckOutcome; reason: string; vantage: string } | null)[] = ids.map(() => null);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < ids.length && !signal?.aborted) {
      const index = next++;
      const vantage = ids[index] as string;
      try {
        const result = await deps.fetcher.fetch({ ...request, vantage });
        const classified = classifyOutcome(result, deps.rules, identity);
        log.debug({ vantage, outcome: classified.outcome, reason: classified.reason }, 'vantage check');
        if (classified.outcome === 'live') found[index] = { result, outcome: classified.outcome, reason: classified.reason, vantage };
      } catch (err) {
        log.warn({ err, vantage }, 'vantage fetch failed');
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(VANTAGE_PARALLEL, ids.length) }, worker));
  throwIfAborted(signal);
  return found.find((f) => f !== null) ?? null;
}

/** The first live sighting: what identity compares later checks with. Never content. */
function baselineOf(result: FetchResult, policy: MediaPolicy, seenAt: Date): ContentBaseline | undefined {
  if (result.kind !== 'response') return undefined;
  return {
    media: result.media ?? null,
    mediaRefs: result.mediaRefs ? result.mediaRefs.slice(0, MAX_STORED_MEDIA_REFS) : null,
    digests: policy === 'hash' && !result.truncated ? result.digests ?? null : null,
    seenAt,
  };
}
