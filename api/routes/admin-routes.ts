/** Forces and API keys (admin only). */
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { isVigilError } from '../../core/errors.js';
import type { ApiDeps } from '../api-deps.js';
import { generateToken, hashToken } from '../auth.js';
import { principalOf, type Guards } from '../guards.js';
import { sendProblem } from '../problem.js';

const webhookBody = z.object({
  url: z.url({ protocol: /^https?$/ }),
  secret: z.string().regex(/^whsec_[A-Za-z0-9+/=]{16,}$/, 'a Standard Webhooks secret: whsec_ + base64'),
}).strict();

const forceBody = z.object({
  id: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, 'lower-case letters, digits, "-" and "_", at most 64'),
  name: z.string().min(1).max(200),
  webhook: webhookBody.optional(),
}).strict();

// a new webhook (a changed URL, a rotated secret), none (null), or a new name
const forcePatchBody = z.object({
  name: z.string().min(1).max(200).optional(),
  webhook: webhookBody.nullable().optional(),
}).strict().refine((f) => f.name !== undefined || f.webhook !== undefined, { message: 'give "name" or "webhook" (null removes the webhook)' });

const forceParams = z.object({ id: z.string().max(64) });

type ForceView = { id: string; name: string; webhook: { url: string } | null; createdAt: Date };
const forceView = (f: { id: string; name: string; webhookUrl: string | null; createdAt: Date }): ForceView =>
  ({ id: f.id, name: f.name, webhook: f.webhookUrl ? { url: f.webhookUrl } : null, createdAt: f.createdAt });

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

const keyParams = z.object({ id: z.string().max(200) });

export function registerAdminRoutes(app: FastifyInstance, deps: ApiDeps, guards: Guards): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const adminOnly = guards.allow(['admin']);

  r.post('/v1/forces', { onRequest: adminOnly, schema: { summary: 'Add a police force', tags: ['admin'], body: forceBody } }, async (request, reply) => {
    const body = request.body;
    try {
      const force = await deps.store.createForce({ id: body.id, name: body.name, webhookUrl: body.webhook?.url ?? null, webhookSecret: body.webhook?.secret ?? null });
      await deps.store.appendAudit({
        actor: principalOf(request).actor, action: 'force.create', subjectType: 'force', subjectId: force.id, at: deps.clock.now(),
        detail: { name: force.name, webhook: force.webhookUrl !== null },
      });
      return reply.code(201).send(forceView(force));
    } catch (err) {
      if (isVigilError(err, 'FORCE_EXISTS')) return sendProblem(reply, 'FORCE_EXISTS', `A force with id "${body.id}" already exists; change it with PATCH /v1/forces/${body.id}.`);
      throw err;
    }
  });

  // Change a force's name or webhook: a moved endpoint, a rotated secret. A webhook given
  // re-enables the endpoint a 410 disabled (the operator says the address is right now).
  r.patch('/v1/forces/:id', {
    onRequest: adminOnly,
    schema: { summary: 'Change a police force (name, webhook)', tags: ['admin'], params: forceParams, body: forcePatchBody },
  }, async (request, reply) => {
    const { id } = request.params;
    const body = request.body;
    const now = deps.clock.now();
    const force = await deps.store.updateForce({
      id, now, ...(body.name !== undefined ? { name: body.name } : {}), ...(body.webhook !== undefined ? { webhook: body.webhook } : {}),
    });
    if (!force) return sendProblem(reply, 'NOT_FOUND', `No force with id "${id}".`);
    await deps.store.appendAudit({
      actor: principalOf(request).actor, action: 'force.update', subjectType: 'force', subjectId: force.id, at: now,
      // never the secret: only whether the webhook changed and whether there is one now
      detail: { ...(body.name !== undefined ? { name: body.name } : {}), ...(body.webhook !== undefined ? { webhook: body.webhook === null ? 'removed' : 'set' } : {}) },
    });
    return forceView(force);
  });

  r.post('/v1/keys', { onRequest: adminOnly, schema: { summary: 'Create an API key (the token is shown once)', tags: ['admin'], body: keyBody } }, async (request, reply) => {
    const body = request.body;
    if (body.force !== undefined && !(await deps.store.getForce(body.force))) {
      return sendProblem(reply, 'FORCE_UNKNOWN', `No force with id "${body.force}"; create it first (POST /v1/forces).`);
    }
    // A key for a recipient the directory does not list could never acknowledge anything.
    if (body.recipient !== undefined && deps.recipientIds !== undefined && !deps.recipientIds.includes(body.recipient)) {
      const known = deps.recipientIds.length > 0 ? `; the directory lists ${deps.recipientIds.map((id) => `"${id}"`).join(', ')}` : '; the directory lists none';
      return sendProblem(reply, 'RECIPIENT_UNKNOWN', `No recipient with id "${body.recipient}" in directory.recipients${known}.`);
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
    await deps.store.appendAudit({
      actor: principalOf(request).actor, action: 'key.create', subjectType: 'api_key', subjectId: key.id, at: deps.clock.now(),
      detail: { role: key.role, force: key.forceId, recipient: key.recipientId, label: key.label, expiresAt: key.expiresAt?.toISOString() ?? null },
    });
    return reply.code(201).send({ id: key.id, token, role: key.role, force: key.forceId, recipient: key.recipientId, label: key.label, expiresAt: key.expiresAt });
  });

  r.delete('/v1/keys/:id', { onRequest: adminOnly, schema: { summary: 'Revoke an API key', tags: ['admin'], params: keyParams } }, async (request, reply) => {
    const revoked = await deps.store.revokeApiKey(request.params.id, deps.clock.now());
    if (!revoked) return sendProblem(reply, 'NOT_FOUND', 'No such key.');
    await deps.store.appendAudit({ actor: principalOf(request).actor, action: 'key.revoke', subjectType: 'api_key', subjectId: request.params.id, at: deps.clock.now() });
    return reply.code(204).send();
  });
}
