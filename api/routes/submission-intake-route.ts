/**
 * `POST /v1/submissions` (CONTRACT.md §4): a URL list as JSON, CSV or plain text. CSV and text
 * bodies are read as a stream; every line is validated on its own; the accepted ones are stored
 * in one transaction with their audit row; `Idempotency-Key` makes a retry safe.
 */
import type { Readable } from 'node:stream';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { anySubmittedDigestListed } from '../../core/content-digests.js';
import { isVigilError, VigilError } from '../../core/errors.js';
import type { ApiDeps } from '../api-deps.js';
import { principalOf, type Guards } from '../guards.js';
import { readJsonSubmission, readStreamedSubmission, type BodyKind, type ReadSubmission } from '../intake/submission-body.js';
import { jsonSubmissionDocSchema, validateItems } from '../intake/submission-items.js';
import { sendProblem } from '../problem.js';
import { IDEMPOTENCY_TTL_MS, idempotencyKeySchema, replayOrRefuse } from './idempotent-replay.js';

const querySchema = z.object({
  force: z.string().max(64).optional().describe('admin only: the force to submit for'),
  reference: z.string().max(200).optional().describe('case reference (CSV and text bodies; JSON has its own field)'),
});

const headersSchema = z.looseObject({
  'idempotency-key': idempotencyKeySchema.optional().describe('retry-safe submission: the same key from the same force within 24 h returns the first answer'),
});

const textBody = (description: string) => ({ type: 'string', description });

function kindOf(contentType: string | undefined): BodyKind {
  const type = (contentType ?? '').split(';')[0]?.trim().toLowerCase();
  return type === 'application/json' ? 'json' : type === 'text/csv' ? 'csv' : 'text';
}

async function readBody(request: FastifyRequest, deps: ApiDeps, kind: BodyKind, fingerprint: string): Promise<ReadSubmission> {
  if (kind === 'json') return readJsonSubmission(request.body, deps.limits, fingerprint);
  const declared = Number(request.headers['content-length']);
  if (Number.isFinite(declared) && declared > deps.limits.maxBodyBytes) {
    throw new VigilError('PAYLOAD_TOO_LARGE', `The body is ${declared} bytes; at most ${deps.limits.maxBodyBytes} are accepted in one submission. Split the list.`);
  }
  // Not destroyed when reading stops early: the 413 or 400 must still reach the client.
  const stream = request.body as Readable;
  return readStreamedSubmission(stream.iterator({ destroyOnReturn: false }), kind, deps.limits, fingerprint);
}

/**
 * A body left half-read (413, or a bad CSV header): the answer is sent at once, and the rest of
 * the body is read and dropped so the client, still sending, gets to read it — up to another
 * `maxBodyBytes`, after which the connection is cut.
 */
function abandonBody(request: FastifyRequest, maxBodyBytes: number): void {
  const stream = request.raw;
  let dropped = 0;
  stream.on('data', (chunk: Buffer) => {
    dropped += chunk.length;
    if (dropped > maxBodyBytes) stream.destroy();
  });
  stream.resume();
}

export function registerSubmissionIntake(app: FastifyInstance, deps: ApiDeps, guards: Guards): void {
  void app.register(async (scope) => {
    // In this route only, text bodies are handed over as a stream, unread.
    scope.removeContentTypeParser(['text/plain']);
    scope.addContentTypeParser(['text/plain', 'text/csv'], (_request, payload, done) => done(null, payload));

    scope.withTypeProvider<ZodTypeProvider>().post('/v1/submissions', {
      onRequest: guards.allow(['force', 'admin']),
      bodyLimit: deps.limits.maxBodyBytes,
      schema: {
        summary: 'Submit URLs to monitor',
        description: `JSON, CSV (header row naming \`url\`, optionally sha256, sha1, md5, verdict) or plain text (one URL a line). ` +
          `At most ${deps.limits.maxItems} items and ${deps.limits.maxBodyBytes} bytes (413 beyond). Bad lines are rejected one by one.`,
        tags: ['submissions'],
        querystring: querySchema,
        headers: headersSchema,
        docBody: {
          'application/json': jsonSubmissionDocSchema,
          'text/csv': textBody('header row naming url (and optionally sha256, sha1, md5, verdict), then one row per URL'),
          'text/plain': textBody('one URL a line; blank lines and lines starting with # are skipped'),
        },
      },
    }, async (request, reply) => {
      if (!deps.accepting()) return sendProblem(reply, 'SHUTTING_DOWN', 'vigil is shutting down; retry the submission shortly.');
      const principal = principalOf(request);
      const forceId = principal.role === 'force' ? principal.forceId : request.query.force;
      if (principal.role === 'force' && request.query.force !== undefined && request.query.force !== forceId) {
        return sendProblem(reply, 'FORBIDDEN', 'A force key submits for its own force only; leave out ?force=.');
      }
      if (!forceId) return sendProblem(reply, 'VALIDATION_FAILED', 'An admin submits on behalf of a force: add ?force=ID.');
      if (principal.role === 'admin' && !(await deps.store.getForce(forceId))) {
        return sendProblem(reply, 'FORCE_UNKNOWN', `No force with id "${forceId}".`);
      }
      const kind = kindOf(request.headers['content-type']);
      const key = request.headers['idempotency-key'];
      const queryReference = request.query.reference ?? null;
      let body: ReadSubmission;
      try {
        body = await readBody(request, deps, kind, `${kind}\n${forceId}\n${queryReference ?? ''}\n`);
      } catch (err) {
        if (kind !== 'json') abandonBody(request, deps.limits.maxBodyBytes);
        throw err;
      }
      const reference = body.reference ?? queryReference;
      const validated = validateItems(body.raw, deps.limits.maxItems);
      // a submitted digest in the hash list: the new report is `illegal` from the list (CONTRACT.md §4)
      const hashList = deps.hashList ?? null;
      const parsed = hashList === null ? validated : {
        ...validated,
        items: validated.items.map((item) => (anySubmittedDigestListed(item, hashList) ? { ...item, hashListMatch: true } : item)),
      };
      const now = deps.clock.now();
      if (key !== undefined) {
        if (await replayOrRefuse(deps, reply, principal.actor, forceId, key, body.bodyHash, now)) return reply;
      }
      if (parsed.items.length === 0) {
        // Nothing stored, so nothing to replay: a retry computes the same answer.
        return reply.code(202).send({ id: null, accepted: 0, duplicates: 0, rejected: parsed.rejected });
      }
      const id = deps.newId();
      let created;
      try {
        created = await deps.store.createSubmission({
          id, forceId, reference, items: parsed.items, rejected: parsed.rejected, now,
          ...(deps.expireAfterMs !== undefined ? { expireAfterMs: deps.expireAfterMs } : {}),
          ...(key !== undefined ? { idempotency: { key, requestHash: body.bodyHash, expiresAt: new Date(now.getTime() + (deps.idempotencyTtlMs ?? IDEMPOTENCY_TTL_MS)) } } : {}),
          audit: {
            actor: principal.actor, action: 'submission.create', subjectType: 'submission', subjectId: id, at: now,
            detail: { force: forceId, format: kind, items: parsed.items.length, rejected: parsed.rejected.length, ...(key !== undefined ? { idempotencyKey: key } : {}) },
          },
        });
      } catch (err) {
        // Another request with the same key won the race: answer as it did.
        if (key !== undefined && isVigilError(err, 'IDEMPOTENCY_CONFLICT')) {
          if (await replayOrRefuse(deps, reply, principal.actor, forceId, key, body.bodyHash, now)) return reply;
        }
        throw err;
      }
      request.log.info({
        submissionId: id, force: forceId, accepted: created.accepted, duplicates: created.duplicates, restarted: created.restarted, rejected: parsed.rejected.length,
      }, 'submission received');
      return reply.code(202).send({ id, accepted: created.accepted, duplicates: created.duplicates, rejected: parsed.rejected });
    });
  });
}
