/** Submitting URL lists and reading them back (CONTRACT.md §4). */
import type { FastifyInstance } from 'fastify';
import type { ApiDeps } from '../api-deps.js';
import { allow, principalOf, scopeOf } from '../guards.js';
import { rawItemsFromJson, rawItemsFromText, validateItems } from '../intake/submission-items.js';
import { sendProblem } from '../problem.js';
import { isUuid } from '../validate.js';

export function registerSubmissionRoutes(app: FastifyInstance, deps: ApiDeps): void {
  app.post<{ Querystring: { force?: string; reference?: string } }>(
    '/v1/submissions',
    { preHandler: allow(deps.auth, ['force', 'admin']), bodyLimit: deps.limits.maxBodyBytes },
    async (request, reply) => {
      if (!deps.accepting()) return sendProblem(reply, 'SHUTTING_DOWN', 'vigil is shutting down; retry the submission shortly.');
      const principal = principalOf(request);
      const forceId = principal.role === 'force' ? principal.forceId : request.query.force;
      if (!forceId) return sendProblem(reply, 'VALIDATION_FAILED', 'An admin submits on behalf of a force: add ?force=ID.');
      if (principal.role === 'admin' && !(await deps.store.getForce(forceId))) {
        return sendProblem(reply, 'FORCE_UNKNOWN', `No force with id "${forceId}".`);
      }
      const contentType = (request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
      const { reference: bodyReference, items: raw } = contentType === 'application/json'
        ? rawItemsFromJson(request.body)
        : { reference: null, items: rawItemsFromText(String(request.body ?? '')) };
      const queryReference = typeof request.query.reference === 'string' ? request.query.reference.slice(0, 200) : null;
      const parsed = validateItems(bodyReference ?? queryReference, raw, deps.limits.maxItems);
      const id = deps.newId();
      const now = deps.clock.now();
      const created = parsed.items.length === 0
        ? { id, accepted: 0, duplicates: 0 }
        : await deps.store.createSubmission({ id, forceId, reference: parsed.reference, items: parsed.items, now });
      if (parsed.items.length > 0) {
        await deps.store.appendAudit({
          actor: principal.actor, action: 'submission.create', subjectType: 'submission', subjectId: id,
          detail: { force: forceId, items: parsed.items.length, rejected: parsed.rejected.length }, at: now,
        });
      }
      request.log.info({ submissionId: parsed.items.length ? id : null, force: forceId, accepted: created.accepted, duplicates: created.duplicates, rejected: parsed.rejected.length }, 'submission received');
      return reply.code(202).send({ id: parsed.items.length ? id : null, accepted: created.accepted, duplicates: created.duplicates, rejected: parsed.rejected });
    },
  );

  app.get<{ Params: { id: string } }>(
    '/v1/submissions/:id',
    { preHandler: allow(deps.auth, ['force', 'analyst', 'admin'], 'not_found') },
    async (request, reply) => {
      const principal = principalOf(request);
      // An id that cannot exist answers like one the caller may not see.
      if (!isUuid(request.params.id)) return sendProblem(reply, 'NOT_FOUND', 'No such submission.');
      const submission = await deps.store.getSubmission(request.params.id, scopeOf(principal));
      if (!submission) return sendProblem(reply, 'NOT_FOUND', 'No such submission.');
      await deps.store.appendAudit({ actor: principal.actor, action: 'submission.read', subjectType: 'submission', subjectId: submission.id, at: deps.clock.now() });
      return submission;
    },
  );
}
