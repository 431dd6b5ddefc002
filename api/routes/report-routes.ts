/**
 * Reports (CONTRACT.md §4): the list with filters and keyset pagination, one report's timeline
 * (checks, traces, notices), and analysts' verdicts. A force sees only the reports it monitors;
 * any other report does not exist for it (404). Every read and every verdict leaves an audit row,
 * written before the data is sent.
 */
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { statusOnVerdict, verdictPrevails } from '../../core/report-lifecycle.js';
import { REPORT_STATUSES, VERDICTS, type Verdict, type VerdictSource } from '../../core/report-status.js';
import type { ApiDeps } from '../api-deps.js';
import { decodeCursor, encodeCursor } from '../cursor.js';
import { principalOf, scopeOf, type Guards } from '../guards.js';
import { sendProblem } from '../problem.js';
import { isUuid } from '../validate.js';

/** @default 100 reports a page; at most 1000 */
export const DEFAULT_REPORTS_PAGE = 100;

/** Compare-and-set attempts of a verdict against concurrent checks before giving up (500). */
const MAX_VERDICT_ATTEMPTS = 5;

const paramsSchema = z.object({ id: z.string().max(200) });

const listQuerySchema = z.object({
  status: z.enum(REPORT_STATUSES).optional(),
  country: z.string().regex(/^[A-Za-z]{2}$/, 'expected an ISO 3166-1 alpha-2 code').transform((c) => c.toUpperCase()).optional()
    .describe('hosting country'),
  domain: z.string().min(1).max(253).transform((d) => d.toLowerCase()).optional().describe('registrable domain, e.g. example.co.uk'),
  cursor: z.string().max(300).optional().describe('nextCursor of the previous page'),
  limit: z.coerce.number().int().min(1).max(1000).default(DEFAULT_REPORTS_PAGE),
});

const listCursorSchema = z.object({
  t: z.string().regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/),
  i: z.string().refine(isUuid),
}).strict();

const holdBodySchema = z.strictObject({
  until: z.iso.datetime({ offset: true }).nullable().describe('no notices before this time; null lifts the hold'),
});

const verdictBodySchema = z.strictObject({
  verdict: z.enum(VERDICTS),
  reason: z.string().max(1000).optional().describe('why: kept in the audit trail'),
});

export function registerReportRoutes(app: FastifyInstance, deps: ApiDeps, guards: Guards): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const readers = guards.allow(['force', 'analyst', 'admin'], 'not_found');

  r.get('/v1/reports', {
    onRequest: guards.allow(['force', 'analyst', 'admin']),
    schema: { summary: 'Reports, newest first (a force sees its own)', tags: ['reports'], querystring: listQuerySchema },
  }, async (request) => {
    const principal = principalOf(request);
    const { status, country, domain, cursor, limit } = request.query;
    const after = cursor ? decodeCursor(cursor, listCursorSchema) : null;
    const filter = { ...(status ? { status } : {}), ...(country ? { country } : {}), ...(domain ? { registrableDomain: domain } : {}) };
    const page = await deps.store.listReports(scopeOf(principal), filter, { after: after ? { createdAt: after.t, id: after.i } : null, limit });
    await deps.store.appendAudit({
      actor: principal.actor, action: 'report.list', subjectType: 'report', subjectId: null, at: deps.clock.now(),
      detail: { filter, cursor: after, reports: page.items.map((i) => i.id) },
    });
    return { items: page.items, nextCursor: page.next ? encodeCursor({ t: page.next.createdAt, i: page.next.id }) : null };
  });

  r.get('/v1/reports/:id', {
    onRequest: readers,
    schema: { summary: 'One report with its checks, traces and notices', tags: ['reports'], params: paramsSchema },
  }, async (request, reply) => {
    const principal = principalOf(request);
    const scope = scopeOf(principal);
    // An id that cannot exist answers like one the caller may not see.
    if (!isUuid(request.params.id)) return sendProblem(reply, 'NOT_FOUND', 'No such report.');
    const [report, traces] = await Promise.all([deps.store.getReport(request.params.id, scope), deps.store.listReportTraces(request.params.id, scope)]);
    if (!report || !traces) return sendProblem(reply, 'NOT_FOUND', 'No such report.');
    await deps.store.appendAudit({ actor: principal.actor, action: 'report.read', subjectType: 'report', subjectId: report.id, at: deps.clock.now() });
    return { ...report, traces };
  });

  r.post('/v1/reports/:id/verdict', {
    onRequest: readers,
    schema: { summary: 'Give a verdict (analyst, admin)', tags: ['reports'], params: paramsSchema, body: verdictBodySchema },
  }, async (request, reply) => {
    const principal = principalOf(request);
    const { id } = request.params;
    if (!isUuid(id)) return sendProblem(reply, 'NOT_FOUND', 'No such report.');
    if (principal.role === 'force') {
      // A force learns nothing about a report it does not monitor; about its own, that it may not decide.
      const visible = await deps.store.getReport(id, scopeOf(principal));
      return visible
        ? sendProblem(reply, 'FORBIDDEN', 'Verdicts are given by analysts.')
        : sendProblem(reply, 'NOT_FOUND', 'No such report.');
    }
    const { verdict, reason } = request.body;
    const audit = { actor: principal.actor, action: 'report.verdict', subjectType: 'report', subjectId: id, at: deps.clock.now(), detail: { verdict, ...(reason ? { reason } : {}) } };
    // The verdict and what it does to the status (core/report-lifecycle.ts) are written together,
    // compare-and-set on the report's state_version: a check finishing meanwhile is not lost, and
    // is itself recomputed from the new state.
    let changed: { previous: { verdict: Verdict | null; source: VerdictSource | null } } | null = null;
    for (let attempt = 1; changed === null; attempt++) {
      const report = await deps.store.getReportForCheck(id);
      if (!report) return sendProblem(reply, 'NOT_FOUND', 'No such report.');
      // an analyst stands over a hash-list match and the submission; kept general for other sources
      if (!verdictPrevails(report.verdictSource, 'analyst')) return { id, verdict: report.verdict, verdictSource: report.verdictSource, previous: { verdict: report.verdict, source: report.verdictSource } };
      const next = statusOnVerdict(report.status, verdict);
      const nextCheckAt = next.check === 'now' ? deps.clock.now() : next.check === 'never' ? null : undefined;
      const applied = await deps.store.applyVerdict({
        reportId: id, verdict, source: 'analyst', audit, status: next.status, nextCheckAt, expectVersion: report.stateVersion,
      });
      if (!applied) return sendProblem(reply, 'NOT_FOUND', 'No such report.');
      if (applied.conflict) {
        if (attempt >= MAX_VERDICT_ATTEMPTS) throw new Error(`report ${id} kept changing while its verdict was applied (${attempt} attempts)`);
        continue;
      }
      changed = applied;
    }
    // A report still monitored is checked at once under its new verdict (a rejected one given
    // `illegal` is pending again and comes back); the store ignores the ask for a closed one.
    if (deps.requestCheck) {
      await deps.requestCheck(id).catch((err: unknown) => request.log.warn({ err, reportId: id }, 'could not ask for a check after a verdict'));
    }
    return { id, verdict, verdictSource: 'analyst', previous: changed.previous };
  });

  r.post('/v1/reports/:id/recheck', {
    onRequest: readers,
    schema: { summary: 'Check a report now (analyst, admin)', tags: ['reports'], params: paramsSchema },
  }, async (request, reply) => {
    const principal = principalOf(request);
    const { id } = request.params;
    if (!isUuid(id)) return sendProblem(reply, 'NOT_FOUND', 'No such report.');
    if (principal.role === 'force') {
      const visible = await deps.store.getReport(id, scopeOf(principal));
      return visible
        ? sendProblem(reply, 'FORBIDDEN', 'Rechecks are asked for by analysts.')
        : sendProblem(reply, 'NOT_FOUND', 'No such report.');
    }
    const report = await deps.store.getReportForCheck(id);
    if (!report) return sendProblem(reply, 'NOT_FOUND', 'No such report.');
    await deps.store.appendAudit({ actor: principal.actor, action: 'report.recheck', subjectType: 'report', subjectId: id, at: deps.clock.now() });
    // a closed report (rejected, refused, expired) is never checked again: the store ignores it
    if (deps.requestCheck) await deps.requestCheck(id);
    else await deps.store.requestCheck(id, deps.clock.now());
    return reply.code(202).send({ id, status: report.status });
  });

  r.post('/v1/reports/:id/hold', {
    // Refused by role before any report is looked at (403 reveals nothing about the id); a force's
    // reach is its own reports (404 for others, below).
    onRequest: guards.allow(['force', 'admin']),
    schema: { summary: 'Evidence hold: no notices before `until` (owning force, admin)', tags: ['reports'], params: paramsSchema, body: holdBodySchema },
  }, async (request, reply) => {
    const principal = principalOf(request);
    const { id } = request.params;
    if (!isUuid(id)) return sendProblem(reply, 'NOT_FOUND', 'No such report.');
    const until = request.body.until === null ? null : new Date(request.body.until);
    const now = deps.clock.now();
    // A force holds only a report it monitors; any other is not there for it.
    const held = await deps.store.setHold(id, until, scopeOf(principal), now);
    if (!held) return sendProblem(reply, 'NOT_FOUND', 'No such report.');
    await deps.store.appendAudit({
      actor: principal.actor, action: until ? 'report.hold' : 'report.hold_lifted', subjectType: 'report', subjectId: id,
      detail: { until: until?.toISOString() ?? null }, at: now,
    });
    return { id, holdUntil: until };
  });
}
