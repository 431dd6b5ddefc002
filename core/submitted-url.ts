/**
 * Validation and normalisation of one submitted URL (WHATWG URL). Pure.
 *
 * - The WHATWG parser does the normalising: scheme and host lower-cased, IDN hosts to punycode,
 *   default ports dropped, dot segments resolved, unsafe characters percent-encoded.
 * - The fragment is dropped: it never reaches the server, so `#a` and `#b` are one report.
 * - Credentials (`user:pass@`) are refused on their own line: vigil must not store or send them.
 * - A URL that parses but is not http/https is accepted as a report with status `refused`
 *   (CONTRACT.md §4), so the submitting force sees it was never fetched.
 * - The registrable domain (public-suffix list, private suffixes included, via tldts) is kept
 *   beside the report so analysts can group reports by who controls the name.
 */
import { getDomain } from 'tldts';

export type SubmittedUrl =
  | { ok: true; url: string; host: string; registrableDomain: string | null; initialStatus: 'pending' | 'refused' }
  | { ok: false; error: string };

/** @default 8192 characters after trimming */
export const MAX_URL_LENGTH = 8192;

/**
 * The registrable domain of a host name, with private suffixes (`user.github.io` stays whole:
 * that is who controls the content); null for IP literals and bare names.
 */
export function registrableDomainOf(hostname: string): string | null {
  if (hostname === '' || hostname.startsWith('[')) return null;
  return getDomain(hostname, { allowPrivateDomains: true }) ?? null;
}

export function parseSubmittedUrl(input: string): SubmittedUrl {
  const text = input.trim();
  if (text === '') return { ok: false, error: 'empty line' };
  if (text.length > MAX_URL_LENGTH) return { ok: false, error: `URL longer than ${MAX_URL_LENGTH} characters` };
  let parsed: URL;
  try {
    parsed = new URL(text);
  } catch {
    return { ok: false, error: 'not an absolute URL' };
  }
  if (parsed.username !== '' || parsed.password !== '') {
    return { ok: false, error: 'URL contains credentials (user:password@); remove them and submit the line again' };
  }
  parsed.hash = '';
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    return { ok: true, url: parsed.href, host: parsed.hostname, registrableDomain: null, initialStatus: 'refused' };
  }
  if (parsed.hostname === '') return { ok: false, error: 'URL has no host' };
  return {
    ok: true,
    url: parsed.href,
    host: parsed.hostname,
    registrableDomain: registrableDomainOf(parsed.hostname),
    initialStatus: 'pending',
  };
}
