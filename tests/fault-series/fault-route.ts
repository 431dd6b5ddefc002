/**
 * The routes the fault series' reports point at, and a way to see which daemon is fetching now.
 *
 * A route answers a synthetic page (live) or 404 (gone), after an optional latency. Every daemon
 * of the series fetches with a user-agent of its own (`crawler.userAgent`), so a slow route knows
 * which process is waiting on it: {@link InFlight} counts the requests being answered per
 * user-agent and tells, by event, when one arrives — "this worker is busy", without sleeping.
 */
import { EventEmitter } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';

/** Requests held by a route's latency, per user-agent. */
export class InFlight {
  readonly #counts = new Map<string, number>();
  readonly #events = new EventEmitter();

  count(userAgent: string): number {
    return this.#counts.get(userAgent) ?? 0;
  }

  enter(userAgent: string): () => void {
    this.#counts.set(userAgent, this.count(userAgent) + 1);
    this.#events.emit('enter', userAgent);
    let left = false;
    return () => {
      if (left) return;
      left = true;
      const n = this.count(userAgent) - 1;
      if (n > 0) this.#counts.set(userAgent, n);
      else this.#counts.delete(userAgent);
    };
  }

  /**
   * Resolves with a user-agent that has a request in flight now and that `accept`s, at once or
   * when the next such request arrives.
   * @throws Error after `timeoutMs` without one.
   */
  waitFor(accept: (userAgent: string) => boolean, timeoutMs: number): Promise<string> {
    const now = [...this.#counts.keys()].find(accept);
    if (now !== undefined) return Promise.resolve(now);
    return new Promise((resolve, reject) => {
      const onEnter = (ua: string) => {
        if (!accept(ua)) return;
        clearTimeout(timer);
        this.#events.off('enter', onEnter);
        resolve(ua);
      };
      const timer = setTimeout(() => {
        this.#events.off('enter', onEnter);
        reject(new Error(`no request in flight from an accepted user-agent within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#events.on('enter', onEnter);
    });
  }
}

export interface FaultRoute {
  mode: 'live' | 'gone';
  /** how long each request waits before its answer; 0 answers at once */
  latencyMs: number;
  /** requests received so far */
  readonly hits: number;
}

type Host = { route(method: string, path: string, handler: (req: IncomingMessage, res: ServerResponse) => void): void };

/** A route on a world host that answers as `mode` says, after `latencyMs`, counted in `inFlight`. */
export function faultRoute(host: Host, path: string, inFlight: InFlight): FaultRoute {
  const state: FaultRoute & { hits: number } = { mode: 'live', latencyMs: 0, hits: 0 };
  const answer = (res: ServerResponse) => {
    if (res.destroyed || res.writableEnded) return;
    const live = state.mode === 'live';
    res.writeHead(live ? 200 : 404, { 'content-type': 'text/html; charset=utf-8' });
    res.end(live ? '<html><body><p>a synthetic page</p></body></html>' : '<h1>404</h1>');
  };
  host.route('GET', path, (req, res) => {
    state.hits++;
    if (state.latencyMs <= 0) { answer(res); return; }
    const leave = inFlight.enter(String(req.headers['user-agent'] ?? ''));
    const timer = setTimeout(() => { leave(); answer(res); }, state.latencyMs);
    // the client gave up (killed, aborted at its deadline): no longer in flight
    res.once('close', () => { clearTimeout(timer); leave(); });
  });
  return state;
}
