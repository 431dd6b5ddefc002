/**
 * Submitted items, whatever the body format, validated one by one: each bad line is rejected on
 * its own with its line number and reason; the rest are accepted (CONTRACT.md §4).
 *
 * One zod schema describes an item (the JSON body's `items[]`, a CSV row); it validates every
 * format and is what the OpenAPI document shows.
 */
import { z } from 'zod';
import { VigilError } from '../../core/errors.js';
import { VERDICTS } from '../../core/report-status.js';
import type { NewSubmissionItem, RejectedItem } from '../../core/store.js';
import { parseSubmittedUrl } from '../../core/submitted-url.js';

/** input echoed back in a rejection (characters) */
export const MAX_ECHOED_INPUT = 2048;

const hex = (digits: number) => z.string().regex(new RegExp(`^[0-9a-fA-F]{${digits}}$`), `expected ${digits} hex digits`);

/** One item of a submission. */
export const submissionItemSchema = z.strictObject({
  url: z.string().describe('the URL as found; normalised by vigil (WHATWG URL, IDN to punycode, fragment dropped)'),
  sha256: hex(64).optional().describe('digest of the known content, if any'),
  sha1: hex(40).optional(),
  md5: hex(32).optional(),
  verdict: z.enum(VERDICTS).optional().describe('the submitting force\'s own assessment'),
});

/** `application/json` submission body: items are validated one by one (bad ones are rejected, not the body). */
export const jsonSubmissionSchema = z.strictObject({
  reference: z.string().max(200).nullish().describe('the force\'s case reference'),
  items: z.array(z.unknown()).describe('each an object (see SubmissionItem) or a URL string'),
});

/** What the OpenAPI document shows for a JSON body. */
export const jsonSubmissionDocSchema = jsonSubmissionSchema.extend({
  items: z.array(z.union([submissionItemSchema, z.string()])),
});

/** An item as read from the body, before validation. */
export interface RawItem {
  /** line (CSV, text) or 1-based index (JSON) */
  line: number;
  /** what to echo back when rejected */
  input: string;
  /** the item's fields, when the line could be read */
  fields?: Record<string, unknown>;
  /** why the line could not even be read */
  error?: string;
}

export interface ParsedSubmission {
  items: NewSubmissionItem[];
  rejected: RejectedItem[];
}

export function rawItemFromJson(value: unknown, index: number): RawItem {
  const line = index + 1;
  if (typeof value === 'string') return { line, input: value, fields: { url: value } };
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    const url = (value as { url?: unknown }).url;
    return { line, input: typeof url === 'string' ? url : JSON.stringify(value), fields: value as Record<string, unknown> };
  }
  return { line, input: JSON.stringify(value) ?? String(value), error: 'expected an object {url, sha256?, sha1?, md5?, verdict?} or a URL string' };
}

/** One line of `text/plain`: a URL; blank lines and `#` comments are not items. */
export function rawItemFromTextLine(line: number, text: string, utf8: boolean): RawItem | null {
  const trimmed = text.trim();
  if (trimmed === '' || trimmed.startsWith('#')) return null;
  return utf8 ? { line, input: text, fields: { url: text } } : { line, input: text, error: 'not valid UTF-8' };
}

function describeIssue(issue: z.core.$ZodIssue): string {
  const path = issue.path.length ? `${issue.path.join('.')}: ` : '';
  if (issue.code === 'unrecognized_keys') return `unknown field ${issue.keys.map((k) => JSON.stringify(k)).join(', ')}`;
  if (issue.code === 'invalid_value' && issue.path[0] === 'verdict') return `verdict: expected one of ${VERDICTS.join(', ')}`;
  return `${path}${issue.message}`;
}

function reject(raw: RawItem, error: string): RejectedItem {
  return { line: raw.line, input: raw.input.slice(0, MAX_ECHOED_INPUT), error };
}

/** Validates one item: the accepted item, or its rejection. */
export function validateItem(raw: RawItem): { ok: true; item: NewSubmissionItem } | { ok: false; rejected: RejectedItem } {
  if (raw.error !== undefined || raw.fields === undefined) return { ok: false, rejected: reject(raw, raw.error ?? 'unreadable line') };
  const checked = submissionItemSchema.safeParse(raw.fields);
  if (!checked.success) return { ok: false, rejected: reject(raw, checked.error.issues.map(describeIssue).join('; ')) };
  const fields = checked.data;
  const parsed = parseSubmittedUrl(fields.url);
  if (!parsed.ok) return { ok: false, rejected: reject(raw, parsed.error) };
  return {
    ok: true,
    item: {
      line: raw.line,
      input: fields.url,
      url: parsed.url,
      sha256: fields.sha256?.toLowerCase() ?? null,
      sha1: fields.sha1?.toLowerCase() ?? null,
      md5: fields.md5?.toLowerCase() ?? null,
      verdict: fields.verdict ?? null,
      initialStatus: parsed.initialStatus,
      registrableDomain: parsed.registrableDomain,
    },
  };
}

/**
 * Validates every item.
 * @throws VigilError PAYLOAD_TOO_LARGE beyond `maxItems`
 */
export function validateItems(raw: readonly RawItem[], maxItems: number): ParsedSubmission {
  if (raw.length > maxItems) throw tooManyItems(raw.length, maxItems);
  const items: NewSubmissionItem[] = [];
  const rejected: RejectedItem[] = [];
  for (const r of raw) {
    const result = validateItem(r);
    if (result.ok) items.push(result.item);
    else rejected.push(result.rejected);
  }
  return { items, rejected };
}

export function tooManyItems(count: number | string, maxItems: number): VigilError {
  return new VigilError('PAYLOAD_TOO_LARGE', `${count} items submitted; at most ${maxItems} are accepted in one submission. Split the list.`);
}
