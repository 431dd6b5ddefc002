/** Forces and API keys (admin only). */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { isVigilError } from '../../core/errors.js';
import type { ApiDeps } from '../api-deps.js';
import { generateToken, hashToken } from '../auth.js';
import { allow, principalOf } from '../guards.js';
import { sendProblem } from '../problem.js';
import { parseBody } from '../validate.js';

const forceBody = z.object({
  id: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, 'lower-case letters, digits, "-" and "_", at most 64'),
  name: z.string().min(1).max(200),
  webhook: z.object({ url: z.url({ protocol: /^https?$/ }), secret: z.string().regex(/^whsec_[A-Za-z0-9+/=]{16,}$/, 'a Standard Webhooks secret: whsec_ + base64') }).strict().optional(),
}).strict();

const keyBody = z.object({
  role: z.enum(['admin', 'analyst', 'force', 'recipient']),
  force: z.string().optional(),
  recipient: z.string().optional(),
  label: z.string().max(200).optional(),
  expiresAt: z.iso.datetime({ offset: true }).optional(),
}).strict()
  .refine((k) => k.role !== 'force' || k.force !== undefined, { message: 'a force key needs "force"', path: ['force'] })
  .refine((k) => k.role !== 'recipient' || k.recipient !== undefined, { message: 'a recipient key needs "recipient"', path: ['recipient'] })
  .refine((k) => k.role === 'force' || k.force === undefined, { message: '"force" is only for role force', path: ['force'] })
  .refine((k) => k.role === 'recipient' || k.recipient === undefined, { message: '"recipient" is only for role recipient', path: ['recipient'] });

export function registerAdminRoutes(app: FastifyInstance, deps: ApiDeps): void {
  const adminOnly = allow(deps.auth, ['admin']);

  app.post('/v1/forces', { preHandler: adminOnly }, async (request, reply) => {
    const body = parseBody(forceBody, request.body);
    try {
      const force = await deps.store.createForce({ id: body.id, name: body.name, webhookUrl: body.webhook?.url ?? null, webhookSecret: body.webhook?.secret ?? null });
      await deps.store.appendAudit({ actor: principalOf(request).actor, action: 'force.create', subjectType: 'force', subjectId: force.id, at: deps.clock.now() });
      return reply.code(201).send({ id: force.id, name: force.name, webhook: force.webhookUrl ? { url: force.webhookUrl } : null, createdAt: force.createdAt });
    } catch (err) {
      if (isVigilError(err, 'FORCE_EXISTS')) return sendProblem(reply, 'FORCE_EXISTS', `A force with id "${body.id}" already exists.`);
      throw err;
    }
  });

  app.post('/v1/keys', { preHandler: adminOnly }, async (request, reply) => {
    const body = parseBody(keyBody, request.body);
    if (body.force !== undefined && !(await deps.store.getForce(body.force))) {
      return sendProblem(reply, 'FORCE_UNKNOWN', `No force with id "${body.force}"; create it first (POST /v1/forces).`);
    }
    const token = generateToken();
    const key = await deps.store.createApiKey({
      id: deps.newId(),
      role: body.role,
      forceId: body.force ?? null,
      recipientId: body.recipient ?? null,
      label: body.label ?? null,
      tokenHash: hashToken(token),
      expiresAt: body.expiresAt ? new Date(body.expiresAt) : null,
    });
    await deps.store.appendAudit({ actor: principalOf(request).actor, action: 'key.create', subjectType: 'api_key', subjectId: key.id, detail: { role: key.role, force: key.forceId, recipient: key.recipientId }, at: deps.clock.now() });
    return reply.code(201).send({ id: key.id, token, role: key.role, force: key.forceId, recipient: key.recipientId, label: key.label, expiresAt: key.expiresAt });
  });

  app.delete<{ Params: { id: string } }>('/v1/keys/:id', { preHandler: adminOnly }, async (request, reply) => {
    const revoked = await deps.store.revokeApiKey(request.params.id, deps.clock.now());
    if (!revoked) return sendProblem(reply, 'NOT_FOUND', 'No such key.');
    await deps.store.appendAudit({ actor: principalOf(request).actor, action: 'key.revoke', subjectType: 'api_key', subjectId: request.params.id, at: deps.clock.now() });
    return reply.code(204).send();
  });
}
