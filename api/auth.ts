/**
 * Bearer-token authentication. API keys are `vgl_` + 256 random bits (base64url), stored only
 * as a sha256 hash; the bootstrap admin token comes from `auth.adminToken`. Unknown, revoked and
 * expired tokens are indistinguishable to the caller (one 401).
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Clock } from '../core/clock.js';
import type { Role, Store } from '../core/store.js';

export const TOKEN_PREFIX = 'vgl_';

export interface Principal {
  role: Role;
  /** null for the bootstrap admin token */
  keyId: string | null;
  forceId: string | null;
  recipientId: string | null;
  /** who to write into the audit log */
  actor: string;
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

export function generateToken(): string {
  return TOKEN_PREFIX + randomBytes(32).toString('base64url');
}

export function bearerToken(header: string | undefined): string | null {
  if (!header) return null;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match?.[1] ?? null;
}

export interface Authenticator {
  authenticate(authorization: string | undefined): Promise<Principal | null>;
}

export function createAuthenticator(deps: { store: Store; clock: Clock; adminToken: string | null }): Authenticator {
  const adminHash = deps.adminToken ? Buffer.from(hashToken(deps.adminToken), 'hex') : null;
  return {
    async authenticate(authorization) {
      const token = bearerToken(authorization);
      if (token === null || token.length > 512) return null;
      const hash = hashToken(token);
      // Compare hashes in constant time: equal length by construction.
      if (adminHash && timingSafeEqual(adminHash, Buffer.from(hash, 'hex'))) {
        return { role: 'admin', keyId: null, forceId: null, recipientId: null, actor: 'admin-token' };
      }
      const key = await deps.store.findApiKeyByHash(hash);
      if (!key) return null;
      const now = deps.clock.now();
      if (key.revokedAt !== null) return null;
      if (key.expiresAt !== null && key.expiresAt.getTime() <= now.getTime()) return null;
      return { role: key.role, keyId: key.id, forceId: key.forceId, recipientId: key.recipientId, actor: `key:${key.id}` };
    },
  };
}
