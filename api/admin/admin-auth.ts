/**
 * Signing in to `/admin` with an API token (admin or analyst), the session check every operator
 * request passes, and logging out. See admin-session.ts for the cookie and the CSRF tokens.
 */
import { randomBytes } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Clock } from '../../core/clock.js';
import type { Store } from '../../core/store.js';
import type { Authenticator } from '../auth.js';
import {
  checkCsrf, clearCookie, csrfToken, DEFAULT_SESSION_TTL_MS, hashSessionId, LOGIN_COOKIE, newSessionId, readCookies, SESSION_COOKIE,
  SESSION_SECRET_NAME, setCookie, signSession, verifySession,
} from './admin-session.js';
import { html } from './html.js';
import { page } from './layout.js';

/** Who is signed in, for the pages and the hooks. */
export interface AdminContext {
  role: 'admin' | 'analyst';
  actor: string;
  idHash: string;
  /** the CSRF token every form of this session carries */
  csrf: string;
}

declare module 'fastify' {
  interface FastifyRequest {
    adminSession: AdminContext | null;
  }
  interface FastifyContextConfig {
    /** `/admin` routes open without a session (login, stylesheet) */
    adminPublic?: boolean;
  }
}

export interface AdminAuthDeps {
  store: Pick<Store, 'getOrCreateSecret' | 'createAdminSession' | 'findAdminSession' | 'endAdminSession' | 'appendAudit'>;
  auth: Authenticator;
  clock: Clock;
  /** @default 8 h */
  sessionTtlMs?: number;
  /** set the cookies' Secure flag (vigil served over https) */
  secureCookies: boolean;
}

export interface AdminAuth {
  secret(): Promise<string>;
  /** the signed-in operator of this request, or null */
  resolve(request: FastifyRequest): Promise<AdminContext | null>;
  registerRoutes(app: FastifyInstance): void;
}

/** Where to go after signing in: only a path under /admin (no open redirect). */
export function safeNext(next: unknown): string {
  if (typeof next !== 'string' || next.length > 500) return '/admin';
  return /^\/admin(?:[/?#][^\s\\]*)?$/.test(next) && !next.startsWith('//') ? next : '/admin';
}

const LOGIN_NONCE = /^[A-Za-z0-9_-]{22,64}$/;

export function createAdminAuth(deps: AdminAuthDeps): AdminAuth {
  const ttlMs = deps.sessionTtlMs ?? DEFAULT_SESSION_TTL_MS;
  let secretPromise: Promise<string> | null = null;
  const secret = () => {
    // one secret for every API process (server_secrets); read once, again after a failure
    secretPromise ??= deps.store.getOrCreateSecret(SESSION_SECRET_NAME, randomBytes(32).toString('base64url'))
      .catch((err: unknown) => { secretPromise = null; throw err; });
    return secretPromise;
  };

  async function resolve(request: FastifyRequest): Promise<AdminContext | null> {
    const value = readCookies(request)[SESSION_COOKIE];
    if (!value) return null;
    const key = await secret();
    const id = verifySession(key, value);
    if (!id) return null;
    const session = await deps.store.findAdminSession(hashSessionId(id), deps.clock.now());
    return session ? { role: session.role, actor: session.actor, idHash: session.idHash, csrf: csrfToken(key, id) } : null;
  }

  function loginPage(reply: FastifyReply, status: number, csrf: string, next: string, error?: string) {
    const body = html`<form method="post" action="/admin/login" class="login" id="login">
${error ? html`<p class="error" role="alert">${error}</p>` : ''}
<p>Sign in with an API token of an <strong>admin</strong> or an <strong>analyst</strong> (analysts see everything and change nothing but rechecks).</p>
<label for="token">API token</label><input type="password" id="token" name="token" autocomplete="off" required>
<input type="hidden" name="_csrf" value="${csrf}"><input type="hidden" name="next" value="${next}">
<p><button class="action" type="submit">Sign in</button></p></form>`;
    return reply.code(status).type('text/html; charset=utf-8').send(page('Sign in', body, null));
  }

  /** the login form's CSRF binding: the `vigil_login` cookie, made when missing */
  function loginNonce(request: FastifyRequest, reply: FastifyReply): string {
    const existing = readCookies(request)[LOGIN_COOKIE];
    if (existing && LOGIN_NONCE.test(existing)) return existing;
    const nonce = randomBytes(18).toString('base64url');
    setCookie(reply, LOGIN_COOKIE, nonce, { maxAgeSeconds: 3600, secure: deps.secureCookies });
    return nonce;
  }

  function registerRoutes(app: FastifyInstance): void {
    app.get<{ Querystring: { next?: string } }>('/login', { config: { adminPublic: true }, schema: { hide: true } }, async (request, reply) => {
      const next = safeNext(request.query.next);
      if (await resolve(request)) return reply.redirect(next, 303);
      const nonce = loginNonce(request, reply);
      return loginPage(reply, 200, csrfToken(await secret(), nonce, 'login'), next);
    });

    app.post<{ Body: Record<string, string> }>('/login', { config: { adminPublic: true }, schema: { hide: true } }, async (request, reply) => {
      const body = request.body ?? {};
      const key = await secret();
      const next = safeNext(body.next);
      const nonce = readCookies(request)[LOGIN_COOKIE];
      if (!checkCsrf(key, nonce && LOGIN_NONCE.test(nonce) ? nonce : null, body._csrf, 'login')) {
        const fresh = loginNonce(request, reply);
        return loginPage(reply, 403, csrfToken(key, fresh, 'login'), next, 'This form had expired. Please sign in again.');
      }
      const token = typeof body.token === 'string' ? body.token.trim() : '';
      const principal = token ? await deps.auth.authenticate(`Bearer ${token}`) : null;
      if (!principal || (principal.role !== 'admin' && principal.role !== 'analyst')) {
        request.log.warn({ known: principal !== null }, 'admin sign-in refused');
        return loginPage(reply, 401, csrfToken(key, nonce as string, 'login'), next, 'That token does not open the operator pages (an admin or analyst token is needed).');
      }
      const id = newSessionId();
      const now = deps.clock.now();
      const idHash = hashSessionId(id);
      await deps.store.createAdminSession({
        idHash, role: principal.role, actor: principal.actor, keyId: principal.keyId, createdAt: now, expiresAt: new Date(now.getTime() + ttlMs),
      });
      await deps.store.appendAudit({ actor: principal.actor, action: 'admin.login', subjectType: 'admin_session', subjectId: idHash.slice(0, 16), at: now, detail: { role: principal.role } });
      setCookie(reply, SESSION_COOKIE, signSession(key, id), { maxAgeSeconds: ttlMs / 1000, secure: deps.secureCookies });
      clearCookie(reply, LOGIN_COOKIE, deps.secureCookies);
      return reply.redirect(next, 303);
    });

    // Behind the session hook (not public): a CSRF-checked form.
    app.post<{ Body: Record<string, string> }>('/logout', { schema: { hide: true } }, async (request, reply) => {
      const session = request.adminSession;
      if (session) {
        const now = deps.clock.now();
        await deps.store.endAdminSession(session.idHash, now);
        await deps.store.appendAudit({ actor: session.actor, action: 'admin.logout', subjectType: 'admin_session', subjectId: session.idHash.slice(0, 16), at: now });
      }
      clearCookie(reply, SESSION_COOKIE, deps.secureCookies);
      return reply.redirect('/admin/login', 303);
    });
  }

  return { secret, resolve, registerRoutes };
}
