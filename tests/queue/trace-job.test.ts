/**
 * The trace job and the check job's "trace now?" on the real store (PostgreSQL), with a scripted
 * tracer standing in for DNS/mmdb/RDAP (those are tested in tests/tracing and end to end in
 * tests/integration/flow-e2e.test.ts) and fake time: a trace is written once however often its
 * job runs; the first located trace of a live illegal report and a country move make the notice
 * decision due; live checks queue a trace when never traced, on a new address, or when old.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LifecyclePolicy } from '../../core/check-transition.js';
import type { Hosting } from '../../core/store.js';
import { BUILTIN_CHALLENGE_PATTERNS } from '../../core/takedown-patterns.js';
import type { TraceRecord, Tracer } from '../../core/tracer.js';
import { runCheckJob } from '../../queue/check-job.js';
import { jobIdFor, type TracePayload } from '../../queue/job-payloads.js';
import { DEFAULT_RETRACE_EVERY_MS, enqueueTraceAfterCheck, runTraceJob, traceIdOf } from '../../queue/trace-job.js';
import { FakeClock, ScriptedFetcher, createTestStore, submitReports, type TestStore } from '../lifecycle/support.js';
import { captureLog } from './support.js';

const T0 = Date.parse('2030-06-01T00:00:00.000Z');
const H = 3_600_000;
const NL: Hosting = { ip: '127.0.0.2', country: 'NL', asn: 64496, org: 'Synthetic Hosting NL', viaCdn: false };
const DE: Hosting = { ip: '127.0.0.3', country: 'DE', asn: 64497, org: 'Synthetic Hosting DE', viaCdn: false };

let db: TestStore;
beforeAll(async () => { db = await createTestStore(); });
afterAll(async () => { await db?.close(); });

let n = 0;
const url = () => `https://host-${++n}.trace-job.test/image.png`;

/** A tracer answering with the hosting it is told to; counts its calls. */
class ScriptedTracer implements Tracer {
  calls: { target: string; observedIp: string | null }[] = [];
  constructor(public hosting: Hosting, private readonly clock: FakeClock) {}
  async trace(target: string, options: { observedIp?: string | null } = {}): Promise<TraceRecord> {
    this.calls.push({ target, observedIp: options.observedIp ?? null });
    return {
      target, host: new URL(target).hostname, observedIp: options.observedIp ?? null,
      dns: { name: new URL(target).hostname, outcome: 'ok', code: null, chain: [], chainComplete: true, answers: [], fromCache: false },
      addresses: this.hosting.ip ? [this.hosting.ip] : [], hosting: { ...this.hosting }, ipSource: options.observedIp ? 'observed' : 'dns',
      countrySource: { database: 'test-country.mmdb', field: 'country.iso_code' }, orgSource: 'asn_db', network: null, registrar: null,
      contacts: [], contactStatus: 'none_found',
      databases: [{ role: 'country', path: 'test-country.mmdb', databaseType: 'Test-Country', buildEpoch: '2030-01-01T00:00:00.000Z', ipVersion: 6 }],
      rdap: [], rdapBootstrap: null, tracedAt: this.clock.now(),
    };
  }
}

async function liveIllegal(): Promise<{ id: string; url: string }> {
  const u = url();
  const [id] = await submitReports(db.store, [u], new Date(T0), 'illegal');
  await db.store.sql.query(`UPDATE reports SET status = 'live', next_realert_at = NULL WHERE id = $1`, [id]);
  return { id: id!, url: u };
}

const realertAt = async (id: string) => (await db.store.sql.query<{ next_realert_at: Date | null }>('SELECT next_realert_at FROM reports WHERE id = $1', [id])).rows[0]!.next_realert_at;
const traceRows = async (id: string) => (await db.store.sql.query<{ id: string; country: string; provenance: { ipSource: string } }>(
  'SELECT id, country, provenance FROM traces WHERE report_id = $1 ORDER BY created_at', [id])).rows;

describe('runTraceJob', () => {
  it('writes the trace and hosting once per job id; the first trace of a live illegal report makes its decision due', async () => {
    const clock = new FakeClock(T0 + 60_000);
    const tracer = new ScriptedTracer(NL, clock);
    const { id, url: u } = await liveIllegal();
    const payload: TracePayload = { reportId: id, checkId: `check.${id}.${T0}`, ip: '127.0.0.2' };
    await db.store.sql.query(`INSERT INTO checks (id, report_id, outcome, reason, started_at, duration_ms, status_after)
      VALUES ($3, $1, 'live', 'http_200', $2, 5, 'live')`, [id, new Date(T0), payload.checkId]);
    const first = await runTraceJob(payload, { store: db.store, tracer, clock, log: captureLog().log });
    expect(first).toMatchObject({ applied: true, decideNow: true, country: 'NL' });
    expect(tracer.calls).toEqual([{ target: u, observedIp: '127.0.0.2' }]);
    expect(await realertAt(id)).toEqual(clock.now());

    await db.store.sql.query('UPDATE reports SET next_realert_at = NULL WHERE id = $1', [id]);
    const again = await runTraceJob(payload, { store: db.store, tracer, clock, log: captureLog().log });
    expect(again).toMatchObject({ traceId: first.traceId, applied: false, decideNow: false });
    expect(first.traceId).toBe(jobIdFor('trace', payload));
    expect(await traceRows(id)).toHaveLength(1);
    expect(await realertAt(id)).toBeNull();
    expect((await traceRows(id))[0]).toMatchObject({ country: 'NL', provenance: { ipSource: 'observed' } });
  });

  it('a move to another country makes the decision due again; the same country does not', async () => {
    const clock = new FakeClock(T0);
    const tracer = new ScriptedTracer(NL, clock);
    const { id } = await liveIllegal();
    const run = () => runTraceJob({ reportId: id }, { store: db.store, tracer, clock, log: captureLog().log });
    expect(await run()).toMatchObject({ decideNow: true });
    await db.store.sql.query('UPDATE reports SET next_realert_at = NULL WHERE id = $1', [id]);
    clock.advance(H);
    expect(await run()).toMatchObject({ applied: true, decideNow: false });
    expect(await realertAt(id)).toBeNull();
    tracer.hosting = DE;
    clock.advance(H);
    expect(await run()).toMatchObject({ applied: true, decideNow: true, country: 'DE' });
    expect(await realertAt(id)).toEqual(clock.now());
    expect((await traceRows(id)).map((t) => t.country)).toEqual(['NL', 'NL', 'DE']);
  });

  it('decides the notices at once when the trace made the decision due; a failing decider is logged, the decision stays due', async () => {
    const clock = new FakeClock(T0);
    const tracer = new ScriptedTracer(NL, clock);
    const { id } = await liveIllegal();
    const told: string[] = [];
    const run = (onDecisionDue: (reportId: string) => Promise<unknown>, log = captureLog()) =>
      runTraceJob({ reportId: id }, { store: db.store, tracer, clock, log: log.log, onDecisionDue });
    expect(await run(async (reportId) => { told.push(reportId); })).toMatchObject({ decideNow: true });
    expect(told).toEqual([id]);
    // the same country again: nothing due, the decider is not called
    clock.advance(H);
    expect(await run(async (reportId) => { told.push(reportId); })).toMatchObject({ decideNow: false });
    expect(told).toEqual([id]);

    await db.store.sql.query('UPDATE reports SET next_realert_at = NULL WHERE id = $1', [id]);
    tracer.hosting = DE;
    clock.advance(H);
    const log = captureLog();
    expect(await run(() => Promise.reject(new Error('decider down')), log)).toMatchObject({ applied: true, decideNow: true, country: 'DE' });
    expect(log.lines().some((l) => l.msg === 'deciding notices after the trace failed; the outbox dispatcher decides them')).toBe(true);
    expect(await realertAt(id)).toEqual(clock.now());
  });

  it('drops traces of missing and closed reports without tracing', async () => {
    const clock = new FakeClock(T0);
    const tracer = new ScriptedTracer(NL, clock);
    const { id } = await liveIllegal();
    await db.store.sql.query(`UPDATE reports SET status = 'expired' WHERE id = $1`, [id]);
    expect(await runTraceJob({ reportId: id }, { store: db.store, tracer, clock, log: captureLog().log })).toMatchObject({ applied: false, traceId: null });
    expect(await runTraceJob({ reportId: '00000000-0000-4000-8000-000000000000' }, { store: db.store, tracer, clock, log: captureLog().log }))
      .toMatchObject({ applied: false, traceId: null });
    expect(tracer.calls).toEqual([]);
  });

  it('ad-hoc traces (no check) get distinct ids', () => {
    let i = 0;
    const newId = () => `id${++i}`;
    expect(traceIdOf({ reportId: '00000000-0000-4000-8000-000000000000' }, newId)).toBe('trace.id1');
    expect(traceIdOf({ reportId: '00000000-0000-4000-8000-000000000000', checkId: 'c.1' }, newId)).toBe('trace.00000000-0000-4000-8000-000000000000.c.1');
  });
});

describe('enqueueTraceAfterCheck', () => {
  const fakeQueues = () => {
    const added: TracePayload[] = [];
    return { added, queues: { add: async (_q: string, p: unknown) => { added.push(p as TracePayload); return {} as never; } } };
  };

  it('queues a trace when never traced, on a new address, or when the last trace is old; never for a check not live', async () => {
    const clock = new FakeClock(T0);
    const { id } = await liveIllegal();
    const { added, queues } = fakeQueues();
    const deps = { queues, store: db.store };
    const check = (outcome: 'live' | 'gone', remoteAddress: string | null, checkId = `c.${++n}`) => ({ reportId: id, checkId, outcome, remoteAddress });

    expect(await enqueueTraceAfterCheck(check('gone', '127.0.0.2'), deps, clock.now())).toBe(false);
    expect(await enqueueTraceAfterCheck(check('live', '::ffff:127.0.0.2', 'c.first'), deps, clock.now())).toBe(true);
    expect(added).toEqual([{ reportId: id, checkId: 'c.first', ip: '127.0.0.2' }]);

    await runTraceJob({ reportId: id }, { store: db.store, tracer: new ScriptedTracer(NL, clock), clock, log: captureLog().log });
    clock.advance(H);
    expect(await enqueueTraceAfterCheck(check('live', '127.0.0.2'), deps, clock.now())).toBe(false);
    expect(await enqueueTraceAfterCheck(check('live', null), deps, clock.now())).toBe(false);
    expect(await enqueueTraceAfterCheck(check('live', '127.0.0.3', 'c.moved'), deps, clock.now())).toBe(true);
    clock.advance(DEFAULT_RETRACE_EVERY_MS);
    expect(await enqueueTraceAfterCheck(check('live', '127.0.0.2', 'c.old'), deps, clock.now())).toBe(true);
    expect(added.map((a) => a.checkId)).toEqual(['c.first', 'c.moved', 'c.old']);
  });

  it('the check job queues a trace after a live check, and again when the same job runs twice', async () => {
    const clock = new FakeClock(T0);
    const [id] = await submitReports(db.store, [url()], new Date(T0), 'illegal');
    const { added, queues } = fakeQueues();
    const policy: LifecyclePolicy = {
      recheck: { live: H, notified: H, removed: 24 * H, unreachable: 6 * H, pendingRetry: 15 * 60_000 },
      removal: { confirmations: 3, windowMs: H }, watchAfterRemovalMs: 30 * 24 * H, expireAfterMs: 90 * 24 * H,
    };
    const report = await db.store.getReportForCheck(id!);
    const dueAt = report!.nextCheckAt!;
    const job = { reportId: id!, dueAt, checkId: jobIdFor('check', { reportId: id!, dueAt: dueAt.toISOString(), reason: 'scheduled' }) as string };
    const deps = {
      store: db.store, fetcher: new ScriptedFetcher('live'), clock, rules: { takedownPatterns: [], challengePatterns: BUILTIN_CHALLENGE_PATTERNS },
      policy, random: () => 0.5, log: captureLog().log, trace: { queues, store: db.store },
    };
    expect(await runCheckJob(job, deps)).toMatchObject({ outcome: 'live', applied: true });
    expect(added).toEqual([{ reportId: id, checkId: job.checkId, ip: '127.0.0.2' }]);
  });
});
