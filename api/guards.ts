/**
 * Route guards: who may call what (CONTRACT.md §4 roles), and the tenant scope of the caller.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Role, Scope } from '../core/store.js';
import type { Authenticator, Principal } from './auth.js';
import { sendProblem } from './problem.js';

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null;
  }
}

/** A preHandler that authenticates and admits only the given roles (others: 404 where the route names an object, else 403). */
export function allow(auth: Authenticator, roles: readonly Role[], onDenied: 'forbidden' | 'not_found' = 'forbidden') {
  return async (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | void> => {
    const principal = await auth.authenticate(request.headers.authorization);
    if (!principal) {
      return sendProblem(reply, 'UNAUTHORIZED', 'A valid bearer token is required.').header('www-authenticate', 'Bearer');
    }
    request.principal = principal;
    if (!roles.includes(principal.role)) {
      return onDenied === 'not_found'
        ? sendProblem(reply, 'NOT_FOUND', 'No such object.')
        : sendProblem(reply, 'FORBIDDEN', `This needs one of the roles: ${roles.join(', ')}.`);
    }
  };
}

export function principalOf(request: FastifyRequest): Principal {
  if (!request.principal) throw new Error('route reached without authentication');
  return request.principal;
}

/** The data a principal may read: its own force's, or everything for operators. */
export function scopeOf(principal: Principal): Scope {
  return principal.role === 'force' ? { forceId: principal.forceId } : { forceId: null };
}
