/** Reading one report (CONTRACT.md §4). */
import type { FastifyInstance } from 'fastify';
import type { ApiDeps } from '../api-deps.js';
import { allow, principalOf, scopeOf } from '../guards.js';
import { sendProblem } from '../problem.js';
import { isUuid } from '../validate.js';

export function registerReportRoutes(app: FastifyInstance, deps: ApiDeps): void {
  app.get<{ Params: { id: string } }>(
    '/v1/reports/:id',
    { preHandler: allow(deps.auth, ['force', 'analyst', 'admin'], 'not_found') },
    async (request, reply) => {
      const principal = principalOf(request);
      // An id that cannot exist answers like one the caller may not see.
      if (!isUuid(request.params.id)) return sendProblem(reply, 'NOT_FOUND', 'No such report.');
      const report = await deps.store.getReport(request.params.id, scopeOf(principal));
      if (!report) return sendProblem(reply, 'NOT_FOUND', 'No such report.');
      await deps.store.appendAudit({ actor: principal.actor, action: 'report.read', subjectType: 'report', subjectId: report.id, at: deps.clock.now() });
      return report;
    },
  );
}
