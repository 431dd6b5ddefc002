/**
 * Helpers for the lifecycle, queue and fault tests: fake time, a scripted Fetcher, a fresh
 * PostgreSQL store, reports inserted through the real intake path.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Clock } from '../../core/clock.js';
import type { FetchRequest, FetchResult, Fetcher } from '../../core/fetcher.js';
import { openStore } from '../../store/open-store.js';
import type { SqlStore } from '../../store/sql-store.js';
import { createTestDatabase, uniqueId } from '../support/test-env.js';

/** Time that moves only when the test says so. */
export class FakeClock implements Clock {
  constructor(public t: number) {}
  now(): Date {
    return new Date(this.t);
  }
  advance(ms: number): Date {
    this.t += ms;
    return this.now();
  }
  set(at: Date): void {
    this.t = at.getTime();
  }
}

export type Scripted = 'live' | 'gone' | 'inconclusive' | FetchResult;

/** What each fetch of a URL returns: a fixed answer per URL (changeable), or a default. */
export class ScriptedFetcher implements Fetcher {
  readonly answers = new Map<string, Scripted>();
  readonly fetched: string[] = [];
  /** held fetches wait on this before answering */
  gate: Promise<void> | null = null;
  onFetch: ((url: string) => void) | null = null;

  constructor(public fallback: Scripted = 'live') {}

  async fetch(request: FetchRequest): Promise<FetchResult> {
    this.fetched.push(request.url);
    this.onFetch?.(request.url);
    if (this.gate) await this.gate;
    return resultOf(this.answers.get(request.url) ?? this.fallback, request.url);
  }

  async close(): Promise<void> {}
}

export function resultOf(answer: Scripted, url: string): FetchResult {
  if (typeof answer === 'object') return answer;
  const base = { headers: {}, finalUrl: url, redirects: 0, remoteAddress: '127.0.0.2', bodyBytes: 10, truncated: false, textSample: null, durationMs: 5 };
  switch (answer) {
    case 'live':
      return { kind: 'response', status: 200, ...base };
    case 'gone':
      return { kind: 'response', status: 404, ...base };
    case 'inconclusive':
      return { kind: 'response', status: 503, ...base };
  }
}

export interface TestStore {
  store: SqlStore;
  url: string;
  name: string;
  close(): Promise<void>;
}

/** A migrated store on a fresh PostgreSQL database of its own. */
export async function createTestStore(maxConnections = 10): Promise<TestStore> {
  const db = await createTestDatabase();
  const store = await openStore({ databaseUrl: db.url, dataDir: '/nonexistent-unused', maxConnections });
  return {
    store,
    url: db.url,
    name: db.name,
    async close() {
      await store.close().catch(() => undefined);
      await db.drop();
    },
  };
}

/** Submits `urls` (as one force's submission) at `now`; returns the report ids in order. */
export async function submitReports(store: SqlStore, urls: string[], now: Date, verdict: 'illegal' | 'not_illegal' | null = null): Promise<string[]> {
  const forceId = uniqueId('force');
  await store.createForce({ id: forceId, name: `Force ${forceId}` });
  await store.createSubmission({
    id: randomUUID(), forceId, reference: null, now,
    items: urls.map((url, i) => ({ line: i + 1, input: url, url, initialStatus: 'pending', verdict })),
  });
  const { rows } = await store.sql.query<{ id: string; url: string }>('SELECT id, url FROM reports WHERE url = ANY($1::text[])', [urls]);
  const byUrl = new Map(rows.map((r) => [r.url, r.id]));
  return urls.map((u) => byUrl.get(u) as string);
}

/** Waits until `probe` returns a truthy value, polling every `everyMs`; rejects after `timeoutMs`. */
export async function until<T>(probe: () => Promise<T | null | undefined | false>, timeoutMs: number, what: string, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** What a {@link switchableRoute} answers now. */
export type RouteMode = 'live' | 'gone' | 'inconclusive' | 'hold';

export interface SwitchableRoute {
  mode: RouteMode;
  /** requests received so far */
  readonly hits: number;
  /** resolves at the next request that arrives while the route holds */
  nextHeld(): Promise<void>;
  /** answer every held request as `mode` now (and later ones too) */
  release(mode: Exclude<RouteMode, 'hold'>): void;
}

/**
 * A route on a world host whose answer the test switches: a page (live), 404 (gone), 503
 * (inconclusive), or no answer at all until released (a check held mid-fetch).
 */
export function switchableRoute(host: { route(method: string, path: string, handler: (req: IncomingMessage, res: ServerResponse) => void): void }, path: string, mode: RouteMode = 'live'): SwitchableRoute {
  const held: ServerResponse[] = [];
  const heldWaiters: (() => void)[] = [];
  let hits = 0;
  const state = { mode };
  const answer = (res: ServerResponse, m: Exclude<RouteMode, 'hold'>) => {
    if (res.destroyed || res.writableEnded) return;
    const status = m === 'live' ? 200 : m === 'gone' ? 404 : 503;
    res.writeHead(status, { 'content-type': 'text/html; charset=utf-8' });
    res.end(m === 'live' ? '<html><body><p>a synthetic page</p></body></html>' : `<h1>${status}</h1>`);
  };
  host.route('GET', path, (_req, res) => {
    hits++;
    if (state.mode === 'hold') {
      held.push(res);
      heldWaiters.splice(0).forEach((w) => w());
      return;
    }
    answer(res, state.mode);
  });
  return {
    get mode() { return state.mode; },
    set mode(m: RouteMode) { state.mode = m; },
    get hits() { return hits; },
    nextHeld: () => new Promise<void>((resolve) => heldWaiters.push(resolve)),
    release(m) {
      state.mode = m;
      held.splice(0).forEach((res) => answer(res, m));
    },
  };
}
