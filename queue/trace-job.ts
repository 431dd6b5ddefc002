/**
 * The trace job: load the report, trace its URL (core/tracer.ts), persist the trace and the
 * report's hosting atomically. Whether routing changed — a first located trace of a live illegal
 * report, a move to another country — is the rule in core/trace-change.ts, applied by the store
 * in that write (under the report's row lock) by making the report's notice decision due now; the
 * outbox dispatcher does the rest (README "Notices").
 *
 * Idempotent (BullMQ is at-least-once): a trace after a check is written under the job's
 * deterministic id `trace.<reportId>.<checkId>`, and the store writes a trace id once, so a
 * repeat changes nothing. An operator's ad-hoc trace (no check) gets a fresh id.
 *
 * Also here: the check job's question "trace now?" (`enqueueTraceAfterCheck`).
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { Clock } from '../core/clock.js';
import { isTerminal } from '../core/report-lifecycle.js';
import type { CheckOutcome } from '../core/report-status.js';
import type { LastTrace, Store } from '../core/store.js';
import { shouldRetrace } from '../core/trace-change.js';
import type { TraceRecord, Tracer } from '../core/tracer.js';
import { JOB_ID_SEPARATOR, type TracePayload } from './job-payloads.js';
import type { Queues } from './queues.js';

/** Re-trace live content at least this often even when its address has not changed. */
export const DEFAULT_RETRACE_EVERY_MS = 24 * 3600_000;

export interface TraceJobDeps {
  store: Pick<Store, 'getReportForCheck' | 'recordTrace'>;
  tracer: Tracer;
  clock: Clock;
  log: Logger;
  /** id of a trace without a check. @default randomUUID */
  newId?: () => string;
  /**
   * Told when this trace made the report's notice decision due, to decide it now rather than at
   * the outbox dispatcher's next tick (daemon/ wires the notifier's decider). A failure is only
   * logged: the decision stays due and the dispatcher makes it. @default none
   */
  onDecisionDue?: (reportId: string) => Promise<unknown>;
}

export interface TraceJobResult {
  traceId: string | null;
  /** false: report missing or closed, or this trace was already written */
  applied: boolean;
  /** the report's notice decision was made due (routing starts or moved) */
  decideNow: boolean;
  country: string | null;
}

/** The trace id of a payload: the job id when there is a check, else a fresh one. */
export function traceIdOf(payload: TracePayload, newId: () => string = randomUUID): string {
  return payload.checkId === undefined ? `trace${JOB_ID_SEPARATOR}${newId()}` : ['trace', payload.reportId, payload.checkId].join(JOB_ID_SEPARATOR);
}

/** The record as stored provenance: JSON, dates as ISO strings. It holds no content. */
function provenanceOf(record: TraceRecord): Record<string, unknown> {
  return JSON.parse(JSON.stringify(record)) as Record<string, unknown>;
}

export async function runTraceJob(payload: TracePayload, deps: TraceJobDeps, signal?: AbortSignal): Promise<TraceJobResult> {
  const log = deps.log.child({ reportId: payload.reportId, checkId: payload.checkId });
  const report = await deps.store.getReportForCheck(payload.reportId);
  if (!report) {
    log.warn('trace job for a report that does not exist; dropped');
    return { traceId: null, applied: false, decideNow: false, country: null };
  }
  if (isTerminal(report.status)) {
    log.info({ status: report.status }, 'report is no longer monitored; trace dropped');
    return { traceId: null, applied: false, decideNow: false, country: null };
  }
  const traceId = traceIdOf(payload, deps.newId);
  const record = await deps.tracer.trace(report.url, { observedIp: payload.ip ?? null, signal });
  // Stopped by vigil itself (shutdown): lookups cut short say nothing; the job runs again.
  if (signal?.aborted) throw signal.reason instanceof Error ? signal.reason : new Error('trace aborted');
  const recorded = await deps.store.recordTrace({
    id: traceId,
    reportId: report.id,
    checkId: payload.checkId ?? null,
    tracedAt: record.tracedAt,
    hosting: record.hosting,
    provenance: provenanceOf(record),
    now: deps.clock.now(),
  });
  // Hosting and contact status only: never the URL's content (there is none in a trace).
  log.info({
    traceId, applied: recorded.applied, decideNow: recorded.decideNow, country: record.hosting.country, asn: record.hosting.asn,
    viaCdn: record.hosting.viaCdn, ipSource: record.ipSource, contactStatus: record.contactStatus, previousCountry: recorded.previous?.country ?? null,
  }, recorded.applied ? 'trace done' : 'trace already recorded; not applied again');
  if (recorded.decideNow && deps.onDecisionDue) {
    try {
      await deps.onDecisionDue(report.id);
    } catch (err) {
      log.warn({ err }, 'deciding notices after the trace failed; the outbox dispatcher decides them');
    }
  }
  return { traceId, applied: recorded.applied, decideNow: recorded.decideNow, country: record.hosting.country };
}

/** What the check job needs to ask for traces. */
export interface TraceAfterCheckDeps {
  queues: Pick<Queues, 'add'>;
  /** reads the last trace when the caller does not pass it (the check job does: read with the report) */
  store?: Pick<Store, 'getLastTrace'>;
  /** @default DEFAULT_RETRACE_EVERY_MS */
  retraceEveryMs?: number;
}

/** The address as a trace payload takes it: IPv4-mapped IPv6 as IPv4; null if it is no address. */
function payloadIp(address: string | null): string | undefined {
  if (address === null) return undefined;
  const ip = address.trim().replace(/^::ffff:(?=\d{1,3}(\.\d{1,3}){3}$)/i, '');
  return /^[\d.]+$/.test(ip) || ip.includes(':') ? ip : undefined;
}

/**
 * After a check that saw the content live: queue a trace (`trace.<reportId>.<checkId>`) when the
 * report was never traced, the check connected to another address than the last trace found,
 * or the last trace is older than `retraceEveryMs` (core/trace-change.ts `shouldRetrace`).
 * Adding the same trace twice is a no-op (deterministic job id).
 * `check.lastTrace`: the report's last trace as the caller read it (null: never traced);
 * omitted: read from `deps.store`.
 * @returns whether a trace was queued
 * @throws Error from Redis when it is unreachable (the check job is retried and asks again);
 *   Error when neither `check.lastTrace` nor `deps.store` is given
 */
export async function enqueueTraceAfterCheck(
  check: { reportId: string; checkId: string; outcome: CheckOutcome | null; remoteAddress: string | null; lastTrace?: LastTrace | null },
  deps: TraceAfterCheckDeps,
  now: Date,
): Promise<boolean> {
  if (check.outcome !== 'live') return false;
  const ip = payloadIp(check.remoteAddress);
  const last = check.lastTrace !== undefined ? check.lastTrace : await lastTraceFrom(deps, check.reportId);
  if (!shouldRetrace({ last, observedIp: ip ?? null, now, everyMs: deps.retraceEveryMs ?? DEFAULT_RETRACE_EVERY_MS })) return false;
  await deps.queues.add('trace', { reportId: check.reportId, checkId: check.checkId, ...(ip === undefined ? {} : { ip }) });
  return true;
}

function lastTraceFrom(deps: TraceAfterCheckDeps, reportId: string): Promise<LastTrace | null> {
  if (!deps.store) throw new Error('enqueueTraceAfterCheck needs the last trace or a store to read it from');
  return deps.store.getLastTrace(reportId);
}
