/**
 * The check job's content identity and browser fallback on the real store (PostgreSQL), with
 * scripted fetchers and fake time: what the job asks the fetcher for (`mediaPolicy`, `expect`),
 * the baseline it records once, the identity it hands to classifyOutcome on later checks, and
 * when the browser's result is the one classified.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LifecyclePolicy } from '../../core/check-transition.js';
import type { Fetcher, FetchRequest, FetchResponse, FetchResult } from '../../core/fetcher.js';
import { BUILTIN_CHALLENGE_PATTERNS, BUILTIN_TAKEDOWN_PATTERNS } from '../../core/takedown-patterns.js';
import { runCheckJob, type CheckJobDeps } from '../../queue/check-job.js';
import { jobIdFor } from '../../queue/job-payloads.js';
import { FakeClock, createTestStore, submitReports, type TestStore } from '../lifecycle/support.js';
import { captureLog } from './support.js';

const M = 60_000;
const H = 60 * M;
const T0 = Date.parse('2030-06-01T00:00:00.000Z');
const policy: LifecyclePolicy = {
  recheck: { live: H, notified: 30 * M, removed: 24 * H, unreachable: 6 * H, pendingRetry: 15 * M },
  removal: { confirmations: 3, windowMs: H },
  watchAfterRemovalMs: 30 * 24 * H,
  expireAfterMs: 90 * 24 * H,
};

let db: TestStore;
beforeAll(async () => { db = await createTestStore(); });
afterAll(async () => { await db?.close(); });

let n = 0;
const url = (path = '/x') => `https://host-${++n}.identity-job.test${path}`;

function response(over: Partial<FetchResponse> = {}): FetchResponse {
  return {
    kind: 'response', status: 200, headers: { 'content-type': 'image/png' }, finalUrl: 'https://x.test/', redirects: 0,
    remoteAddress: null, bodyBytes: 10, truncated: false, textSample: null,
    media: { contentType: 'image/png', contentLength: 10, etag: '"a"', lastModified: null }, durationMs: 1, ...over,
  };
}

/** Answers each fetch with the next scripted result (the last one repeats) and records the requests. */
class Scripted implements Fetcher {
  readonly requests: FetchRequest[] = [];
  constructor(private readonly results: (FetchResult | Error)[]) {}
  async fetch(request: FetchRequest): Promise<FetchResult> {
    this.requests.push(request);
    const next = this.results.length > 1 ? this.results.shift()! : this.results[0]!;
    if (next instanceof Error) throw next;
    return next;
  }
  async close(): Promise<void> {}
}

function deps(over: Partial<CheckJobDeps>): CheckJobDeps & { clock: FakeClock } {
  return {
    store: db.store, fetcher: new Scripted([response()]), clock: new FakeClock(T0),
    rules: { takedownPatterns: BUILTIN_TAKEDOWN_PATTERNS, challengePatterns: BUILTIN_CHALLENGE_PATTERNS },
    policy, random: () => 0.5, log: captureLog().log, ...over,
  } as CheckJobDeps & { clock: FakeClock };
}

async function dueJob(reportId: string) {
  const report = await db.store.getReportForCheck(reportId);
  const dueAt = report!.nextCheckAt!;
  return { reportId, dueAt, checkId: jobIdFor('check', { reportId, dueAt: dueAt.toISOString(), reason: 'scheduled' }) as string };
}

/** the baseline as the check job reads it: with the report */
const baselineOf = async (reportId: string) => (await db.store.getReportForCheck(reportId))?.baseline ?? null;

const scriptShell = (text: string) => `<html><body><div id="root"></div><script src="/app.js"></script>${text}</body></html>`.toLowerCase();
const shellResponse = response({
  headers: { 'content-type': 'text/html' }, media: { contentType: 'text/html', contentLength: 80, etag: null, lastModified: null },
  textSample: scriptShell(''), mediaRefs: [],
});

describe('check job: content identity', () => {
  it('asks for the policy and the item hashes; records the baseline once, at the first live check', async () => {
    const [id] = await submitReports(db.store, [url('/a.png')], new Date(T0));
    const sha256 = 'ab'.repeat(32);
    await db.store.sql.query('UPDATE reports SET sha256 = $2 WHERE id = $1', [id, sha256]);
    const digests = { sha256, sha1: 'cd'.repeat(20), md5: 'ef'.repeat(16) };
    const fetcher = new Scripted([response({ digests })]);
    const d = deps({ fetcher, mediaPolicy: 'hash' });
    expect(await runCheckJob(await dueJob(id!), d)).toMatchObject({ outcome: 'live', reason: 'hash_match' });
    expect(fetcher.requests[0]).toMatchObject({ mediaPolicy: 'hash', expect: { sha256 } });
    const baseline = await baselineOf(id!);
    expect(baseline).toMatchObject({ media: { contentType: 'image/png', contentLength: 10, etag: '"a"' }, digests, mediaRefs: null });

    // a later live check with other metadata does not replace what was first seen
    d.clock.advance(H);
    const changed = new Scripted([response({ digests, media: { contentType: 'image/png', contentLength: 99, etag: '"b"', lastModified: null } })]);
    await runCheckJob(await dueJob(id!), { ...d, fetcher: changed });
    expect((await baselineOf(id!))?.media).toMatchObject({ contentLength: 10, etag: '"a"' });
  });

  it('later checks are decided against the baseline: changed metadata is inconclusive, a page instead of media is gone', async () => {
    const [id] = await submitReports(db.store, [url('/b.png')], new Date(T0));
    const d = deps({});
    expect(await runCheckJob(await dueJob(id!), d)).toMatchObject({ outcome: 'live', reason: 'http_200' });
    d.clock.advance(H);
    const other = response({ media: { contentType: 'image/png', contentLength: 11, etag: '"z"', lastModified: null } });
    expect(await runCheckJob(await dueJob(id!), { ...d, fetcher: new Scripted([other]) })).toMatchObject({ outcome: 'inconclusive', reason: 'metadata_changed' });
    d.clock.advance(H);
    const page = response({ headers: { 'content-type': 'text/html' }, media: { contentType: 'text/html', contentLength: 5, etag: null, lastModified: null }, textSample: '<p>hello</p>', mediaRefs: [] });
    expect(await runCheckJob(await dueJob(id!), { ...d, fetcher: new Scripted([page]) })).toMatchObject({ outcome: 'gone', reason: 'media_replaced_by_page' });
  });

  it('stores at most 100 of a page\'s media references', async () => {
    const [id] = await submitReports(db.store, [url('/page')], new Date(T0));
    const refs = Array.from({ length: 250 }, (_, i) => `https://cdn.identity-job.test/img/${i}.jpg`);
    const page = response({ headers: { 'content-type': 'text/html' }, media: { contentType: 'text/html', contentLength: null, etag: null, lastModified: null }, textSample: '<p>x</p>', mediaRefs: refs });
    await runCheckJob(await dueJob(id!), deps({ fetcher: new Scripted([page]) }));
    expect((await baselineOf(id!))?.mediaRefs).toEqual(refs.slice(0, 100));
  });
});

describe('check job: browser fallback', () => {
  it('a script-built page is fetched again in the browser and that result classified (reason browser_…)', async () => {
    const [id] = await submitReports(db.store, [url('/app')], new Date(T0));
    const browser = new Scripted([response({ ...shellResponse, textSample: 'this content has been removed.' })]);
    const result = await runCheckJob(await dueJob(id!), deps({ fetcher: new Scripted([shellResponse]), browser }));
    expect(result).toMatchObject({ outcome: 'gone', reason: 'browser_takedown_page', status: 'unreachable' });
    expect(browser.requests).toHaveLength(1);
    expect(browser.requests[0]?.url).toBe((await db.store.getReportForCheck(id!))?.url);
  });

  it('a page with its content in the HTML, or media, never goes to the browser', async () => {
    const [id] = await submitReports(db.store, [url('/img.png')], new Date(T0));
    const browser = new Scripted([response()]);
    await runCheckJob(await dueJob(id!), deps({ browser }));
    expect(browser.requests).toHaveLength(0);
  });

  it('a browser that fails for a reason of its own (or throws) leaves the HTTP result to decide', async () => {
    for (const broken of [
      { kind: 'error', error: 'other', detail: 'browser_unavailable', finalUrl: 'x', redirects: 0, durationMs: 1 } as FetchResult,
      new Error('launch failed'),
    ]) {
      const [id] = await submitReports(db.store, [url('/app')], new Date(T0));
      const result = await runCheckJob(await dueJob(id!), deps({ fetcher: new Scripted([shellResponse]), browser: new Scripted([broken]) }));
      expect(result).toMatchObject({ outcome: 'live', reason: 'http_200' });
    }
  });

  it('a browser timeout is the browser\'s finding: inconclusive', async () => {
    const [id] = await submitReports(db.store, [url('/app')], new Date(T0));
    const timeout: FetchResult = { kind: 'error', error: 'timeout', detail: 'deadline', finalUrl: 'x', redirects: 0, durationMs: 1 };
    const result = await runCheckJob(await dueJob(id!), deps({ fetcher: new Scripted([shellResponse]), browser: new Scripted([timeout]) }));
    expect(result).toMatchObject({ outcome: 'inconclusive', reason: 'browser_timeout' });
  });
});
