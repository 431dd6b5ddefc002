/**
 * Deciding a report's notices: load what the planner needs (one read), run the pure rules
 * (core/notice-cadence.ts), and write the notices with the next decision time and routing flag
 * atomically (one statement; none when there is nothing to write). Idempotent: the notices are
 * keyed by event, so running it twice, or beside the lifecycle's own call in its check
 * transaction, writes each notice once.
 *
 * Run by the outbox dispatcher for every report whose `next_realert_at` is due (re-alerts,
 * escalations, the end of an evidence hold, a retry after a fresh check). When an initial notice
 * waits for a fresh check, it asks for one (`Store.requestCheck`) and decides again later.
 */
import type { Logger } from 'pino';
import type { Clock } from '../core/clock.js';
import { planNotices, type CadenceSchedule, type NoticePlan } from '../core/notice-cadence.js';
import type { CreatedNotice, NoticeContext } from '../core/notice-outbox.js';
import type { RoutingDirectory } from '../core/routing.js';
import type { Store } from '../core/store.js';
import type { VigilConfig } from '../config/config-schema.js';

export interface DecideNoticesDeps {
  store: Pick<Store, 'getNoticeContext' | 'applyNotification' | 'requestCheck'>;
  directory: RoutingDirectory;
  schedule: CadenceSchedule;
  clock: Clock;
  log: Logger;
}

/** After asking for a fresh check, decide again this much later (the check has run by then). */
export const FRESH_CHECK_WAIT_MS = 120_000;

/** The cadence parameters from the configuration. */
export function cadenceFromConfig(config: Pick<VigilConfig, 'schedule'>): CadenceSchedule {
  return {
    realert: { ...config.schedule.realert },
    escalateAfterRealerts: config.schedule.escalate.afterRealerts,
    freshCheckMs: config.schedule.recheck.notified,
    freshCheckWaitMs: FRESH_CHECK_WAIT_MS,
  };
}

/** The planner's input from a stored context. */
export function planFromContext(ctx: NoticeContext, deps: Pick<DecideNoticesDeps, 'directory' | 'schedule'>, now: Date): NoticePlan {
  return planNotices({
    subject: {
      reportId: ctx.reportId,
      status: ctx.status,
      verdict: ctx.verdict,
      hosting: ctx.hosting,
      holdUntil: ctx.holdUntil,
      lastCheckedAt: ctx.lastCheckedAt,
      lastOutcome: ctx.lastOutcome,
      episode: ctx.episode,
      trace: ctx.trace,
      forcesWithWebhook: ctx.forcesWithWebhook,
    },
    history: ctx.history,
    directory: deps.directory,
    schedule: deps.schedule,
    now,
  });
}

/** @returns null when the report does not exist */
export async function decideNotices(reportId: string, deps: DecideNoticesDeps): Promise<(NoticePlan & { created: CreatedNotice[] }) | null> {
  const now = deps.clock.now();
  const ctx = await deps.store.getNoticeContext(reportId);
  if (!ctx) return null;
  const plan = planFromContext(ctx, deps, now);
  const { created } = await deps.store.applyNotification({
    reportId, notices: plan.notices, nextRealertAt: plan.nextRealertAt, flag: plan.flag, now,
  });
  if (plan.needsFreshCheck) await deps.store.requestCheck(reportId, now);
  if (created.length > 0 || plan.needsFreshCheck || plan.flag) {
    deps.log.info({
      reportId, created: created.map((c) => ({ id: c.id, kind: c.kind, recipient: c.recipientId })),
      needsFreshCheck: plan.needsFreshCheck, flag: plan.flag, nextRealertAt: plan.nextRealertAt, episode: plan.episode,
    }, 'notices decided');
  }
  return { ...plan, created };
}
