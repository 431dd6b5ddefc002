/**
 * The operator surface under `/admin` (CONTRACT.md §4): server-rendered pages, sign-in with an
 * admin or analyst token, the BullMQ dashboard. One encapsulated fastify plugin: its form parser,
 * hooks and error pages touch nothing of the JSON API.
 *
 * Every request but the sign-in form and the stylesheet needs a session (admin-auth.ts); without
 * one a page request is sent to the sign-in form and anything else gets 401. Requests that change
 * something also pass two CSRF defences: the request must come from vigil's own origin (Origin /
 * Sec-Fetch-Site, which covers the dashboard's own API calls), and a form must carry the
 * session's CSRF token. Analysts read everything and may ask for a recheck; only admins change
 * queues or re-enable channels.
 *
 * Every page that shows reports writes an audit row before answering, as the JSON API does.
 */
import type { Queue } from 'bullmq';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { z } from 'zod';
import { ERROR_CODES, VigilError } from '../../core/errors.js';
import { REPORT_STATUSES } from '../../core/report-status.js';
import type { Clock } from '../../core/clock.js';
import type { Store } from '../../core/store.js';
import type { Authenticator } from '../auth.js';
import { decodeCursor, encodeCursor } from '../cursor.js';
import { isUuid } from '../validate.js';
import { createAdminAuth, type AdminContext } from './admin-auth.js';
import { sameToken } from './admin-session.js';
import { html } from './html.js';
import { ADMIN_CSS, page, type PageContext } from './layout.js';
import { overviewBody } from './overview-page.js';
import { BOARD_PATH, registerQueueBoards } from './queue-board.js';
import { reportBody, reportListBody } from './report-pages.js';
import { GROUPINGS, networksBody, statsBody, WINDOWS, type WindowDays } from './stats-pages.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** a form POST of the operator pages: needs the session's CSRF token */
    adminForm?: boolean;
  }
}

export interface AdminDeps {
  store: Store;
  auth: Authenticator;
  clock: Clock;
  log: Logger;
  /** ask for an immediate check (else the store's `requestCheck`) */
  requestCheck?: (reportId: string) => Promise<void>;
  /** the BullMQ queues for `/admin/queues`; absent: no dashboard */
  queues?: readonly Queue[];
  /** @default 8 h */
  sessionTtlMs?: number;
  /** the cookies' Secure flag: set when vigil is served over https */
  secureCookies?: boolean;
}

/** rows each overview list shows */
export const OVERVIEW_LIST = 20;
/** reports a list page shows */
export const REPORTS_PAGE = 50;
/** networks a scorecard page shows */
export const NETWORKS_PAGE = 50;

const PAGE_CSP = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";
const READS = new Set(['GET', 'HEAD']);

const listQuery = z.object({
  status: z.enum(REPORT_STATUSES).optional().or(z.literal('').transform(() => undefined)),
  country: z.string().regex(/^[A-Za-z]{2}$/).transform((c) => c.toUpperCase()).optional().or(z.literal('').transform(() => undefined)),
  asn: z.coerce.number().int().min(0).max(4_294_967_295).optional().or(z.literal('').transform(() => undefined)),
  flag: z.enum(['overdue', 'routing', 'cdn']).optional().or(z.literal('').transform(() => undefined)),
  cursor: z.string().max(300).optional(),
});
const cursorSchema = z.object({ t: z.string().regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/), i: z.string().refine(isUuid) }).strict();
const windowQuery = z.object({
  days: z.coerce.number().refine((d): d is WindowDays => (WINDOWS as readonly number[]).includes(d)).default(90),
  page: z.coerce.number().int().min(1).max(100_000).default(1),
});

function parseQuery<S extends z.ZodType>(schema: S, value: unknown): z.output<S> {
  const parsed = schema.safeParse(value ?? {});
  if (!parsed.success) throw new VigilError('VALIDATION_FAILED', parsed.error.issues.map((i) => `${i.path.join('.') || 'query'}: ${i.message}`).join('; '));
  return parsed.data;
}

/** Whether a state-changing request comes from vigil's own pages (not another site). */
export function sameOrigin(request: FastifyRequest): boolean {
  const site = request.headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin' && site !== 'none') return false;
  const origin = request.headers.origin;
  if (origin === undefined) return true;
  try {
    // compared as URLs, so a default port written or left out is the same origin
    const own = new URL(`${new URL(origin).protocol}//${request.headers.host ?? ''}`);
    return new URL(origin).host === own.host;
  } catch {
    return false;
  }
}

export async function registerAdmin(app: FastifyInstance, deps: AdminDeps): Promise<void> {
  const auth = createAdminAuth({
    store: deps.store, auth: deps.auth, clock: deps.clock, sessionTtlMs: deps.sessionTtlMs, secureCookies: deps.secureCookies ?? false,
  });

  await app.register(async (admin) => {
    admin.decorateRequest('adminSession', null);
    admin.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: 16 * 1024 }, (_request, body, done) => {
      done(null, Object.fromEntries(new URLSearchParams(String(body))));
    });

    const html200 = (reply: FastifyReply, title: string, body: ReturnType<typeof html>, ctx: PageContext | null, current: string) =>
      reply.type('text/html; charset=utf-8').send(page(title, body, ctx, current));
    const problemPage = (reply: FastifyReply, status: number, title: string, detail: string, ctx: PageContext | null) =>
      reply.code(status).type('text/html; charset=utf-8').send(page(title, html`<p class="error">${detail}</p><p><a href="/admin">Back to the overview</a></p>`, ctx));
    const contextOf = (request: FastifyRequest): PageContext => {
      const s = request.adminSession as AdminContext;
      return { role: s.role, actor: s.actor, csrf: s.csrf, now: deps.clock.now() };
    };

    admin.setErrorHandler((err: FastifyError | VigilError, request, reply) => {
      const ctx = request.adminSession ? contextOf(request) : null;
      if (err instanceof VigilError && ERROR_CODES[err.code].status < 500) return problemPage(reply, ERROR_CODES[err.code].status, ERROR_CODES[err.code].title, err.detail, ctx);
      const status = (err as FastifyError).statusCode;
      if (status !== undefined && status >= 400 && status < 500) return problemPage(reply, status, 'Bad request', err.message, ctx);
      deps.log.error({ err, reqId: request.id }, 'error on an operator page');
      return problemPage(reply, 500, 'Something went wrong', 'The error has been logged.', ctx);
    });

    admin.addHook('onRequest', async (request, reply) => {
      reply.header('x-frame-options', 'DENY').header('x-content-type-options', 'nosniff').header('referrer-policy', 'no-referrer');
      const onBoard = request.url === BOARD_PATH || request.url.startsWith(`${BOARD_PATH}/`) || request.url.startsWith(`${BOARD_PATH}?`);
      // bull-board's page needs its scripts and its <base href>; ours need neither and get a strict policy
      reply.header('content-security-policy', onBoard ? "frame-ancestors 'none'; form-action 'self'" : PAGE_CSP);
      if (request.routeOptions.config?.adminPublic) return;
      const session = await auth.resolve(request);
      if (!session) {
        if (READS.has(request.method) && !request.url.startsWith(`${BOARD_PATH}/api/`)) {
          return reply.redirect(`/admin/login?next=${encodeURIComponent(request.url)}`, 303);
        }
        return reply.code(401).type('application/json').send({ error: 'Sign in at /admin/login first.' });
      }
      request.adminSession = session;
      reply.header('cache-control', 'no-store');
      if (!READS.has(request.method) && !sameOrigin(request)) {
        return reply.code(403).type('application/json').send({ error: 'Cross-site request refused.' });
      }
    });

    admin.addHook('preHandler', async (request, reply) => {
      if (!request.routeOptions.config?.adminForm) return;
      const session = request.adminSession as AdminContext;
      const token = (request.body as Record<string, unknown> | undefined)?._csrf;
      // session.csrf is derived from the session id the signed cookie carries
      if (!sameToken(token, session.csrf)) {
        return problemPage(reply, 403, 'Form expired', 'This form is missing its security token or it has expired. Reload the page and try again.', contextOf(request));
      }
    });

    admin.get('/assets/admin.css', { config: { adminPublic: true }, schema: { hide: true } }, async (_request, reply) =>
      reply.type('text/css; charset=utf-8').header('cache-control', 'public, max-age=3600').send(ADMIN_CSS));

    auth.registerRoutes(admin);

    admin.get('/', { schema: { hide: true } }, async (request, reply) => {
      const ctx = contextOf(request);
      const [data, endpoints] = await Promise.all([deps.store.adminOverview(ctx.now, OVERVIEW_LIST), deps.store.listEndpointStats()]);
      const shown = new Set([data.overdueRealerts, data.routingFlagged, data.cdnFronted, data.recentRemovals].flatMap((l) => l.items.map((r) => r.id)));
      await deps.store.appendAudit({ actor: ctx.actor, action: 'report.list', subjectType: 'report', subjectId: null, at: ctx.now, detail: { via: 'admin', page: 'overview', reports: [...shown] } });
      return html200(reply, 'Overview', overviewBody(data, endpoints, ctx), ctx, '/admin');
    });

    admin.get('/reports', { schema: { hide: true } }, async (request, reply) => {
      const ctx = contextOf(request);
      const q = parseQuery(listQuery, request.query);
      const after = q.cursor ? decodeCursor(q.cursor, cursorSchema) : null;
      const filter = { ...(q.status ? { status: q.status } : {}), ...(q.country ? { country: q.country } : {}), ...(q.asn !== undefined ? { asn: q.asn } : {}), ...(q.flag ? { flag: q.flag } : {}) };
      const result = await deps.store.listAdminReports({ ...filter, now: ctx.now }, { after: after ? { createdAt: after.t, id: after.i } : null, limit: REPORTS_PAGE });
      await deps.store.appendAudit({ actor: ctx.actor, action: 'report.list', subjectType: 'report', subjectId: null, at: ctx.now, detail: { via: 'admin', filter, cursor: after, reports: result.items.map((r) => r.id) } });
      const next = result.next ? encodeCursor({ t: result.next.createdAt, i: result.next.id }) : null;
      return html200(reply, 'Reports', reportListBody(filter, result, next, ctx), ctx, '/admin/reports');
    });

    admin.get<{ Params: { id: string } }>('/reports/:id', { schema: { hide: true } }, async (request, reply) => {
      const ctx = contextOf(request);
      const timeline = isUuid(request.params.id) ? await deps.store.getReportTimeline(request.params.id) : null;
      if (!timeline) return problemPage(reply, 404, 'No such report', 'There is no report with that id.', ctx);
      await deps.store.appendAudit({ actor: ctx.actor, action: 'report.read', subjectType: 'report', subjectId: timeline.id, at: ctx.now, detail: { via: 'admin' } });
      return html200(reply, 'Report', reportBody(timeline, ctx), ctx, '/admin/reports');
    });

    admin.post<{ Params: { id: string } }>('/reports/:id/recheck', { config: { adminForm: true }, schema: { hide: true } }, async (request, reply) => {
      const ctx = contextOf(request);
      const id = request.params.id;
      if (!isUuid(id)) return problemPage(reply, 404, 'No such report', 'There is no report with that id.', ctx);
      if (deps.requestCheck) await deps.requestCheck(id);
      else await deps.store.requestCheck(id, ctx.now);
      await deps.store.appendAudit({ actor: ctx.actor, action: 'report.recheck', subjectType: 'report', subjectId: id, at: ctx.now, detail: { via: 'admin' } });
      return reply.redirect(`/admin/reports/${id}`, 303);
    });

    admin.post<{ Body: Record<string, string> }>('/channels/enable', { config: { adminForm: true }, schema: { hide: true } }, async (request, reply) => {
      const ctx = contextOf(request);
      if (ctx.role !== 'admin') return problemPage(reply, 403, 'Admins only', 'Only an admin can re-enable a channel.', ctx);
      const target = request.body?.target;
      const id = request.body?.id;
      if ((target !== 'recipient' && target !== 'force') || typeof id !== 'string' || id.length === 0 || id.length > 200) {
        return problemPage(reply, 400, 'Bad request', 'target and id are needed.', ctx);
      }
      const enabled = await deps.store.enableEndpoint(target, id, ctx.now);
      await deps.store.appendAudit({ actor: ctx.actor, action: 'endpoint.enable', subjectType: 'endpoint', subjectId: `${target}:${id}`, at: ctx.now, detail: { enabled } });
      return reply.redirect('/admin#channels', 303);
    });

    admin.get('/stats', { schema: { hide: true } }, async (request, reply) => {
      const ctx = contextOf(request);
      const { days } = parseQuery(windowQuery, request.query);
      const since = new Date(ctx.now.getTime() - days * 86_400_000);
      const groups = await Promise.all(GROUPINGS.map(async ({ by }) => ({
        by, stats: await deps.store.removalStats({ by, since, until: ctx.now, limit: by === 'week' ? Math.ceil(days / 7) + 1 : 15 }),
      })));
      return html200(reply, 'Removal times', statsBody(days, groups), ctx, '/admin/stats');
    });

    admin.get('/networks', { schema: { hide: true } }, async (request, reply) => {
      const ctx = contextOf(request);
      const { days, page: pageNo } = parseQuery(windowQuery, request.query);
      const since = new Date(ctx.now.getTime() - days * 86_400_000);
      const { rows, total } = await deps.store.networkScorecards({ since, until: ctx.now, limit: NETWORKS_PAGE, offset: (pageNo - 1) * NETWORKS_PAGE });
      return html200(reply, 'Hosting networks', networksBody(days, rows, total, pageNo, NETWORKS_PAGE, ctx), ctx, '/admin/networks');
    });

    if (deps.queues && deps.queues.length > 0) {
      await registerQueueBoards(admin, deps.queues, (request) => request.adminSession?.role ?? null);
    }
  }, { prefix: '/admin' });
}
