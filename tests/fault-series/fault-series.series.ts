/**
 * Randomized fault series (issue 9 item 2): `npm run test:faults` (FAULT_RUNS, default 100;
 * FAULT_SEED to replay a series' fault schedule — timing still varies). `npm test` runs it too,
 * after the main suite passed (tests/run-tests.js); it lives under tests/fault-series/ with its own
 * vitest config (vitest.faults.config.ts) and does not match `*.test.ts`, so the main suite's run
 * does not include it.
 *
 * Set-up, reused across runs:
 *   - a private PostgreSQL server the series starts itself (private-postgres.ts: Debian binaries,
 *     run as the `postgres` user, a temp dir, 127.0.0.1 on a free port; always stopped and
 *     removed at the end) holding the one database; the machine's shared server is not touched.
 *     `FAULT_PG=shared` instead uses a database on the shared server, without restarts;
 *   - a private redis-server on a free port;
 *   - a world of 4 hosts, each with its own country's hotline: NL and DE take webhooks, BE and FR
 *     take e-mail; the webhook sink and the SMTP sink each sit behind a gate that can refuse
 *     connections;
 *   - 2 × `vigil start --role worker` and 1 × `--role scheduler`, each fetching with a user-agent
 *     of its own, so that a route knows which process is waiting on it.
 * Each run (1.2–2.8 s) submits 1–3 reports (verdict illegal) on routes answering a live page;
 * about half of them are taken down (404) once notified, so removal gets confirmed. Faults, all
 * drawn up front from the seeded PRNG, at random points of the run:
 *   - SIGTERM under load (p 0.10): 4–8 more reports (taken down like the others) whose pages
 *     answer after 0.3–4.5 s until the SIGTERM is done, so that checks finish in the drain or are
 *     handed back at the deadline; once a worker has a fetch in flight (seen by the route, by its user-agent) it gets SIGTERM and must
 *     exit 0 within `shutdown.deadline` (3 s, by its own log from "vigil stopping" to "vigil
 *     stopped"; the process gone within 3 s more); a replacement is started. Runs with SIGTERM
 *     draw no Redis or PostgreSQL fault, and those faults wait for a SIGTERM in progress to end:
 *     a stop during a store or queue outage may rightly overrun its deadline and exit 1;
 *   - otherwise SIGKILL of a random worker (p 0.85), then a replacement;
 *   - SIGKILL of the scheduler (p 0.05), then a replacement;
 *   - SIGKILL of the private Redis and a start, empty, on the same port after 0.2–1.2 s (p 0.06);
 *     it waits until no daemon is starting: a daemon that finds no Redis at a loopback REDIS_URL
 *     starts a private one on that port by design (CONTRACT.md §1);
 *   - a PostgreSQL restart (p 0.06): `pg_ctl stop -m immediate` (crash, recovery at start) or
 *     `-m fast`, down for 0.3–3 s, then started again on the same port;
 *   - `pg_terminate_backend` of every backend of the database (p 0.05);
 *   - the webhook sink refusing connections for 0.5–2.5 s (p 0.08);
 *   - the SMTP sink down for 0.5–2.5 s (p 0.08): half the time refusing connections, half the time
 *     up but answering 451 to every message.
 *   A replacement daemon waits for a Redis or PostgreSQL outage to end before it starts; one that
 *   fails to start because PostgreSQL went away while it started is started again (as a
 *   supervisor would), at most 5 times, and only then.
 * After every run: no daemon of the pool died on its own; every accepted URL has a report row with
 * a next check or a terminal status (is monitored); no report's due check is overdue by more than
 * lease + interval (30 s + 4 s: nothing stuck), counted from the end of the last PostgreSQL fault
 * when that came later (a check that met the store down waits out its back-off or lease); every
 * SIGTERM so far met its deadline with exit 0.
 * After the last run the faults stop, the remaining takedowns happen, and once everything settled
 * (every report notified, or removed with its removal notice sent; `FAULT_SETTLE_SECONDS`, default
 * 480; every 30 s it prints what is still open, its pending notices, and the daemons' log about the
 * first open report) the end invariants are checked:
 *   - the outbox: one notice per event (report, recipient, kind, sequence); exactly one
 *     `removal_confirmed` notice, sent, per removed report, none for the others;
 *   - the receivers (sink-events.ts): every webhook delivery and every e-mail says what event it
 *     is, under one id (body id = webhook-id; Message-ID = `<X-Vigil-Notice-Id@vigil>`); no event
 *     arrived under two ids; every report's initial notice, and every removed report's removal
 *     notice, arrived at its recipient's sink (webhook or SMTP) under the outbox notice's id, and
 *     no removal notice arrived for a report not removed.
 * Loopback only; synthetic pages; every fault hits only servers and processes this series started.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { submitReports, until } from '../lifecycle/support.js';
import { newPrefix } from '../queue/support.js';
import { startWorld, type World } from '../world/world.js';
import { cleanupDirs, startDaemon, type Daemon, type DaemonSetup, type Role } from '../faults/support.js';
import { faultRoute, InFlight, type FaultRoute } from './fault-route.js';
import { openSeriesDatabase, type SeriesDatabase } from './series-database.js';
import { emailView, webhookView } from './sink-events.js';
import { Counter, seededRandom, sleep, startGate, startRestartableRedis, type Gate, type RestartableRedis } from './support.js';

const RUNS = Number(process.env.FAULT_RUNS ?? 100);
const SEED = Number(process.env.FAULT_SEED ?? Math.floor(Math.random() * 2 ** 31));
const PG_MODE = process.env.FAULT_PG === 'shared' ? 'shared' : 'private';
/**
 * How long the end may take to settle. Notice retries back off on purpose (full jitter from 30 s,
 * doubling: core/delivery-policy.ts), so a notice that met a sink outage twice may wait minutes.
 */
const SETTLE_MS = Number(process.env.FAULT_SETTLE_SECONDS ?? 480) * 1000;
const LEASE_MS = 30_000;
const INTERVAL_MS = 4_000; // the longest recheck among the statuses a run goes through
const STUCK_MS = LEASE_MS + INTERVAL_MS;
/** `shutdown.deadline` of every daemon (tests/faults/support.ts faultConfig) */
const DEADLINE_MS = 3000;
/** after "vigil stopped": the process's own teardown, on a loaded machine */
const EXIT_SLACK_MS = 3000;
const TERMINAL = ['rejected', 'refused', 'expired'];
const COUNTRIES = ['NL', 'DE', 'BE', 'FR'] as const;
const EMAIL_COUNTRIES = new Set(['BE', 'FR']);
const emailOf = (recipient: string) => `${recipient}@hotlines.example.test`;

const random = seededRandom(SEED);
const between = (lo: number, hi: number): number => lo + Math.floor(random() * (hi - lo + 1));
const chance = (p: number): boolean => random() < p;

interface Tracked {
  url: string;
  id: string;
  route: FaultRoute;
  recipient: string;
  takeDown: boolean;
  takenDown: boolean;
}

interface TermResult { run: number; busy: number; code: number | null; ms: number; stopMs: number; released: number; problem: string | null }

let world: World;
let db: SeriesDatabase;
let redis: RestartableRedis;
let webhookGate: Gate;
let smtpGate: Gate;
let setup: DaemonSetup;
const prefix = newPrefix();
const inFlight = new InFlight();
/** slots 0, 1: workers; slot 2: scheduler. null while (re)starting or stopping. */
const pool: (Daemon | null)[] = [null, null, null];
const roles: Role[] = ['worker', 'worker', 'scheduler'];
const byUserAgent = new Map<string, Daemon>();
const everStarted: Daemon[] = [];
const background = new Set<Promise<void>>();
const backgroundErrors: Error[] = [];
/** daemons starting; SIGTERMs in progress; Redis or PostgreSQL outages in progress */
const starts = new Counter();
const terms = new Counter();
const outages = new Counter();
/** bumped when a PostgreSQL fault begins or ends: a start that overlapped one may have failed for it */
let pgEpoch = 0;
let daemonSerial = 0;
const tracked: Tracked[] = [];
/** when the private PostgreSQL was down (a restart from its stop to accepting again; `to` open while it lasts) */
const pgDown: { from: number; to: number }[] = [];
/** the private PostgreSQL server's own log, last lines (why it was down, when it was) */
function pgLogTail(lines = 15): string {
  const file = db.server ? path.join(db.server.dir, 'postgres.log') : null;
  if (!file || !existsSync(file)) return '(none)';
  return readFileSync(file, 'utf8').split('\n').filter(Boolean).slice(-lines).join('\n');
}
/** when the last PostgreSQL fault (a restart, or every backend terminated) ended; 0: none yet */
let pgFaultEnded = 0;
const termResults: TermResult[] = [];
const faults = {
  workerKills: 0, schedulerKills: 0, workerTerms: 0, redisRestarts: 0, pgRestarts: 0, dbTerminations: 0,
  webhookOutages: 0, smtpOutages: 0, smtp451Outages: 0, startRetries: 0,
};

/** Runs `task` beside the series; its failure fails the series at the end of the run. */
function inBackground(task: () => Promise<void>): void {
  const p: Promise<void> = task()
    .catch((err: unknown) => { backgroundErrors.push(err instanceof Error ? err : new Error(String(err))); })
    .finally(() => { background.delete(p); });
  background.add(p);
}

async function startSlot(slot: number): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    while (outages.n > 0) await outages.whenZero();
    starts.inc();
    const epoch = pgEpoch;
    const userAgent = `vigil-fault-series/${++daemonSerial} (${roles[slot]})`;
    try {
      const d = await startDaemon(roles[slot]!, { ...setup, config: { ...setup.config, crawler: { userAgent } } }, prefix);
      everStarted.push(d);
      byUserAgent.set(userAgent, d);
      pool[slot] = d;
      return;
    } catch (err) {
      // only a start that a PostgreSQL fault overlapped may fail, and only a few times
      if (pgEpoch === epoch || attempt >= 5) throw err;
      faults.startRetries++;
    } finally {
      starts.dec();
    }
  }
}

/** SIGKILL the process in `slot` and start a replacement in the background. */
function killSlot(slot: number): void {
  const d = pool[slot];
  if (!d) return;
  pool[slot] = null;
  inBackground(() => d.kill9().then(() => startSlot(slot)));
}

/**
 * SIGTERM to a worker with a fetch in flight; records how it stopped, starts a replacement. The
 * run's slow routes stay slow until then, so that a busy worker can be found.
 */
function termBusyWorker(run: number, slowRoutes: FaultRoute[]): void {
  terms.inc();
  inBackground(async () => {
    try {
      // Two SIGTERM runs can wait at once, and one request can wake both: the first to resume
      // claims the worker (synchronously, below); the other sees it gone from the pool and waits on.
      const deadline = Date.now() + 20_000;
      let d: Daemon;
      let slot: number;
      let ua: string;
      for (;;) {
        ua = await inFlight.waitFor((u) => { const w = byUserAgent.get(u); return w !== undefined && w.role === 'worker' && pool.includes(w); }, Math.max(1, deadline - Date.now()));
        d = byUserAgent.get(ua)!;
        slot = pool.indexOf(d);
        if (slot >= 0) break;
      }
      pool[slot] = null;
      faults.workerTerms++;
      const busy = inFlight.count(ua);
      const { code, ms } = await d.term();
      const lines = d.lines();
      const at = (msg: string) => Number(lines.find((l) => l.msg === msg)?.time);
      const stopMs = at('vigil stopped') - at('vigil stopping');
      const released = Number(lines.find((l) => String(l.msg).startsWith('shutdown deadline reached'))?.released ?? 0);
      const ok = code === 0 && stopMs < DEADLINE_MS && ms < DEADLINE_MS + EXIT_SLACK_MS;
      const problem = ok ? null : `run ${run}: SIGTERM to a busy worker: exit ${code}, stopped in ${stopMs} ms, gone in ${ms} ms (deadline ${DEADLINE_MS} ms)\n`
        + `its last log lines:\n${lines.slice(-25).map((l) => JSON.stringify(l)).join('\n')}\nstderr:\n${d.stderr().slice(-2000)}`;
      termResults.push({ run, busy, code, ms, stopMs, released, problem });
      await startSlot(slot);
    } finally {
      for (const r of slowRoutes) r.latencyMs = 0;
      terms.dec();
    }
  });
}

/** Runs a Redis or PostgreSQL outage once nothing it must not overlap is under way. */
async function outage(kind: 'redis' | 'pg', body: () => Promise<void>): Promise<void> {
  for (;;) {
    if (terms.n > 0) { await terms.whenZero(); continue; }
    if (kind === 'redis' && starts.n > 0) { await starts.whenZero(); continue; }
    break;
  }
  outages.inc();
  if (kind === 'pg') pgEpoch++;
  try {
    await body();
  } finally {
    if (kind === 'pg') pgEpoch++;
    outages.dec();
  }
}

/** A query on a fresh connection that waits out this series' own PostgreSQL faults (up to 60 s). */
async function q<T extends pg.QueryResultRow>(text: string, values: unknown[] = []): Promise<T[]> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const c = new pg.Client({ connectionString: db.url });
    try {
      await c.connect();
      return (await c.query<T>(text, values)).rows;
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await sleep(200);
    } finally {
      await c.end().catch(() => undefined);
    }
  }
}

/** Submits through the store's pool; once more after a failure (its connections may have been cut). */
async function submit(urls: string[]): Promise<string[]> {
  for (let i = 0; ; i++) {
    try {
      return await submitReports(db.store, urls, new Date(), 'illegal');
    } catch (err) {
      if (i >= 5) throw err;
      await sleep(300);
    }
  }
}

/** Invariants that hold at every moment: the pool alive, accepted → monitored, nothing stuck, SIGTERMs clean. */
async function checkRunInvariants(run: number): Promise<void> {
  if (backgroundErrors.length > 0) throw backgroundErrors[0];
  const died = pool.filter((d): d is Daemon => d !== null && (d.child.exitCode !== null || d.child.signalCode !== null));
  expect(died.map((d) => `${d.role} exited ${d.child.exitCode ?? d.child.signalCode}: ${d.stderr().slice(-1500)}`), `run ${run}: no daemon died on its own (seed ${SEED})`).toEqual([]);
  expect(termResults.map((r) => r.problem).filter(Boolean), `run ${run}: every SIGTERM exited 0 within the deadline (seed ${SEED})`).toEqual([]);
  const urls = tracked.map((t) => t.url);
  const rows = await q<{ id: string; url: string; status: string; next_check_at: Date | null; dispatch_at: Date | null }>(
    'SELECT id, url, status, next_check_at, dispatch_at FROM reports WHERE url = ANY($1::text[])', [urls]);
  expect(rows.length, `run ${run}: every accepted URL has a report row`).toBe(urls.length);
  const now = Date.now();
  const unmonitored = rows.filter((r) => r.next_check_at === null && !TERMINAL.includes(r.status)).map((r) => `${r.url} (${r.status})`);
  expect(unmonitored, `run ${run}: every accepted URL is monitored (seed ${SEED})`).toEqual([]);
  // an overdue report comes with its story: what the daemons logged about it, and the scheduler's last lines
  // Counted from the end of the last PostgreSQL fault when that is later than the due time: a
  // check job that met the store down waits out its retry back-off or its lease, so after each
  // fault the lease and interval apply afresh (seed 1132612936: four restarts within a minute kept
  // one report 35 s overdue). The end of the series, with no faults, checks that all settled.
  const overdue = (due: Date): number => now - Math.max(due.getTime(), pgFaultEnded);
  const stuck = rows.filter((r) => r.next_check_at !== null && !TERMINAL.includes(r.status) && overdue(r.next_check_at) > STUCK_MS)
    .map((r) => `${r.url} (${r.status}, due ${r.next_check_at?.toISOString()}, dispatched ${r.dispatch_at?.toISOString() ?? '-'})\n${logsAbout(r.id)}`
      + `\nthe scheduler's last lines:\n${(pool[2]?.lines() ?? []).slice(-12).map((l) => `${new Date(Number(l.time)).toISOString().slice(11, 23)} ${String(l.msg)}${l.err ? ` (${(l.err as { message?: string }).message})` : ''}`).join('\n')}`
      + `\nPostgreSQL restarts (down from, to): ${pgDown.map((w) => `${new Date(w.from).toISOString().slice(11, 23)}–${Number.isFinite(w.to) ? new Date(w.to).toISOString().slice(11, 23) : 'now'}`).join(', ') || 'none'}`
      + `\nits log, last lines:\n${pgLogTail()}`);
  expect(stuck, `run ${run}: no report overdue by more than lease + interval (seed ${SEED})`).toEqual([]);
}

/** What the daemons logged about one report, oldest first (repeats folded): the story of a report that did not settle. */
function logsAbout(reportId: string, max = 30): string {
  const lines = everStarted.flatMap((d, i) => d.lines().filter((l) => l.reportId === reportId || String(l.jobId ?? '').includes(reportId))
    .map((l) => ({ time: Number(l.time), text: `${d.role}#${i} ${l.msg}${l.err ? ` (${(l.err as { message?: string }).message})` : ''}` })))
    .sort((a, b) => a.time - b.time);
  const folded: { time: number; text: string; n: number }[] = [];
  for (const l of lines) {
    const last = folded[folded.length - 1];
    if (last?.text === l.text) last.n++;
    else folded.push({ ...l, n: 1 });
  }
  return folded.slice(-max).map((l) => `${new Date(l.time).toISOString().slice(11, 23)} ${l.text}${l.n > 1 ? ` (×${l.n})` : ''}`).join('\n');
}

/** Takes down the routes planned to go, once their report has been notified. */
async function takeDownNotified(): Promise<void> {
  const waiting = tracked.filter((t) => t.takeDown && !t.takenDown);
  if (waiting.length === 0) return;
  const rows = await q<{ id: string; status: string }>('SELECT id, status FROM reports WHERE id = ANY($1::uuid[])', [waiting.map((t) => t.id)]);
  const notified = new Set(rows.filter((r) => r.status === 'notified').map((r) => r.id));
  for (const t of waiting) {
    if (notified.has(t.id)) { t.route.mode = 'gone'; t.takenDown = true; }
  }
}

beforeAll(async () => {
  console.log(`fault series: ${RUNS} runs, seed ${SEED} (replay with FAULT_SEED=${SEED}); PostgreSQL: ${PG_MODE === 'private'
    ? 'a private server, restarted mid-run' : 'the shared server (FAULT_PG=shared): backend terminations only, NO restarts'}`);
  [world, db, redis] = await Promise.all([
    startWorld({ fleetSize: 4, countries: { '127.0.0.2': 'NL', '127.0.0.3': 'DE', '127.0.0.4': 'BE', '127.0.0.5': 'FR' } }),
    openSeriesDatabase(PG_MODE),
    startRestartableRedis(),
  ]);
  [webhookGate, smtpGate] = await Promise.all([startGate(world.webhooks.port), startGate(world.smtp.port)]);
  const secret = `whsec_${Buffer.from('synthetic-fault-series-secret').toString('base64')}`;
  setup = {
    databaseUrl: db.url, redisUrl: redis.url, world,
    config: {
      queue: { checkLease: `${LEASE_MS / 1000}s` },
      schedule: { recheck: { live: '1s', notified: `${INTERVAL_MS / 1000}s`, unreachable: '2s' }, removal: { confirmations: 2, window: '1s' } },
      notices: { smtp: { url: `smtp://127.0.0.1:${smtpGate.port}` } },
      directory: {
        homeCountry: 'GB',
        recipients: COUNTRIES.map((c) => {
          const id = `hotline-${c.toLowerCase()}`;
          return {
            id, kind: 'hotline', name: `Hotline ${c}`, countries: [c],
            channel: EMAIL_COUNTRIES.has(c) ? { email: { to: [emailOf(id)] } } : { webhook: { url: `http://127.0.0.1:${webhookGate.port}/${c.toLowerCase()}`, secret } },
          };
        }),
      },
    },
  };
  await Promise.all([0, 1, 2].map((s) => startSlot(s)));
}, 120_000);

afterAll(async () => {
  await Promise.allSettled([...background]);
  await Promise.allSettled(everStarted.map((d) => d.kill9()));
  await webhookGate?.close();
  await smtpGate?.close();
  await redis?.stop();
  await db?.close();
  await world?.close();
  cleanupDirs();
});

describe(`randomized fault series (${RUNS} runs)`, () => {
  it('keeps its invariants through kill -9, SIGTERM under load, Redis and PostgreSQL restarts and sink outages', async () => {
    const started = Date.now();
    for (let run = 0; run < RUNS; run++) {
      // the whole plan of the run, drawn before anything happens (FAULT_SEED replays it)
      const runMs = between(1200, 2800);
      const n = between(1, 3);
      const sigterm = chance(0.10);
      const load = sigterm ? between(4, 8) : 0;
      const plans = Array.from({ length: n + load }, (_, k) => ({
        country: COUNTRIES[between(0, COUNTRIES.length - 1)]!, takeDown: chance(0.5), latencyMs: k >= n ? between(300, 4500) : 0,
      }));
      const workerKill = !sigterm && chance(0.85) ? { at: between(0, runMs), pick: random() } : null;
      const termAt = sigterm ? between(0, runMs) : null;
      const schedulerKill = chance(0.05) ? between(0, runMs) : null;
      const redisFault = !sigterm && chance(0.06) ? { at: between(0, runMs), downMs: between(200, 1200) } : null;
      const pgFault = !sigterm && chance(0.06) ? { at: between(0, runMs), mode: chance(0.5) ? 'immediate' as const : 'fast' as const, downMs: between(300, 3000) } : null;
      const termination = !sigterm && chance(0.05) ? between(0, runMs) : null;
      const webhookOutage = chance(0.08) ? { at: between(0, runMs), ms: between(500, 2500) } : null;
      const smtpOutage = chance(0.08) ? { at: between(0, runMs), ms: between(500, 2500), refuse: chance(0.5) } : null;

      const fresh: Tracked[] = plans.map((p, k) => {
        const host = world.hosts.find((h) => h.country === p.country)!;
        const route = faultRoute(host.http, `/fs/${run}/${k}`, inFlight);
        route.latencyMs = p.latencyMs;
        return { url: world.url(host.address, `/fs/${run}/${k}`), id: '', route, recipient: `hotline-${p.country.toLowerCase()}`, takeDown: p.takeDown, takenDown: false };
      });
      const ids = await submit(fresh.map((t) => t.url));
      fresh.forEach((t, i) => { t.id = ids[i]!; });
      tracked.push(...fresh);

      const timers: Promise<void>[] = [];
      const at = (ms: number, f: () => Promise<void> | void) => timers.push(sleep(ms).then(f));
      if (workerKill) {
        at(workerKill.at, () => {
          const up = [0, 1].filter((s) => pool[s] !== null);
          if (up.length === 0) return;
          faults.workerKills++;
          killSlot(up[Math.floor(workerKill.pick * up.length)]!);
        });
      }
      if (termAt !== null) at(termAt, () => termBusyWorker(run, fresh.slice(n).map((t) => t.route)));
      if (schedulerKill !== null) at(schedulerKill, () => { if (pool[2]) { faults.schedulerKills++; killSlot(2); } });
      if (redisFault) at(redisFault.at, () => outage('redis', async () => { faults.redisRestarts++; await redis.restart(redisFault.downMs); }));
      if (pgFault && db.server) {
        const server = db.server;
        at(pgFault.at, () => outage('pg', async () => {
          faults.pgRestarts++;
          const window = { from: Date.now(), to: Number.POSITIVE_INFINITY };
          pgDown.push(window);
          try {
            const { stopMs, startMs } = await server.restart(pgFault.mode, pgFault.downMs);
            if (stopMs + startMs > 10_000) console.log(`run ${run}: PostgreSQL restart (${pgFault.mode}) was slow: stop ${stopMs} ms, down ${pgFault.downMs} ms, start ${startMs} ms`);
          } finally {
            window.to = Date.now();
            pgFaultEnded = window.to;
          }
        }));
      }
      if (termination !== null) {
        at(termination, () => outage('pg', async () => {
          faults.dbTerminations++;
          try {
            await db.terminateBackends();
          } finally {
            pgFaultEnded = Date.now();
          }
        }));
      }
      if (webhookOutage) {
        at(webhookOutage.at, async () => {
          faults.webhookOutages++;
          await webhookGate.down();
          await sleep(webhookOutage.ms);
          await webhookGate.bringUp();
        });
      }
      if (smtpOutage) {
        at(smtpOutage.at, async () => {
          if (smtpOutage.refuse) { faults.smtpOutages++; await smtpGate.down(); } else { faults.smtp451Outages++; world.smtp.setFailing(451, 'data'); }
          await sleep(smtpOutage.ms);
          if (smtpOutage.refuse) await smtpGate.bringUp(); else world.smtp.setFailing(null);
        });
      }
      await sleep(runMs);
      await Promise.all(timers);
      await takeDownNotified();
      await checkRunInvariants(run);
      if ((run + 1) % 10 === 0) {
        console.log(`run ${run + 1}/${RUNS}: ${tracked.length} reports, ${((Date.now() - started) / 1000).toFixed(0)} s, faults ${JSON.stringify(faults)}`);
      }
    }
    const runsSeconds = (Date.now() - started) / 1000;

    // settle: faults stop, the pool is whole again, the remaining takedowns happen
    while (background.size > 0) await Promise.all([...background]);
    await checkRunInvariants(RUNS);
    const settleStarted = Date.now();
    const expected = (t: Tracked) => (t.takeDown ? 'removed' : 'notified');
    let unsettled: string[] = [];
    let unsettledIds: string[] = [];
    let nextProgress = Date.now() + 30_000;
    await until(async () => {
      await takeDownNotified();
      const rows = await q<{ id: string; status: string }>('SELECT id, status FROM reports');
      const status = new Map(rows.map((r) => [r.id, r.status]));
      const sent = await q<{ report_id: string; kind: string }>("SELECT report_id, kind FROM notices WHERE status = 'sent'");
      const sentKey = new Set(sent.map((s) => `${s.report_id}/${s.kind}`));
      const open = tracked.filter((t) => !(status.get(t.id) === expected(t)
        && sentKey.has(`${t.id}/initial`) && (!t.takeDown || sentKey.has(`${t.id}/removal_confirmed`))));
      unsettled = open.map((t) => `${t.url} (${status.get(t.id)}, expected ${expected(t)})`);
      unsettledIds = open.map((t) => t.id);
      if (unsettled.length > 0 && Date.now() > nextProgress) {
        nextProgress = Date.now() + 30_000;
        const pending = await q<{ kind: string; recipient_id: string; attempts: number; next_attempt_at: Date | null; last_error: string | null }>(
          "SELECT kind, recipient_id, attempts, next_attempt_at, last_error FROM notices WHERE status = 'pending' ORDER BY next_attempt_at");
        console.log(`settling, ${((Date.now() - settleStarted) / 1000).toFixed(0)} s: ${unsettled.length} unsettled (${unsettled.slice(0, 5).join('; ')}); pending notices: `
          + pending.map((n) => `${n.kind}→${n.recipient_id} ×${n.attempts} next ${n.next_attempt_at ? `${((n.next_attempt_at.getTime() - Date.now()) / 1000).toFixed(0)} s` : '-'} (${n.last_error})`).join('; ')
          + `\nthe daemons' log about the first (${unsettledIds[0]}):\n${logsAbout(unsettledIds[0]!)}`);
      }
      return unsettled.length === 0;
    }, SETTLE_MS, 'every report to settle (notified, or removed with its removal notice sent)', 1000)
      .catch((err: Error) => { throw new Error(`${err.message} (seed ${SEED}); unsettled: ${unsettled.join('; ')}`); });
    const settleSeconds = (Date.now() - settleStarted) / 1000;
    await checkRunInvariants(RUNS);

    // the outbox: one row per event (the UNIQUE event_key), exactly one removal notice per removal
    const notices = await q<{ id: string; report_id: string; recipient_id: string; kind: string; sequence: number; status: string }>(
      'SELECT id, report_id, recipient_id, kind, sequence, status FROM notices');
    const perEvent = new Map<string, number>();
    for (const n of notices) {
      const key = `${n.report_id}/${n.recipient_id}/${n.kind}/${n.sequence}`;
      perEvent.set(key, (perEvent.get(key) ?? 0) + 1);
    }
    expect([...perEvent].filter(([, c]) => c > 1), 'no event with two notices').toEqual([]);
    for (const t of tracked) {
      const removal = notices.filter((n) => n.report_id === t.id && n.kind === 'removal_confirmed');
      if (t.takeDown) {
        expect(removal.map((n) => [n.recipient_id, n.status]), `removal of ${t.url} notified once`).toEqual([[t.recipient, 'sent']]);
      } else {
        expect(removal, `${t.url} was never removed`).toEqual([]);
      }
    }

    // the receivers' view: one id per event; each report's notices arrived where they belong, under the outbox id
    const view = emailView(world.smtp.messages, webhookView(world.webhooks.deliveries));
    expect(view.malformed, 'every delivery says what event it is, under one id').toEqual([]);
    const events = [...view.events.values()];
    const outboxIds = new Set(notices.map((n) => n.id));
    expect(events.filter((e) => e.ids.size > 1).map((e) => `${e.channel} ${e.type} ${e.reportIds.join(',')} ${e.recipient} #${e.sequence}: `
      + [...e.ids].map((id) => `${id}${outboxIds.has(id) ? '' : ' (not in the outbox)'}`).join(', ')),
    `no event delivered under two ids (seed ${SEED})`).toEqual([]);
    const wrongAddress = world.smtp.messages.filter((m) => !m.envelope.rcptTo.every((a) => /^hotline-(be|fr)@hotlines\.example\.test$/.test(a)));
    expect(wrongAddress.map((m) => m.envelope.rcptTo), 'e-mail goes only to the e-mail hotlines').toEqual([]);
    const noticeId = new Map(notices.map((n) => [`${n.report_id}/${n.kind}`, n.id]));
    const arrived = (t: Tracked, type: string) => events.filter((e) => e.type === type && e.reportIds.includes(t.id));
    const misdelivered: string[] = [];
    for (const t of tracked) {
      const channel = EMAIL_COUNTRIES.has(t.recipient.slice(-2).toUpperCase()) ? 'email' : 'webhook';
      for (const [kind, should] of [['initial', true], ['removal_confirmed', t.takeDown]] as const) {
        const got = arrived(t, `notice.${kind}`).map((e) => `${e.channel}/${e.recipient}/${[...e.ids].join(' ')}`);
        const want = should ? [`${channel}/${t.recipient}/${noticeId.get(`${t.id}/${kind}`)}`] : [];
        if (JSON.stringify(got) !== JSON.stringify(want)) misdelivered.push(`${t.url} ${kind}: got [${got.join('; ')}], want [${want.join('; ')}]`);
      }
    }
    expect(misdelivered, 'each notice arrived once-as-one-id at its recipient').toEqual([]);

    const count = (channel: string, type?: string) => events.filter((e) => e.channel === channel && (!type || e.type === type));
    const summary = {
      seed: SEED, runs: RUNS, postgres: PG_MODE, reports: tracked.length, removals: tracked.filter((t) => t.takeDown).length,
      runsSeconds: Math.round(runsSeconds), settleSeconds: Math.round(settleSeconds), faults,
      sigterms: {
        count: termResults.length, fetchesInFlightAtSigterm: termResults.map((r) => r.busy),
        handedBack: termResults.filter((r) => r.released > 0).length, jobsHandedBack: termResults.reduce((s, r) => s + r.released, 0),
        maxStopMs: Math.max(0, ...termResults.map((r) => r.stopMs)), maxExitMs: Math.max(0, ...termResults.map((r) => r.ms)),
      },
      notices: notices.length,
      webhook: { deliveries: count('webhook').reduce((s, e) => s + e.deliveries, 0), events: count('webhook').length, removals: count('webhook', 'notice.removal_confirmed').length },
      email: { messages: count('email').reduce((s, e) => s + e.deliveries, 0), events: count('email').length, removals: count('email', 'notice.removal_confirmed').length },
      processesStarted: everStarted.length,
    };
    console.log(`fault series summary: ${JSON.stringify(summary)}`);
  }, 1_800_000);
});
