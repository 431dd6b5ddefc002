/**
 * The check job with vantages (`crawler.vantages`) on the real store (PostgreSQL), with a fetcher
 * scripted per vantage: the direct check comes first; when it is not live, each vantage is asked,
 * a live from any of them wins (geo-blocking must not read as removal) and the check records that
 * vantage; otherwise the direct observation stands with `vantage: null`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LifecyclePolicy } from '../../core/check-transition.js';
import type { Fetcher, FetchRequest, FetchResult } from '../../core/fetcher.js';
import { BUILTIN_CHALLENGE_PATTERNS } from '../../core/takedown-patterns.js';
import { runCheckJob, type CheckJobDeps } from '../../queue/check-job.js';
import { jobIdFor } from '../../queue/job-payloads.js';
import { FakeClock, createTestStore, resultOf, submitReports, type TestStore } from '../lifecycle/support.js';
import { captureLog } from './support.js';

const M = 60_000;
const H = 60 * M;
const T0 = Date.parse('2030-07-01T00:00:00.000Z');
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
const url = () => `https://host-${++n}.vantage-job.test/page`;

type Answer = 'live' | 'gone' | 'inconclusive' | 'proxy_down';

/** Answers by vantage (`direct` for none), tagging results as HttpFetcher does; records what was asked. */
class PerVantage implements Fetcher {
  readonly asked: (string | null)[] = [];
  constructor(private readonly answers: Record<string, Answer>) {}
  async fetch(request: FetchRequest): Promise<FetchResult> {
    const vantage = request.vantage ?? null;
    this.asked.push(vantage);
    const answer = this.answers[vantage ?? 'direct'] ?? 'gone';
    const result: FetchResult = answer === 'proxy_down'
      ? { kind: 'error', error: 'other', detail: 'proxy_ECONNREFUSED', finalUrl: request.url, redirects: 0, durationMs: 1 }
      : resultOf(answer, request.url);
    return vantage === null ? result : { ...result, vantage };
  }
  async close(): Promise<void> {}
}

function deps(fetcher: Fetcher, vantages: string[]): CheckJobDeps {
  return {
    store: db.store, fetcher, vantages, clock: new FakeClock(T0),
    rules: { takedownPatterns: [], challengePatterns: BUILTIN_CHALLENGE_PATTERNS },
    policy, random: () => 0.5, log: captureLog().log,
  };
}

async function dueJob(reportId: string) {
  const report = await db.store.getReportForCheck(reportId);
  const dueAt = report!.nextCheckAt!;
  return { reportId, dueAt, checkId: jobIdFor('check', { reportId, dueAt: dueAt.toISOString(), reason: 'scheduled' }) as string };
}

async function checkRow(reportId: string) {
  const { rows } = await db.store.sql.query<{ outcome: string; vantage: string | null; http_status: number | null }>(
    'SELECT outcome, vantage, http_status FROM checks WHERE report_id = $1', [reportId]);
  expect(rows).toHaveLength(1);
  return rows[0];
}

describe('check job: vantages', () => {
  it('gone direct, live through a vantage (geo-blocking): live, recorded with that vantage', async () => {
    const [id] = await submitReports(db.store, [url()], new Date(T0));
    const fetcher = new PerVantage({ direct: 'gone', nl: 'proxy_down', us: 'live' });
    const result = await runCheckJob(await dueJob(id!), deps(fetcher, ['nl', 'us']));
    expect(result).toMatchObject({ outcome: 'live', applied: true, status: 'live' });
    expect(fetcher.asked).toEqual([null, 'nl', 'us']);
    expect(await checkRow(id!)).toEqual({ outcome: 'live', vantage: 'us', http_status: 200 });
  });

  it('inconclusive direct, live through a vantage: live with the vantage', async () => {
    const [id] = await submitReports(db.store, [url()], new Date(T0));
    const fetcher = new PerVantage({ direct: 'inconclusive', nl: 'live', us: 'live' });
    await runCheckJob(await dueJob(id!), deps(fetcher, ['nl', 'us']));
    // the first live one in configuration order
    expect(await checkRow(id!)).toMatchObject({ outcome: 'live', vantage: 'nl' });
  });

  it('live direct: no vantage is asked, the check is recorded as direct', async () => {
    const [id] = await submitReports(db.store, [url()], new Date(T0));
    const fetcher = new PerVantage({ direct: 'live', nl: 'gone' });
    await runCheckJob(await dueJob(id!), deps(fetcher, ['nl']));
    expect(fetcher.asked).toEqual([null]);
    expect(await checkRow(id!)).toEqual({ outcome: 'live', vantage: null, http_status: 200 });
  });

  it('gone everywhere (or a proxy down): the direct observation stands', async () => {
    const [id] = await submitReports(db.store, [url()], new Date(T0));
    const fetcher = new PerVantage({ direct: 'gone', nl: 'gone', us: 'proxy_down' });
    const result = await runCheckJob(await dueJob(id!), deps(fetcher, ['nl', 'us']));
    expect(result.outcome).toBe('gone');
    expect(fetcher.asked).toEqual([null, 'nl', 'us']);
    expect(await checkRow(id!)).toEqual({ outcome: 'gone', vantage: null, http_status: 404 });
  });

  it('no vantages configured: direct only', async () => {
    const [id] = await submitReports(db.store, [url()], new Date(T0));
    const fetcher = new PerVantage({ direct: 'gone' });
    await runCheckJob(await dueJob(id!), deps(fetcher, []));
    expect(fetcher.asked).toEqual([null]);
    expect(await checkRow(id!)).toMatchObject({ outcome: 'gone', vantage: null });
  });
});
