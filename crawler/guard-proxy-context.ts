/**
 * What the guard proxy's parts share (crawler/guard-proxy.ts, -forward.ts, -tunnel.ts): the
 * context each request is served with, the verdict header names, and how a destination is named.
 */
import { FETCH_ERROR_KINDS, type FetchErrorKind } from '../core/fetcher.js';
import type { HostResolver } from '../tracing/dns-resolver.js';
import type { ParsedCidr } from './address-policy.js';
import type { GuardedAgent } from './guarded-agent.js';

/** Why the proxy did not (fully) serve a request, as the browser fetcher reads it. */
export interface ProxyVerdict {
  kind: FetchErrorKind;
  /** short code (refused range, resolver code, error code), never content */
  detail: string;
  /** `performance.now()` when it was recorded */
  at: number;
}

/** Name of the header on the proxy's own error responses; stripped from upstream responses. */
export const GUARD_HEADER = 'x-vigil-guard';
/** Detail header on the proxy's own error responses; stripped from upstream responses. */
export const GUARD_DETAIL_HEADER = 'x-vigil-guard-detail';

/** Why the proxy refused by policy. */
export type RefusalReason =
  | 'blocked_address' // the guard: not a public address, not in allowNetworks
  | 'blocked_scheme' // not an http(s) target
  | 'websocket' // an upgrade request
  | 'plaintext_tunnel' // a CONNECT tunnel whose client did not start TLS (ws:// and the like)
  | 'media' // a request for an image, video, audio or font
  | 'not_proxy_request' // origin-form request, or a target that does not parse
  | 'refuse_all'; // the proxy refuses everything (background traffic)

const FETCH_KINDS: ReadonlySet<string> = new Set(FETCH_ERROR_KINDS);

/** What the forward and tunnel steps share with the proxy. */
export interface ProxyContext {
  resolver: HostResolver;
  allow: readonly ParsedCidr[];
  agent: GuardedAgent;
  connectTimeoutMs: number;
  requestTimeoutMs: number;
  tunnelIdleMs: number;
  maxBodyBytes: number;
  /** a request or tunnel reached its checked destination */
  allowed(): void;
  /** refused by policy; recorded for `authority` (`host:port`, as the browser names it) */
  refuse(authority: string, reason: RefusalReason, detail: string): void;
  /** allowed, but failed upstream (or a guard error kind that is not a policy refusal) */
  fail(authority: string, kind: FetchErrorKind, detail: string): void;
}

/** Whether `kind` is one of the fetcher's error kinds (guard errors mapped by mapFetchError). */
export function isFetchErrorKind(kind: string): kind is FetchErrorKind {
  return FETCH_KINDS.has(kind);
}

/**
 * The proxy's verdict on a response the browser got, or null. Only a plain-HTTP response can carry
 * one: the proxy answers those itself or forwards them, stripping the two headers from upstream
 * answers. An https response came through a CONNECT tunnel the proxy cannot read, so its headers
 * are the origin's own — honoured, they would let a site say "this name does not exist" and have
 * live content counted gone. (A refused tunnel reaches the fetcher as the proxy's recorded
 * verdict for the authority, never as a response.)
 */
export function guardVerdictOf(responseUrl: string, headers: Readonly<Record<string, string>>): { kind: FetchErrorKind; detail: string } | null {
  const kind = headers[GUARD_HEADER];
  if (kind === undefined || !responseUrl.toLowerCase().startsWith('http:')) return null;
  return { kind: isFetchErrorKind(kind) ? kind : 'other', detail: headers[GUARD_DETAIL_HEADER] ?? '' };
}

/**
 * `host:port` of an absolute-form request target or a CONNECT target, host lower-cased and
 * canonicalised the way the browser's URL parser does; the raw text when it does not parse.
 */
export function authorityOf(target: string | undefined): string {
  const text = target ?? '';
  try {
    const url = /^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? new URL(text) : new URL(`http://${text}`);
    const port = url.port || (url.protocol === 'https:' || url.protocol === 'wss:' ? '443' : '80');
    return `${url.hostname}:${port}`.toLowerCase();
  } catch {
    return text.toLowerCase();
  }
}
