/**
 * When who is told what (CONTRACT.md §5 notice kinds, §3 `schedule.realert`, `schedule.escalate`),
 * as pure rules: given a report's state after a change, the notices it already has, the directory
 * and `now`, which notices should exist and when to decide again.
 *
 * The plan is declarative and idempotent: every notice carries an event key (notice-kinds.ts),
 * notices whose key is already in the history are left out, and the outbox drops any that race
 * in twice. So the planner can be run after any change, or again later, without harm.
 *
 * Rules (alerts need verdict `illegal`):
 * - **episode**: monitoring episodes are numbered from 1, and a new one starts each time removed
 *   content reappears (the lifecycle's `reopen_count + 1`): reappearance is news, told afresh.
 *   Without that count the episode is derived from the history (a removal notice closes one).
 * - **initial**: status `live` or `notified`, last check `live`: every recipient routed for the
 *   current hosting (routing.ts) that has no `initial` in this episode gets one — so a hosting move
 *   tells the new country's recipients. Before an initial, the last check must be no older than
 *   `freshCheckMs`; if it is, nothing is sent and `needsFreshCheck` asks the caller to check first.
 * - **taskforce_alert**: with the initials, every task force for the country, once per episode per
 *   hosting location (country and address).
 * - **realert**: while the last check is `live`, to the recipients routed now that were told in
 *   this episode ("re-alerts follow the move"): the first `realert.first` after the episode's first
 *   initial, then every `realert.every` after the previous one, `sequence` 2, 3, … up to
 *   `realert.max` re-alerts. A re-alert falling due while the last check was not `live` waits
 *   (decided again after `freshCheckMs`).
 * - **escalation**: at the first re-alert due time after `escalateAfterRealerts` re-alerts went
 *   out, once per episode, to the law-enforcement recipient for the country or `"*"`.
 * - **hosting provider** (`directory.hostingProviders.notify`): with the initials, and whatever
 *   the routing (an unknown country too), each abuse desk of the hosting network that the latest
 *   trace found (core/hosting-contacts.ts) gets an `initial` by e-mail, once per episode (rule
 *   `hosting_provider`); it gets the re-alerts while the trace still names it, as a recipient
 *   does, but never an escalation or a task-force alert.
 * - **removal_confirmed**: status `removed`: to every recipient (and abuse desk) told anything in this episode;
 *   and `report.removed` to every force monitoring the report that registered a webhook (whatever
 *   the verdict: a force follows all its reports).
 * - **evidence hold**: before `holdUntil` no notice of any kind is planned (force events
 *   included: CONTRACT.md §4 "no notices before until"); the plan says to decide again at
 *   `holdUntil`.
 */
import { eventKeys, type NewNotice, type NoticeKind, type NoticeReason, type NoticeTarget } from './notice-kinds.js';
import type { CheckOutcome, ReportStatus, Verdict } from './report-status.js';
import { escalationRecipient, routeReport, type Route, type RoutingDirectory, type RoutingFlag } from './routing.js';

/** The cadence parameters, durations in ms. */
export interface CadenceSchedule {
  /** `schedule.realert` */
  realert: { first: number; every: number; max: number };
  /** `schedule.escalate.afterRealerts` */
  escalateAfterRealerts: number;
  /** an initial notice needs a check no older than this; vigil uses `schedule.recheck.notified` */
  freshCheckMs: number;
  /** after asking for a fresh check, decide again this much later */
  freshCheckWaitMs: number;
}

/** One notice a report already has (any status: pending, sent or failed). */
export interface NoticeHistoryEntry {
  kind: NoticeKind;
  target: NoticeTarget;
  recipientId: string;
  sequence: number;
  episode: number;
  eventKey: string;
  createdAt: Date;
}

/** A report's state, after the change that prompts the decision. */
export interface NoticeSubject {
  reportId: string;
  status: ReportStatus;
  verdict: Verdict | null;
  hosting: { ip: string | null; country: string | null } | null;
  holdUntil: Date | null;
  lastCheckedAt: Date | null;
  /** outcome of the latest check; null when never checked */
  lastOutcome: CheckOutcome | null;
  /** the monitoring episode (`reopen_count + 1`); null: derive it from the history */
  episode?: number | null;
  /** the trace the hosting came from, with the abuse desks it found (core/hosting-contacts.ts) */
  trace: { id: string; databases: NoticeReason['databases']; abuseEmails?: readonly string[] } | null;
  /** forces monitoring the report that registered a webhook */
  forcesWithWebhook: readonly string[];
}

export interface NoticePlanInput {
  subject: NoticeSubject;
  history: readonly NoticeHistoryEntry[];
  directory: RoutingDirectory;
  schedule: CadenceSchedule;
  now: Date;
}

export interface NoticePlan {
  /** notices to write (none of them in the history) */
  notices: NewNotice[];
  /** when to decide again (`reports.next_realert_at`); null: only after the next change */
  nextRealertAt: Date | null;
  /** an initial is due but the last check is too old: check first, then decide again */
  needsFreshCheck: boolean;
  /** recipient notices held back by an evidence hold until this time */
  heldUntil: Date | null;
  /** routing could not place the report normally (shown on /admin); null clears it */
  flag: RoutingFlag | null;
  episode: number;
}

const ACTIVE: ReadonlySet<ReportStatus> = new Set(['live', 'notified']);
const ALERT_KINDS: ReadonlySet<NoticeKind> = new Set(['initial', 'realert', 'escalation', 'taskforce_alert']);
const CLOSING_KINDS: ReadonlySet<NoticeKind> = new Set(['removal_confirmed', 'report_removed']);

const later = (at: Date, ms: number): Date => new Date(at.getTime() + ms);
const earliest = (...dates: (Date | null)[]): Date | null =>
  dates.reduce<Date | null>((min, d) => (d !== null && (min === null || d.getTime() < min.getTime()) ? d : min), null);

/**
 * The current monitoring episode: the highest in the history (1 when none), plus one when that
 * episode was closed by a confirmed removal and the report is live again.
 */
export function currentEpisode(history: readonly NoticeHistoryEntry[], status: ReportStatus): number {
  const max = history.reduce((m, h) => Math.max(m, h.episode), 1);
  const closed = history.some((h) => h.episode === max && CLOSING_KINDS.has(h.kind));
  return closed && ACTIVE.has(status) ? max + 1 : max;
}

function reasonOf(subject: NoticeSubject, rule: string, country: string | null, flag: RoutingFlag | null): NoticeReason {
  return {
    rule,
    country,
    ip: subject.hosting?.ip ?? null,
    traceId: subject.trace?.id ?? null,
    databases: subject.trace?.databases ?? [],
    ...(flag === null ? {} : { flag }),
  };
}

const EMPTY = (episode: number): NoticePlan => ({ notices: [], nextRealertAt: null, needsFreshCheck: false, heldUntil: null, flag: null, episode });

/** Which notices a report should have now, and when to decide again. */
export function planNotices(input: NoticePlanInput): NoticePlan {
  const { subject, history } = input;
  const episode = subject.episode ?? currentEpisode(history, subject.status);
  // A force hears of the removal of any report it monitors; recipients only of what they were told.
  if (subject.status === 'removed') return noticesForRemoval({ subject, history, now: input.now });
  if (subject.verdict !== 'illegal') return EMPTY(episode);
  if (!ACTIVE.has(subject.status)) return EMPTY(episode);
  return planActive(input, episode);
}

function planActive(input: NoticePlanInput, episode: number): NoticePlan {
  const { subject, history, directory, schedule, now } = input;
  const routing = routeReport(directory, subject.hosting?.country ?? null);
  const held = subject.holdUntil !== null && subject.holdUntil.getTime() > now.getTime() ? subject.holdUntil : null;
  if (held) return { ...EMPTY(episode), nextRealertAt: held, heldUntil: held, flag: routing.flag };

  const existing = new Set(history.map((h) => h.eventKey));
  const inEpisode = history.filter((h) => h.episode === episode);
  const isLive = subject.lastOutcome === 'live';
  const reason = (rule: string) => reasonOf(subject, rule, routing.country, routing.flag);
  const notice = (kind: NoticeKind, route: Route, eventKey: string, sequence = 1): NewNotice => ({
    kind, target: 'recipient', recipientId: route.recipientId, reportId: subject.reportId, submissionId: null,
    sequence, episode, eventKey, reason: reason(route.rule),
  });

  // The hosting network's abuse desks, when the directory says to tell them (e-mail addresses).
  const desks = directory.hostingProviders?.notify === true ? subject.trace?.abuseEmails ?? [] : [];
  const deskNotice = (kind: 'initial' | 'realert', email: string, eventKey: string, sequence = 1): NewNotice => ({
    kind, target: 'hosting_provider', recipientId: email, reportId: subject.reportId, submissionId: null,
    sequence, episode, eventKey, reason: reason('hosting_provider'),
  });

  // Wave: initial notices to newly routed recipients (and abuse desks), task-force alerts for a new location.
  const wave: NewNotice[] = [
    ...routing.recipients.map((r) => notice('initial', r, eventKeys.initial(subject.reportId, episode, r.recipientId))),
    ...desks.map((email) => deskNotice('initial', email, eventKeys.initial(subject.reportId, episode, email))),
  ].filter((n) => !existing.has(n.eventKey));
  if (routing.country !== null) {
    const ip = subject.hosting?.ip ?? 'unknown';
    wave.push(...routing.taskForces
      .map((r) => notice('taskforce_alert', r, eventKeys.taskforce(subject.reportId, episode, routing.country as string, ip, r.recipientId)))
      .filter((n) => !existing.has(n.eventKey)));
  }
  const notices: NewNotice[] = [];
  let needsFreshCheck = false;
  let waveRetryAt: Date | null = null;
  if (wave.length > 0) {
    const stale = subject.lastCheckedAt === null || now.getTime() - subject.lastCheckedAt.getTime() > schedule.freshCheckMs;
    if (!isLive) waveRetryAt = later(now, schedule.freshCheckMs);
    else if (stale) { needsFreshCheck = true; waveRetryAt = later(now, schedule.freshCheckWaitMs); }
    else notices.push(...wave);
  }

  // Re-alerts and escalation, anchored on this episode's first initial (maybe one planned now).
  const initials = inEpisode.filter((h) => h.kind === 'initial');
  const anchors = [...initials.map((h) => h.createdAt), ...(notices.some((n) => n.kind === 'initial') ? [now] : [])];
  let realertAt: Date | null = null;
  if (anchors.length > 0) {
    // only those told before now: a recipient told just now gets its first re-alert next time
    const told = new Set(initials.map((h) => h.recipientId));
    const firstInitial = { createdAt: anchors.reduce((a, b) => (b.getTime() < a.getTime() ? b : a)) };
    const realerts = inEpisode.filter((h) => h.kind === 'realert');
    const sent = realerts.reduce((m, h) => Math.max(m, h.sequence - 1), 0);
    const lastRealert = realerts.filter((h) => h.sequence - 1 === sent).reduce<Date | null>(
      (m, h) => (m === null || h.createdAt.getTime() > m.getTime() ? h.createdAt : m), null);
    const dueAt = sent === 0 ? later(firstInitial.createdAt, schedule.realert.first) : later(lastRealert ?? firstInitial.createdAt, schedule.realert.every);
    const escalated = inEpisode.some((h) => h.kind === 'escalation');
    const { max } = schedule.realert;
    const after = schedule.escalateAfterRealerts;
    const hasMore = (n: number, esc: boolean) => n < max || (!esc && n >= after);

    if (hasMore(sent, escalated)) {
      if (now.getTime() < dueAt.getTime()) realertAt = dueAt;
      else if (!isLive) realertAt = later(now, schedule.freshCheckMs);
      else {
        let sentAfter = sent;
        if (sent < max) {
          const sequence = sent + 2;
          notices.push(...routing.recipients
            .filter((r) => told.has(r.recipientId))
            .map((r) => notice('realert', r, eventKeys.realert(subject.reportId, episode, sequence, r.recipientId), sequence))
            .filter((n) => !existing.has(n.eventKey)));
          notices.push(...desks
            .filter((email) => told.has(email))
            .map((email) => deskNotice('realert', email, eventKeys.realert(subject.reportId, episode, sequence, email), sequence))
            .filter((n) => !existing.has(n.eventKey)));
          sentAfter = sent + 1;
        }
        let escalatedAfter = escalated;
        if (!escalated && sent >= after) {
          const target = escalationRecipient(directory, routing.country);
          if (target) {
            const n = notice('escalation', target, eventKeys.escalation(subject.reportId, episode, target.recipientId));
            if (!existing.has(n.eventKey)) notices.push(n);
          }
          escalatedAfter = true; // nobody to escalate to is not a reason to try forever
        }
        realertAt = hasMore(sentAfter, escalatedAfter) ? later(now, schedule.realert.every) : null;
      }
    }
  }

  return { notices, nextRealertAt: earliest(waveRetryAt, realertAt), needsFreshCheck, heldUntil: null, flag: routing.flag, episode };
}

export interface RemovalInput {
  subject: Pick<NoticeSubject, 'reportId' | 'hosting' | 'holdUntil' | 'trace' | 'forcesWithWebhook' | 'episode'>;
  history: readonly NoticeHistoryEntry[];
  now: Date;
}

/**
 * Removal confirmed: `removal_confirmed` to every recipient told anything in the current episode,
 * and `report.removed` to every force with a webhook that monitors the report; nothing while an
 * evidence hold lasts (decide again at its end). Call it in the transaction that records the removal.
 */
export function noticesForRemoval(input: RemovalInput): NoticePlan {
  const { subject, history, now } = input;
  const episode = subject.episode ?? currentEpisode(history, 'removed');
  const held = subject.holdUntil !== null && subject.holdUntil.getTime() > now.getTime() ? subject.holdUntil : null;
  if (held) return { ...EMPTY(episode), nextRealertAt: held, heldUntil: held };
  const existing = new Set(history.map((h) => h.eventKey));
  const country = subject.hosting?.country ?? null;
  const base = { reportId: subject.reportId, submissionId: null, sequence: 1, episode };
  const notices: NewNotice[] = [];

  for (const forceId of subject.forcesWithWebhook) {
    const eventKey = eventKeys.reportRemoved(subject.reportId, episode, forceId);
    if (!existing.has(eventKey)) {
      notices.push({ ...base, kind: 'report_removed', target: 'force', recipientId: forceId, eventKey, reason: reasonOf(subject as NoticeSubject, 'force_webhook', country, null) });
    }
  }
  // recipients and abuse desks told in this episode (their ids never meet: a desk's has an `@`)
  const told = new Map<string, NoticeTarget>();
  for (const h of history) {
    if (h.episode === episode && (h.target === 'recipient' || h.target === 'hosting_provider') && ALERT_KINDS.has(h.kind) && !told.has(h.recipientId)) {
      told.set(h.recipientId, h.target);
    }
  }
  for (const [recipientId, target] of told) {
    const eventKey = eventKeys.removalConfirmed(subject.reportId, episode, recipientId);
    if (!existing.has(eventKey)) {
      notices.push({ ...base, kind: 'removal_confirmed', target, recipientId, eventKey, reason: reasonOf(subject as NoticeSubject, 'removal', country, null) });
    }
  }
  return { ...EMPTY(episode), notices };
}

/**
 * `submission.completed` to the submitting force, when every item of the submission has had its
 * first check and trace; null when the force registered no webhook.
 */
export function noticeForSubmissionCompleted(input: { submissionId: string; forceId: string; forceHasWebhook: boolean }): NewNotice | null {
  if (!input.forceHasWebhook) return null;
  return {
    kind: 'submission_completed', target: 'force', recipientId: input.forceId, reportId: null, submissionId: input.submissionId,
    sequence: 1, episode: 1, eventKey: eventKeys.submissionCompleted(input.submissionId),
    reason: { rule: 'force_webhook', country: null, ip: null, traceId: null, databases: [] },
  };
}
