/**
 * The `/admin` session cookie and CSRF tokens.
 *
 * Cookie `vigil_admin` = `<session id>.<HMAC-SHA256(secret, "session." + id)>` (base64url), HttpOnly,
 * SameSite=Strict, Path=/admin, Secure when vigil is served over https. The id is 256 random bits;
 * the store keeps only its sha256 with the role and the API key it was opened with, so a session
 * ends at logout, at expiry, or when that key is revoked.
 *
 * CSRF: every form carries `_csrf` = HMAC(secret, "csrf." + session id) — a token bound to the
 * session that a page on another origin cannot read. The login form, before a session exists,
 * binds its token to a random `vigil_login` cookie the same way (login CSRF).
 *
 * The secret is one row of `server_secrets`, so every API process accepts the others' cookies.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';

export const SESSION_COOKIE = 'vigil_admin';
export const LOGIN_COOKIE = 'vigil_login';
export const SESSION_SECRET_NAME = 'admin-session-hmac';
/** @default 8 hours */
export const DEFAULT_SESSION_TTL_MS = 8 * 3_600_000;

const ID = /^[A-Za-z0-9_-]{43}$/;

export function newSessionId(): string {
  return randomBytes(32).toString('base64url');
}

export function hashSessionId(id: string): string {
  return createHash('sha256').update(id, 'utf8').digest('hex');
}

function mac(secret: string, purpose: string, value: string): string {
  return createHmac('sha256', secret).update(`${purpose}.${value}`, 'utf8').digest('base64url');
}

function equal(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Constant-time comparison of a submitted token with the expected one. */
export function sameToken(submitted: unknown, expected: string): boolean {
  return typeof submitted === 'string' && submitted.length < 200 && equal(submitted, expected);
}

export function signSession(secret: string, id: string): string {
  return `${id}.${mac(secret, 'session', id)}`;
}

/** The session id a cookie value carries, if its signature holds. */
export function verifySession(secret: string, value: string | undefined): string | null {
  if (!value) return null;
  const dot = value.indexOf('.');
  const id = value.slice(0, dot);
  if (dot < 0 || !ID.test(id)) return null;
  return equal(value.slice(dot + 1), mac(secret, 'session', id)) ? id : null;
}

export function csrfToken(secret: string, bound: string, purpose: 'csrf' | 'login' = 'csrf'): string {
  return mac(secret, purpose, bound);
}

export function checkCsrf(secret: string, bound: string | null | undefined, token: unknown, purpose: 'csrf' | 'login' = 'csrf'): boolean {
  return bound ? sameToken(token, csrfToken(secret, bound, purpose)) : false;
}

/** Cookies of a request (the first value of each name). */
export function readCookies(request: FastifyRequest): Record<string, string> {
  const header = request.headers.cookie;
  const out: Record<string, string> = {};
  if (!header) return out;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    const name = part.slice(0, eq).trim();
    if (!name || name in out) continue;
    const value = part.slice(eq + 1).trim();
    try {
      out[name] = decodeURIComponent(value);
    } catch {
      out[name] = value;
    }
  }
  return out;
}

export interface CookieOptions {
  maxAgeSeconds?: number;
  secure: boolean;
}

/** Appends a Set-Cookie header (several may be set on one reply). */
export function setCookie(reply: FastifyReply, name: string, value: string, options: CookieOptions): void {
  const parts = [`${name}=${encodeURIComponent(value)}`, 'Path=/admin', 'HttpOnly', 'SameSite=Strict'];
  if (options.maxAgeSeconds !== undefined) parts.push(`Max-Age=${Math.max(0, Math.floor(options.maxAgeSeconds))}`);
  if (options.secure) parts.push('Secure');
  const previous = reply.getHeader('set-cookie');
  const list = previous === undefined ? [] : Array.isArray(previous) ? previous.map(String) : [String(previous)];
  reply.header('set-cookie', [...list, parts.join('; ')]);
}

export function clearCookie(reply: FastifyReply, name: string, secure: boolean): void {
  setCookie(reply, name, '', { maxAgeSeconds: 0, secure });
}
