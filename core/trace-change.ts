/**
 * Rules about hosting changes (CONTRACT.md §5: "If hosting moves to another country, the new
 * country's recipients are told; re-alerts follow the move"). Pure: the caller passes the
 * previous and current hosting, and `now`.
 */
import type { ReportStatus, Verdict } from './report-status.js';
import type { Hosting } from './store.js';

export interface HostingChange {
  /** the content is now hosted in another country: the notifier routes to the new country */
  countryChanged: boolean;
  /** the content is now served from another address */
  ipChanged: boolean;
}

const UNCHANGED: HostingChange = Object.freeze({ countryChanged: false, ipChanged: false });

/** IPv4-mapped IPv6 in dotted form is the IPv4 address; case does not matter in IPv6. */
function sameIp(a: string, b: string): boolean {
  const norm = (ip: string): string => ip.trim().toLowerCase().replace(/^::ffff:(?=\d{1,3}(\.\d{1,3}){3}$)/, '');
  return norm(a) === norm(b);
}

const normCountry = (c: string | null): string | null => (c === null || c.trim() === '' ? null : c.trim().toUpperCase());

/**
 * Whether hosting moved between two traces.
 *
 * - A trace that found no address (`current` null or `current.ip` null) says nothing about where
 *   the content is: no change.
 * - The first located trace (`previous` null or `previous.ip` null) is where routing starts, not
 *   a move: no change.
 * - Otherwise `ipChanged` compares addresses, and `countryChanged` compares countries, a move to
 *   or from an unknown country (null) included — CONTRACT.md §5 routes an unknown country to the
 *   `"*"` recipient, so that too is a new routing.
 */
export function hostingChanged(previous: Hosting | null, current: Hosting | null): HostingChange {
  if (current === null || current.ip === null) return UNCHANGED;
  if (previous === null || previous.ip === null) return UNCHANGED;
  return {
    ipChanged: !sameIp(previous.ip, current.ip),
    countryChanged: normCountry(previous.country) !== normCountry(current.country),
  };
}

export interface RetraceInput {
  /** the last trace's hosting and time; null when never traced */
  last: { hosting: Hosting | null; tracedAt: Date } | null;
  /** the address the latest check connected to, if known */
  observedIp: string | null;
  now: Date;
  /** re-trace at least this often, ms (the schedule) */
  everyMs: number;
}

/**
 * Whether to trace again: never traced, the last trace found no address, a check saw a
 * different address, or the last trace is older than `everyMs`.
 */
export function shouldRetrace(input: RetraceInput): boolean {
  const { last, observedIp, now, everyMs } = input;
  if (last === null || last.hosting === null || last.hosting.ip === null) return true;
  if (observedIp !== null && !sameIp(observedIp, last.hosting.ip)) return true;
  return now.getTime() - last.tracedAt.getTime() >= everyMs;
}

export interface AfterTraceInput {
  /** the report's hosting before this trace; null when never traced */
  previous: Hosting | null;
  /** what this trace found */
  current: Hosting;
  status: ReportStatus;
  verdict: Verdict | null;
}

const ALERTING: ReadonlySet<ReportStatus> = new Set(['live', 'notified']);

/**
 * What a trace changes for the notifier: whether its decision is due now (CONTRACT.md §5
 * "If hosting moves to another country, the new country's recipients are told").
 *
 * - `decideNow`, for a live or notified report with verdict `illegal`: the country moved, or this
 *   is the first trace (or the first to find an address) — routing starts here.
 * - `keepHosting`: a trace that found no address says nothing about where the content is; the
 *   report keeps the hosting it had (but the first trace is written whatever it found).
 */
export function afterTrace(input: AfterTraceInput): { decideNow: boolean; keepHosting: boolean } {
  const { previous, current, status, verdict } = input;
  const keepHosting = previous !== null && current.ip === null;
  const alerting = ALERTING.has(status) && verdict === 'illegal';
  // the first trace, or the first one that found an address after traces that found none
  const located = previous === null || (previous.ip === null && current.ip !== null);
  const moved = hostingChanged(previous, current).countryChanged;
  return { decideNow: alerting && (located || moved), keepHosting };
}
