/**
 * Acknowledgements (CONTRACT.md §4): `POST /v1/notices/:id/ack {status?: received|actioned}`, by
 * the recipient's own key, or by the signed link in the notice (`?token=`, no key needed). A key
 * of another recipient, a wrong token, a force event or an unknown id all answer 404: a caller
 * never learns that a notice it may not acknowledge exists. An acknowledgement is recorded on the
 * notice (and every notice of its batch) with an audit row; it does not stop re-alerts — only a
 * confirmed removal does.
 *
 * `GET` on the link shows a page with a confirm button and changes nothing: mail scanners and
 * link previews fetch links, and must not acknowledge for the recipient.
 */
import { randomBytes } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { ACK_SECRET_NAME, verifyAckToken } from '../../core/ack-token.js';
import type { ApiDeps } from '../api-deps.js';
import { principalOf, type Guards } from '../guards.js';
import { sendProblem } from '../problem.js';
import { parseBody } from '../validate.js';

const NOTICE_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

const ackBodySchema = z.strictObject({
  status: z.enum(['received', 'actioned']).default('received').describe('`actioned` once the recipient has acted'),
});

type AckRequest = FastifyRequest<{ Params: { id: string }; Querystring: { token?: string } }>;

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export function registerNoticeRoutes(app: FastifyInstance, deps: ApiDeps, guards: Guards): void {
  // a recipient acknowledges its own notices; an admin (CONTRACT.md §4: everything) any recipient's
  const recipientOrAdmin = guards.allow(['recipient', 'admin'], 'not_found');
  // One secret for every process (store/server_secrets); fetched once, again after a failure.
  let secret: Promise<string> | null = null;
  const ackSecret = (): Promise<string> => {
    secret ??= deps.store.getOrCreateSecret(ACK_SECRET_NAME, randomBytes(32).toString('base64url'))
      .catch((err: unknown) => { secret = null; throw err; });
    return secret;
  };
  const tokenOf = (request: AckRequest): string | null => (typeof request.query.token === 'string' ? request.query.token : null);
  const linkValid = async (request: AckRequest): Promise<boolean> => {
    const token = tokenOf(request);
    return token !== null && token.length <= 128 && NOTICE_ID.test(request.params.id) && verifyAckToken(await ackSecret(), request.params.id, token);
  };

  void app.register(async (scope) => {
    // The confirm page posts an HTML form.
    scope.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: 1024 }, (_request, body, done) => {
      done(null, Object.fromEntries(new URLSearchParams(String(body))));
    });

    scope.post<{ Params: { id: string }; Querystring: { token?: string } }>('/v1/notices/:id/ack', {
      // With a link token no key is needed; without one, a recipient key (or an admin's).
      onRequest: async (request: AckRequest, reply: FastifyReply) => (tokenOf(request) === null ? recipientOrAdmin(request, reply) : undefined),
      schema: {
        summary: 'Acknowledge a notice (recipient key, admin key, or the link token)',
        tags: ['notices'],
        docBody: { 'application/json': ackBodySchema },
      },
    }, async (request, reply) => {
      const byLink = tokenOf(request) !== null;
      if (byLink && !(await linkValid(request))) return sendProblem(reply, 'NOT_FOUND', 'No such notice.');
      const { status } = parseBody(ackBodySchema, request.body ?? {});
      const principal = byLink ? null : principalOf(request);
      const result = await deps.store.ackNotice({
        noticeId: request.params.id,
        recipientId: principal === null || principal.role === 'admin' ? null : principal.recipientId ?? '',
        status,
        actor: principal ? principal.actor : 'ack-link',
        now: deps.clock.now(),
      });
      if (!result) return sendProblem(reply, 'NOT_FOUND', 'No such notice.');
      if (request.headers['content-type']?.startsWith('application/x-www-form-urlencoded')) {
        return reply.type('text/html; charset=utf-8').send(`<!doctype html><title>vigil</title><p>Notice ${escapeHtml(result.id)} acknowledged: ${escapeHtml(result.ackStatus)}. Re-alerts continue until removal is confirmed.</p>`);
      }
      return { id: result.id, ackStatus: result.ackStatus, ackedAt: result.ackedAt, notices: result.noticeIds, reports: result.reportIds };
    });

    scope.get<{ Params: { id: string }; Querystring: { token?: string } }>('/v1/notices/:id/ack', {
      schema: { summary: 'Confirmation page of an acknowledgement link (changes nothing)', tags: ['notices'] },
    }, async (request, reply) => {
      if (!(await linkValid(request))) return sendProblem(reply, 'NOT_FOUND', 'No such notice.');
      const action = `/v1/notices/${encodeURIComponent(request.params.id)}/ack?token=${encodeURIComponent(tokenOf(request) ?? '')}`;
      return reply.type('text/html; charset=utf-8').header('cache-control', 'no-store').send(`<!doctype html><title>vigil: acknowledge notice</title>
<p>Acknowledge notice ${escapeHtml(request.params.id)}?</p>
<form method="post" action="${escapeHtml(action)}">
<button name="status" value="received">Received</button>
<button name="status" value="actioned">Actioned</button>
</form>`);
    });
  });
}
