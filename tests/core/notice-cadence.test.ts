/**
 * The notice cadence as tables over fake time: initial, re-alerts with their sequence, escalation,
 * removal, task forces, evidence hold, fresh-check rule, hosting moves and reappearance. Notices a
 * plan returns are appended to the history as the outbox would store them, so each test walks a
 * report's life step by step.
 */
import { describe, expect, it } from 'vitest';
import {
  currentEpisode, noticeForSubmissionCompleted, noticesForRemoval, planNotices,
  type CadenceSchedule, type NoticeHistoryEntry, type NoticePlan, type NoticeSubject,
} from '../../core/notice-cadence.js';
import type { RoutingDirectory } from '../../core/routing.js';

const H = 3_600_000;
const T0 = new Date('2030-03-01T00:00:00.000Z');
const at = (hours: number): Date => new Date(T0.getTime() + hours * H);

const DIR: RoutingDirectory = {
  homeCountry: 'GB',
  recipients: [
    { id: 'hotline-nl', kind: 'hotline', countries: ['NL'] },
    { id: 'le-nl', kind: 'law_enforcement', countries: ['NL'] },
    { id: 'pp-us', kind: 'police_partner', countries: ['US'] },
    { id: 'le-us', kind: 'law_enforcement', countries: ['US'] },
    { id: 'tf-nl', kind: 'task_force', countries: ['NL'] },
    { id: 'le-star', kind: 'law_enforcement', countries: ['*'] },
  ],
};

const SCHEDULE: CadenceSchedule = {
  realert: { first: 24 * H, every: 12 * H, max: 4 },
  escalateAfterRealerts: 3,
  freshCheckMs: 0.5 * H,
  freshCheckWaitMs: 0.1 * H,
};

const REPORT = '6f1c0a52-3f7e-4c1e-9a57-0a9d3c1f0b11';

function subject(over: Partial<NoticeSubject> = {}): NoticeSubject {
  return {
    reportId: REPORT, status: 'live', verdict: 'illegal', hosting: { ip: '127.0.0.2', country: 'NL' }, holdUntil: null,
    lastCheckedAt: T0, lastOutcome: 'live', trace: { id: 'trace-1', databases: [{ role: 'country', type: 'GeoLite2-Country', build: '2030-02-01T00:00:00.000Z' }] },
    forcesWithWebhook: [], ...over,
  };
}

/** Plans at `now` and stores the notices in `history`, as applyNotification would. */
function step(history: NoticeHistoryEntry[], now: Date, over: Partial<NoticeSubject> = {}, schedule = SCHEDULE, directory = DIR): NoticePlan {
  const s = subject({ lastCheckedAt: now, ...over });
  const plan = planNotices({ subject: s, history, directory, schedule, now });
  for (const n of plan.notices) {
    history.push({ kind: n.kind, target: n.target, recipientId: n.recipientId, sequence: n.sequence, episode: n.episode, eventKey: n.eventKey, createdAt: now });
  }
  return plan;
}

const summary = (plan: NoticePlan): string[] => plan.notices.map((n) => `${n.kind}:${n.recipientId}:${n.sequence}`);

describe('initial notices', () => {
  it('go out once a report is confirmed illegal and live, with task-force alerts, and re-alerts are scheduled', () => {
    const history: NoticeHistoryEntry[] = [];
    const plan = step(history, T0);
    expect(summary(plan)).toEqual(['initial:hotline-nl:1', 'taskforce_alert:tf-nl:1']);
    expect(plan.nextRealertAt).toEqual(at(24));
    expect(plan).toMatchObject({ needsFreshCheck: false, heldUntil: null, flag: null, episode: 1 });
    // planning again changes nothing: the event keys are in the history
    expect(step(history, at(1)).notices).toEqual([]);
  });

  it('record why they went where they went', () => {
    const [initial] = step([], T0).notices;
    expect(initial).toMatchObject({
      target: 'recipient', reportId: REPORT, submissionId: null, episode: 1, eventKey: `initial:${REPORT}:1:hotline-nl`,
      reason: { rule: 'country_hotline', country: 'NL', ip: '127.0.0.2', traceId: 'trace-1', databases: [{ role: 'country', type: 'GeoLite2-Country', build: '2030-02-01T00:00:00.000Z' }] },
    });
  });

  it.each([
    ['no verdict', { verdict: null }],
    ['not illegal', { verdict: 'not_illegal' as const }],
    ['pending', { status: 'pending' as const }],
    ['unreachable', { status: 'unreachable' as const }],
    ['rejected', { status: 'rejected' as const }],
    ['refused', { status: 'refused' as const }],
    ['expired', { status: 'expired' as const }],
  ])('none for a report that is %s', (_name, over) => {
    const plan = step([], T0, over);
    expect(plan.notices).toEqual([]);
    expect(plan.nextRealertAt).toBeNull();
  });

  it('need a check no older than the recheck interval: otherwise check first', () => {
    const stale = planNotices({ subject: subject({ lastCheckedAt: new Date(T0.getTime() - 0.5 * H - 1) }), history: [], directory: DIR, schedule: SCHEDULE, now: T0 });
    expect(stale).toMatchObject({ notices: [], needsFreshCheck: true, nextRealertAt: at(0.1) });
    const never = planNotices({ subject: subject({ lastCheckedAt: null }), history: [], directory: DIR, schedule: SCHEDULE, now: T0 });
    expect(never.needsFreshCheck).toBe(true);
    const fresh = planNotices({ subject: subject({ lastCheckedAt: new Date(T0.getTime() - 0.5 * H) }), history: [], directory: DIR, schedule: SCHEDULE, now: T0 });
    expect(fresh.needsFreshCheck).toBe(false);
    expect(summary(fresh)).toContain('initial:hotline-nl:1');
  });

  it('wait while the last check did not see the content live', () => {
    for (const lastOutcome of ['gone', 'inconclusive', null] as const) {
      const plan = step([], T0, { lastOutcome });
      expect(plan.notices).toEqual([]);
      expect(plan.nextRealertAt).toEqual(at(0.5));
      expect(plan.needsFreshCheck).toBe(false);
    }
  });

  it('unknown country: the "*" law enforcement, flagged', () => {
    const plan = step([], T0, { hosting: { ip: '127.0.0.6', country: null } });
    expect(summary(plan)).toEqual(['initial:le-star:1']);
    expect(plan.flag).toBe('unknown_country');
    expect(plan.notices[0]?.reason).toMatchObject({ rule: 'unknown_country', country: null, flag: 'unknown_country' });
  });

  it('untraced reports route as unknown', () => {
    const plan = step([], T0, { hosting: null, trace: null });
    expect(summary(plan)).toEqual(['initial:le-star:1']);
    expect(plan.notices[0]?.reason).toMatchObject({ ip: null, traceId: null, databases: [] });
  });

  it('a directory with nobody for the report flags it unrouted and plans nothing', () => {
    const plan = step([], T0, {}, SCHEDULE, { homeCountry: 'GB', recipients: [] });
    expect(plan).toMatchObject({ notices: [], flag: 'unrouted', nextRealertAt: null });
  });
});

describe('re-alerts and escalation', () => {
  it('follow schedule.realert with sequence 2, 3, …; escalation after afterRealerts; then stop', () => {
    const history: NoticeHistoryEntry[] = [];
    const timeline: [number, string[], Date | null][] = [
      [0, ['initial:hotline-nl:1', 'taskforce_alert:tf-nl:1'], at(24)],
      [23.9, [], at(24)],
      [24, ['realert:hotline-nl:2'], at(36)],
      [36, ['realert:hotline-nl:3'], at(48)],
      [48, ['realert:hotline-nl:4'], at(60)],
      // three re-alerts went out: the next due time brings the escalation, with the fourth re-alert
      [60, ['realert:hotline-nl:5', 'escalation:le-nl:1'], null],
      [200, [], null],
    ];
    for (const [hours, expected, next] of timeline) {
      const plan = step(history, at(hours));
      expect(summary(plan), `at ${hours}h`).toEqual(expected);
      expect(plan.nextRealertAt, `next after ${hours}h`).toEqual(next);
    }
  });

  it.each([
    ['max below afterRealerts: no escalation', 2, 3, [[24, ['realert:hotline-nl:2']], [36, ['realert:hotline-nl:3']], [48, []]]],
    ['max equal to afterRealerts: escalation alone at the next due time', 2, 2, [[24, ['realert:hotline-nl:2']], [36, ['realert:hotline-nl:3']], [48, ['escalation:le-nl:1']], [60, []]]],
    ['escalation after one re-alert', 4, 1, [[24, ['realert:hotline-nl:2']], [36, ['realert:hotline-nl:3', 'escalation:le-nl:1']], [48, ['realert:hotline-nl:4']]]],
    ['max 0: no re-alert, no escalation', 0, 1, [[24, []], [100, []]]],
  ] as const)('%s', (_name, max, after, steps) => {
    const schedule: CadenceSchedule = { ...SCHEDULE, realert: { ...SCHEDULE.realert, max }, escalateAfterRealerts: after };
    const history: NoticeHistoryEntry[] = [];
    expect(summary(step(history, T0, {}, schedule))).toContain('initial:hotline-nl:1');
    for (const [hours, expected] of steps) expect(summary(step(history, at(hours), {}, schedule)), `at ${hours}h`).toEqual(expected);
  });

  it('escalate to "*" when the country has no law enforcement', () => {
    const history: NoticeHistoryEntry[] = [];
    const schedule = { ...SCHEDULE, escalateAfterRealerts: 1 };
    const dir: RoutingDirectory = { homeCountry: 'GB', recipients: DIR.recipients.filter((r) => r.id !== 'le-nl') };
    step(history, T0, {}, schedule, dir);
    step(history, at(24), {}, schedule, dir);
    expect(summary(step(history, at(36), {}, schedule, dir))).toEqual(['realert:hotline-nl:3', 'escalation:le-star:1']);
  });

  it('wait while the content is not seen live, and resume when it is', () => {
    const history: NoticeHistoryEntry[] = [];
    step(history, T0);
    const gone = step(history, at(24), { lastOutcome: 'gone' });
    expect(gone.notices).toEqual([]);
    expect(gone.nextRealertAt).toEqual(at(24.5));
    expect(summary(step(history, at(24.5), { lastOutcome: 'live' }))).toEqual(['realert:hotline-nl:2']);
  });

  it('are not affected by the report becoming `notified`', () => {
    const history: NoticeHistoryEntry[] = [];
    step(history, T0);
    expect(summary(step(history, at(24), { status: 'notified' }))).toEqual(['realert:hotline-nl:2']);
  });

  it('a late decision sends one re-alert, not the ones it missed', () => {
    const history: NoticeHistoryEntry[] = [];
    step(history, T0);
    const plan = step(history, at(100));
    expect(summary(plan)).toEqual(['realert:hotline-nl:2']);
    expect(plan.nextRealertAt).toEqual(at(112));
  });
});

describe('evidence hold', () => {
  it('suppresses every notice until hold_until, then they go out', () => {
    const history: NoticeHistoryEntry[] = [];
    const held = step(history, T0, { holdUntil: at(10) });
    expect(held).toMatchObject({ notices: [], heldUntil: at(10), nextRealertAt: at(10) });
    expect(summary(step(history, at(10), { holdUntil: at(10) }))).toEqual(['initial:hotline-nl:1', 'taskforce_alert:tf-nl:1']);
  });

  it('holds re-alerts and removal notices too', () => {
    const history: NoticeHistoryEntry[] = [];
    step(history, T0);
    expect(step(history, at(24), { holdUntil: at(30) })).toMatchObject({ notices: [], nextRealertAt: at(30) });
    const removal = step(history, at(25), { status: 'removed', holdUntil: at(30), forcesWithWebhook: ['kent'] });
    expect(removal).toMatchObject({ notices: [], nextRealertAt: at(30), heldUntil: at(30) });
    expect(summary(step(history, at(30), { status: 'removed', holdUntil: at(30), forcesWithWebhook: ['kent'] })))
      .toEqual(['report_removed:kent:1', 'removal_confirmed:hotline-nl:1', 'removal_confirmed:tf-nl:1']);
  });
});

describe('hosting moves', () => {
  it('tell the new country and re-alert there, not the old country', () => {
    const history: NoticeHistoryEntry[] = [];
    step(history, T0);
    const moved = step(history, at(5), { hosting: { ip: '127.0.0.4', country: 'US' } });
    expect(summary(moved)).toEqual(['initial:pp-us:1', 'initial:le-us:1']);
    expect(moved.notices[0]?.reason).toMatchObject({ rule: 'country_authorities', country: 'US', ip: '127.0.0.4' });
    // re-alerts stay anchored on the episode's first initial and follow the move
    expect(summary(step(history, at(24), { hosting: { ip: '127.0.0.4', country: 'US' } }))).toEqual(['realert:pp-us:2', 'realert:le-us:2']);
    // moving back tells nobody anew; re-alerts go to NL again
    expect(summary(step(history, at(30), {}))).toEqual([]);
    expect(summary(step(history, at(36), {}))).toEqual(['realert:hotline-nl:3']);
  });

  it('task forces: once per report per hosting location', () => {
    const history: NoticeHistoryEntry[] = [];
    expect(summary(step(history, T0))).toContain('taskforce_alert:tf-nl:1');
    expect(step(history, at(1)).notices).toEqual([]);
    expect(summary(step(history, at(2), { hosting: { ip: '127.0.0.7', country: 'NL' } }))).toEqual(['taskforce_alert:tf-nl:1']);
    expect(step(history, at(3), { hosting: { ip: '127.0.0.7', country: 'NL' } }).notices).toEqual([]);
    expect(history.filter((h) => h.kind === 'taskforce_alert').map((h) => h.eventKey)).toEqual([
      `taskforce:${REPORT}:1:NL:127.0.0.2:tf-nl`, `taskforce:${REPORT}:1:NL:127.0.0.7:tf-nl`,
    ]);
  });
});

describe('removal and reappearance', () => {
  it('removal_confirmed to everyone told in the episode, report.removed to forces with webhooks, once', () => {
    const history: NoticeHistoryEntry[] = [];
    const schedule = { ...SCHEDULE, escalateAfterRealerts: 1 };
    step(history, T0, {}, schedule);
    step(history, at(24), {}, schedule);
    step(history, at(36), {}, schedule); // escalation to le-nl
    const removed = step(history, at(40), { status: 'removed', forcesWithWebhook: ['kent', 'met'] }, schedule);
    expect(summary(removed)).toEqual([
      'report_removed:kent:1', 'report_removed:met:1', 'removal_confirmed:hotline-nl:1', 'removal_confirmed:tf-nl:1', 'removal_confirmed:le-nl:1',
    ]);
    expect(removed.notices.find((n) => n.kind === 'report_removed')).toMatchObject({ target: 'force', recipientId: 'kent', eventKey: `report_removed:${REPORT}:1:kent` });
    expect(removed.nextRealertAt).toBeNull();
    expect(step(history, at(41), { status: 'removed', forcesWithWebhook: ['kent', 'met'] }, schedule).notices).toEqual([]);
  });

  it('a report nobody was told about: forces hear of the removal, recipients do not — whatever the verdict', () => {
    const plan = planNotices({ subject: subject({ status: 'removed', verdict: null, forcesWithWebhook: ['kent'] }), history: [], directory: DIR, schedule: SCHEDULE, now: T0 });
    expect(summary(plan)).toEqual(['report_removed:kent:1']);
  });

  it('reappearance opens a new episode: told afresh, re-alerts anchored anew', () => {
    const history: NoticeHistoryEntry[] = [];
    step(history, T0);
    step(history, at(24));
    step(history, at(30), { status: 'removed' });
    const again = step(history, at(50), { status: 'notified', episode: 2 });
    expect(summary(again)).toEqual(['initial:hotline-nl:1', 'taskforce_alert:tf-nl:1']);
    expect(again.notices.every((n) => n.episode === 2)).toBe(true);
    expect(again.nextRealertAt).toEqual(at(74));
    expect(summary(step(history, at(74), { status: 'notified', episode: 2 }))).toEqual(['realert:hotline-nl:2']);
    expect(summary(step(history, at(80), { status: 'removed', episode: 2 }))).toEqual(['removal_confirmed:hotline-nl:1', 'removal_confirmed:tf-nl:1']);
  });

  it('without the lifecycle episode, a removal notice closes the episode', () => {
    const history: NoticeHistoryEntry[] = [];
    step(history, T0);
    step(history, at(30), { status: 'removed' });
    expect(currentEpisode(history, 'removed')).toBe(1);
    expect(currentEpisode(history, 'notified')).toBe(2);
    expect(summary(step(history, at(50), { status: 'notified' }))).toEqual(['initial:hotline-nl:1', 'taskforce_alert:tf-nl:1']);
    expect(currentEpisode([], 'live')).toBe(1);
  });

  it('noticesForRemoval alone gives the same notices', () => {
    const history: NoticeHistoryEntry[] = [];
    step(history, T0);
    const plan = noticesForRemoval({ subject: subject({ forcesWithWebhook: ['kent'] }), history, now: at(5) });
    expect(summary(plan)).toEqual(['report_removed:kent:1', 'removal_confirmed:hotline-nl:1', 'removal_confirmed:tf-nl:1']);
    expect(plan.notices.find((n) => n.kind === 'removal_confirmed')?.reason.rule).toBe('removal');
  });
});

describe('hosting provider abuse desks (directory.hostingProviders.notify)', () => {
  const DESK_DIR: RoutingDirectory = { ...DIR, hostingProviders: { notify: true } };
  const desks = (abuseEmails: string[]): Partial<NoticeSubject> => ({ trace: { id: 'trace-1', databases: [], abuseEmails } });
  const targets = (plan: NoticePlan): string[] => plan.notices.map((n) => `${n.kind}:${n.target}:${n.recipientId}:${n.sequence}`);

  it('each desk the trace found gets an initial by target hosting_provider, with the recipients', () => {
    const plan = step([], T0, desks(['abuse@net-a.test', 'noc@net-a.test']), SCHEDULE, DESK_DIR);
    expect(targets(plan)).toEqual([
      'initial:recipient:hotline-nl:1', 'initial:hosting_provider:abuse@net-a.test:1', 'initial:hosting_provider:noc@net-a.test:1',
      'taskforce_alert:recipient:tf-nl:1',
    ]);
    expect(plan.notices[1]).toMatchObject({ eventKey: `initial:${REPORT}:1:abuse@net-a.test`, reason: { rule: 'hosting_provider', country: 'NL', traceId: 'trace-1' } });
  });

  it('none when the directory does not ask for it, or the trace found no desk', () => {
    expect(targets(step([], T0, desks(['abuse@net-a.test'])))).toEqual(['initial:recipient:hotline-nl:1', 'taskforce_alert:recipient:tf-nl:1']);
    expect(targets(step([], T0, desks([]), SCHEDULE, DESK_DIR))).toEqual(['initial:recipient:hotline-nl:1', 'taskforce_alert:recipient:tf-nl:1']);
    expect(targets(step([], T0, { trace: null }, SCHEDULE, DESK_DIR))).toEqual(['initial:recipient:hotline-nl:1', 'taskforce_alert:recipient:tf-nl:1']);
  });

  it('whatever the routing: a report of unknown country still tells the desk', () => {
    const plan = step([], T0, { hosting: { ip: '127.0.0.6', country: null }, ...desks(['abuse@net-b.test']) }, SCHEDULE, DESK_DIR);
    expect(targets(plan)).toEqual(['initial:recipient:le-star:1', 'initial:hosting_provider:abuse@net-b.test:1']);
  });

  it('only with a fresh live check, like any initial', () => {
    const plan = planNotices({ subject: subject({ lastCheckedAt: null, ...desks(['abuse@net-a.test']) }), history: [], directory: DESK_DIR, schedule: SCHEDULE, now: T0 });
    expect(plan).toMatchObject({ notices: [], needsFreshCheck: true });
  });

  it('a desk found later (or notify turned on later) gets its initial then; re-alerts go to told desks the trace still names, never an escalation', () => {
    const history: NoticeHistoryEntry[] = [];
    step(history, T0, {}, SCHEDULE, DESK_DIR);
    expect(targets(step(history, at(1), desks(['abuse@net-a.test']), SCHEDULE, DESK_DIR))).toEqual(['initial:hosting_provider:abuse@net-a.test:1']);
    // a second desk appears, the first is still named: both get re-alerts once told
    expect(targets(step(history, at(24), desks(['abuse@net-a.test', 'abuse@net-c.test']), SCHEDULE, DESK_DIR))).toEqual([
      'initial:hosting_provider:abuse@net-c.test:1', 'realert:recipient:hotline-nl:2', 'realert:hosting_provider:abuse@net-a.test:2',
    ]);
    expect(targets(step(history, at(36), desks(['abuse@net-a.test', 'abuse@net-c.test']), SCHEDULE, DESK_DIR))).toEqual([
      'realert:recipient:hotline-nl:3', 'realert:hosting_provider:abuse@net-a.test:3', 'realert:hosting_provider:abuse@net-c.test:3',
    ]);
    // net-a no longer named by the trace: no more re-alerts for it
    expect(targets(step(history, at(48), desks(['abuse@net-c.test']), SCHEDULE, DESK_DIR))).toEqual([
      'realert:recipient:hotline-nl:4', 'realert:hosting_provider:abuse@net-c.test:4',
    ]);
    const escalation = step(history, at(60), desks(['abuse@net-c.test']), SCHEDULE, DESK_DIR);
    expect(escalation.notices.filter((n) => n.kind === 'escalation').map((n) => `${n.target}:${n.recipientId}`)).toEqual(['recipient:le-nl']);
  });

  it('removal_confirmed to every desk told in the episode, under its own target', () => {
    const history: NoticeHistoryEntry[] = [];
    step(history, T0, desks(['abuse@net-a.test']), SCHEDULE, DESK_DIR);
    const removed = step(history, at(2), { status: 'removed', ...desks([]) }, SCHEDULE, DESK_DIR);
    expect(targets(removed)).toEqual([
      'removal_confirmed:recipient:hotline-nl:1', 'removal_confirmed:hosting_provider:abuse@net-a.test:1', 'removal_confirmed:recipient:tf-nl:1',
    ]);
    expect(step(history, at(3), { status: 'removed' }, SCHEDULE, DESK_DIR).notices).toEqual([]);
  });
});

describe('noticeForSubmissionCompleted', () => {
  it('one event per submission to its force, when the force has a webhook', () => {
    expect(noticeForSubmissionCompleted({ submissionId: 'sub-1', forceId: 'kent', forceHasWebhook: true })).toMatchObject({
      kind: 'submission_completed', target: 'force', recipientId: 'kent', reportId: null, submissionId: 'sub-1', eventKey: 'submission_completed:sub-1',
    });
    expect(noticeForSubmissionCompleted({ submissionId: 'sub-1', forceId: 'kent', forceHasWebhook: false })).toBeNull();
  });
});
