/**
 * Reading a submission back (CONTRACT.md §4): its counts and a page of items as JSON, or every
 * item as a CSV report, streamed page by page. The owning force, analysts and admins only; for
 * anyone else the submission does not exist (404). Every read leaves an audit row, written
 * before any data is sent.
 */
import { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Scope, Store, SubmissionPageItem } from '../../core/store.js';
import type { ApiDeps } from '../api-deps.js';
import { decodeCursor, encodeCursor } from '../cursor.js';
import { principalOf, scopeOf, type Guards } from '../guards.js';
import { sendProblem } from '../problem.js';
import { csvLine, SUBMISSION_CSV_HEADER, submissionCsvRow } from './submission-csv.js';

/** @default 1000 items a page; at most 10000 */
export const DEFAULT_ITEMS_PAGE = 1000;
const CSV_PAGE = 2000;

const paramsSchema = z.object({ id: z.string().max(200) });
const pageQuerySchema = z.object({
  cursor: z.string().max(200).optional().describe('nextCursor of the previous page'),
  limit: z.coerce.number().int().min(1).max(10_000).default(DEFAULT_ITEMS_PAGE),
});
const itemCursorSchema = z.object({ l: z.number().int().min(0) }).strict();

const toItemJson = (i: SubmissionPageItem) => ({
  line: i.line,
  input: i.input,
  reportId: i.reportId,
  url: i.url,
  status: i.status,
  hosting: i.hosting,
  firstSeenLiveAt: i.firstSeenLiveAt,
  lastSeenLiveAt: i.lastSeenLiveAt,
  notices: i.notices,
  removedAt: i.removedAt,
});

/** Every item of the submission as CSV lines, read a page at a time. */
async function* csvReport(store: Store, id: string, scope: Scope): AsyncGenerator<string> {
  yield csvLine(SUBMISSION_CSV_HEADER);
  let afterLine: number | null = null;
  do {
    const page = await store.getSubmissionPage(id, scope, { afterLine, limit: CSV_PAGE, counts: false });
    if (!page) return;
    yield page.items.map((i) => csvLine(submissionCsvRow(i))).join('');
    afterLine = page.nextAfterLine;
  } while (afterLine !== null);
}

export function registerSubmissionReadRoutes(app: FastifyInstance, deps: ApiDeps, guards: Guards): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const readers = guards.allow(['force', 'analyst', 'admin'], 'not_found');

  r.get('/v1/submissions/:id', {
    onRequest: readers,
    schema: { summary: 'A submission: counts per status and a page of its items', tags: ['submissions'], params: paramsSchema, querystring: pageQuerySchema },
  }, async (request, reply) => {
    const principal = principalOf(request);
    const afterLine = request.query.cursor ? decodeCursor(request.query.cursor, itemCursorSchema).l : null;
    const page = await deps.store.getSubmissionPage(request.params.id, scopeOf(principal), { afterLine, limit: request.query.limit });
    if (!page) return sendProblem(reply, 'NOT_FOUND', 'No such submission.');
    await deps.store.appendAudit({
      actor: principal.actor, action: 'submission.read', subjectType: 'submission', subjectId: page.id, at: deps.clock.now(),
      detail: { force: page.force, afterLine, items: page.items.length },
    });
    const { nextAfterLine, items, ...header } = page;
    return {
      ...header,
      items: items.map(toItemJson),
      nextCursor: nextAfterLine === null ? null : encodeCursor({ l: nextAfterLine }),
    };
  });

  r.get('/v1/submissions/:id/report.csv', {
    onRequest: readers,
    schema: { summary: 'A submission as CSV: one row per item', tags: ['submissions'], params: paramsSchema },
  }, async (request, reply) => {
    const principal = principalOf(request);
    const scope = scopeOf(principal);
    // The header answers "may this caller see it" before anything is streamed.
    const head = await deps.store.getSubmissionPage(request.params.id, scope, { afterLine: null, limit: 1, counts: false });
    if (!head) return sendProblem(reply, 'NOT_FOUND', 'No such submission.');
    await deps.store.appendAudit({
      actor: principal.actor, action: 'submission.report_csv', subjectType: 'submission', subjectId: head.id, at: deps.clock.now(),
      detail: { force: head.force, items: head.itemCount },
    });
    return reply
      .type('text/csv; charset=utf-8')
      .header('content-disposition', `attachment; filename="submission-${head.id.replace(/[^A-Za-z0-9_-]/g, '')}.csv"`)
      .send(Readable.from(csvReport(deps.store, head.id, scope)));
  });
}
