/**
 * The string formats configuration fields accept: URLs of given schemes, e-mail addresses, CIDRs,
 * DNS servers, identifiers, regular expressions. Each problem is a custom issue whose message says
 * what was expected; `showInput` lets the error list add what was written (with any password in it
 * masked, see `format-issues.ts`).
 */
import ipaddr from 'ipaddr.js';
import { z } from 'zod';

type Ctx = z.core.$RefinementCtx<string>;

function fail(ctx: Ctx, input: unknown, message: string, showInput = true): void {
  ctx.addIssue({ code: 'custom', input, message, params: { showInput } });
}

/**
 * A URL whose scheme is one of `schemes` (without `://`, e.g. `['http', 'https']`) and which names
 * a host.
 */
export function urlWithScheme(schemes: readonly string[]): z.ZodString {
  const expected = `expected a URL starting with ${schemes.map((s) => `${s}://`).join(' or ')}`;
  return z.string().superRefine((input, ctx) => {
    let url: URL;
    try {
      url = new URL(input);
    } catch {
      fail(ctx, input, expected);
      return;
    }
    if (!schemes.includes(url.protocol.slice(0, -1)) || url.hostname === '') fail(ctx, input, expected);
  });
}

/** An `http://` or `https://` URL. */
export const httpUrlSchema = urlWithScheme(['http', 'https']);

// Deliberately loose: a configured address is checked by the mail relay, not by a regex; this
// only catches what cannot be an address at all (no `@`, spaces, a display name pasted in).
const ADDRESS = /^[^\s@<>",;]+@[^\s@<>",;]+$/;

/** One e-mail address, `local@domain` (no display name). `vigil@localhost` is accepted. */
export const emailAddressSchema = z.string().superRefine((input, ctx) => {
  if (!ADDRESS.test(input)) fail(ctx, input, 'expected an e-mail address such as abuse@example.org');
});

/** A sender: `local@domain` or `Display Name <local@domain>`. */
export const mailboxSchema = z.string().superRefine((input, ctx) => {
  const named = /^[^<>]*<([^<>]+)>$/.exec(input.trim());
  const address = named === null ? input : (named[1] ?? '');
  if (!ADDRESS.test(address)) fail(ctx, input, 'expected an e-mail address such as vigil@example.org or "Vigil <vigil@example.org>"');
});

/** Whether `text` is an IP address in a canonical form (IPv4 dotted quad, IPv6 without zone). */
export function isPlainIp(text: string): boolean {
  if (ipaddr.IPv4.isValidFourPartDecimal(text)) return true;
  return text.includes(':') && !text.includes('%') && ipaddr.IPv6.isValid(text);
}

/**
 * The problem with `text` as a CIDR (`10.0.0.0/8`, `fd00::/8`), or `undefined` if it is one.
 * IPv4 must be a dotted quad: the short and hex forms `inet_aton` accepts (`127.1`, `0x7f.1`) are
 * refused, because an allow-list entry must mean exactly what it looks like.
 */
export function cidrProblem(text: string): string | undefined {
  const expected = 'expected a CIDR such as 10.0.0.0/8 or fd00::/8';
  const slash = text.lastIndexOf('/');
  if (slash < 0) return `${expected} (the /prefix length is missing)`;
  const address = text.slice(0, slash);
  const prefix = text.slice(slash + 1);
  if (!/^(0|[1-9]\d{0,2})$/.test(prefix) || !isPlainIp(address)) return expected;
  const max = ipaddr.IPv4.isValidFourPartDecimal(address) ? 32 : 128;
  if (Number(prefix) > max) return `prefix length must be at most ${max}`;
  return undefined;
}

/** A CIDR, IPv4 or IPv6. */
export const cidrSchema = z.string().superRefine((input, ctx) => {
  const problem = cidrProblem(input);
  if (problem !== undefined) fail(ctx, input, problem);
});

/** A port number written in a string, 1–65535. */
function isPort(text: string): boolean {
  return /^[1-9]\d{0,4}$/.test(text) && Number(text) <= 65_535;
}

/**
 * A DNS server as Node's resolver takes it: `1.1.1.1`, `127.0.0.1:5353`, `::1` or `[::1]:5353`.
 * Host names are refused: a resolver cannot be found by resolving.
 */
export const dnsServerSchema = z.string().superRefine((input, ctx) => {
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(input);
  const ipv4WithPort = /^([\d.]+):(\d+)$/.exec(input);
  let ok: boolean;
  if (bracketed !== null) ok = ipaddr.IPv6.isValid(bracketed[1] ?? '') && (bracketed[2] === undefined || isPort(bracketed[2]));
  else if (ipv4WithPort !== null) ok = ipaddr.IPv4.isValidFourPartDecimal(ipv4WithPort[1] ?? '') && isPort(ipv4WithPort[2] ?? '');
  else ok = isPlainIp(input);
  if (!ok) fail(ctx, input, 'expected a DNS server address such as 127.0.0.1:5353, 1.1.1.1 or [::1]:53');
});

/**
 * An identifier that appears in URLs, API calls and logs (recipient and vantage ids): letters,
 * digits, `.`, `_`, `-`; starting with a letter or digit; at most 64 characters.
 */
export const identifierSchema = z.string().superRefine((input, ctx) => {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(input)) {
    fail(ctx, input, 'expected an id of letters, digits, ".", "_" or "-" (at most 64, starting with a letter or digit)');
  }
});

/**
 * A regular expression source, compiled as the crawler compiles it (`new RegExp(source, 'i')`,
 * see core/takedown-patterns.ts). A pattern that matches the empty string is refused: it would
 * match every page, and every live page would be taken for a removed one.
 */
export const regexSourceSchema = z.string().superRefine((input, ctx) => {
  let re: RegExp;
  try {
    re = new RegExp(input, 'i');
  } catch (err) {
    const reason = err instanceof Error ? err.message.replace(/^Invalid regular expression: \/.*\/[a-z]*: /s, '') : String(err);
    fail(ctx, input, `not a valid regular expression (${reason})`);
    return;
  }
  if (re.test('')) fail(ctx, input, 'matches the empty string, so it would match every page');
});

/** A string with at least one non-space character. */
export const nonEmptyStringSchema = z.string().superRefine((input, ctx) => {
  if (input.trim() === '') fail(ctx, input, 'must not be empty', false);
});

/**
 * Refuse repeated `id`s in an array of objects; the issue points at the later item's `id`. Pass
 * {@link EVEN_WITH_OTHER_PROBLEMS} as the refinement's params so duplicates are reported beside
 * other problems of the items, not only once those are fixed.
 */
export function uniqueIds<T>(items: T[], ctx: z.core.$RefinementCtx<T[]>): void {
  if (!Array.isArray(items)) return;
  const seen = new Map<string, number>();
  items.forEach((item: unknown, index) => {
    const id = item !== null && typeof item === 'object' ? (item as { id?: unknown }).id : undefined;
    if (typeof id !== 'string') return;
    const first = seen.get(id);
    if (first === undefined) seen.set(id, index);
    else ctx.addIssue({ code: 'custom', input: id, path: [index, 'id'], message: `duplicate id "${id}" (also at index ${first})` });
  });
}

/** Refinement params: run the refinement even when parsing the value found other problems. */
export const EVEN_WITH_OTHER_PROBLEMS = { when: () => true } as const;
