/**
 * Route guards: who may call what (CONTRACT.md §4 roles), per-key rate limits, and the tenant
 * scope of the caller. Guards run as `onRequest` hooks: before a body is read or validated, so
 * an unauthenticated caller never gets as far as a 400 or a 50 MB upload.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Clock } from '../core/clock.js';
import type { Role, Scope } from '../core/store.js';
import type { Authenticator, Principal } from './auth.js';
import { sendProblem } from './problem.js';
import { TokenBuckets, type RateLimit } from './rate-limit.js';

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null;
  }
}

export type Guard = (request: FastifyRequest, reply: FastifyReply) => Promise<FastifyReply | void>;

export interface Guards {
  /**
   * Authenticates, rate-limits, and admits only `roles`. Others get 403 — or 404 where the
   * route names an object (`not_found`), so a caller never learns that it exists.
   */
  allow(roles: readonly Role[], onDenied?: 'forbidden' | 'not_found'): Guard;
}

export function createGuards(deps: { auth: Authenticator; clock: Clock; rateLimit: RateLimit | null }): Guards {
  const buckets = deps.rateLimit ? new TokenBuckets(deps.rateLimit, () => deps.clock.now().getTime()) : null;
  return {
    allow(roles, onDenied = 'forbidden') {
      return async (request, reply) => {
        const principal = await deps.auth.authenticate(request.headers.authorization);
        if (!principal) {
          // One answer for unknown, revoked and expired tokens alike.
          reply.header('www-authenticate', 'Bearer');
          return sendProblem(reply, 'UNAUTHORIZED', 'A valid bearer token is required.');
        }
        request.principal = principal;
        // API keys are limited; the bootstrap admin token (the operator's own way in) is not.
        if (buckets && principal.keyId !== null) {
          const taken = buckets.take(principal.keyId);
          if (!taken.allowed) {
            reply.header('retry-after', String(taken.retryAfterSeconds));
            return sendProblem(reply, 'RATE_LIMITED', `Too many requests with this key; retry after ${taken.retryAfterSeconds} s.`);
          }
        }
        if (!roles.includes(principal.role)) {
          return onDenied === 'not_found'
            ? sendProblem(reply, 'NOT_FOUND', 'No such object.')
            : sendProblem(reply, 'FORBIDDEN', `This needs one of the roles: ${roles.join(', ')}.`);
        }
      };
    },
  };
}

export function principalOf(request: FastifyRequest): Principal {
  if (!request.principal) throw new Error('route reached without authentication');
  return request.principal;
}

/**
 * The data a principal may read: everything for operators (admin, analyst), else its own
 * force's. A principal of no force (a recipient) gets a scope no force id matches (ids are
 * never empty): it sees nothing, even if a route admitted it by mistake.
 */
export function scopeOf(principal: Principal): Scope {
  if (principal.role === 'admin' || principal.role === 'analyst') return { forceId: null };
  return { forceId: principal.role === 'force' && principal.forceId ? principal.forceId : '' };
}
