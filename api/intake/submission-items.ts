/**
 * Turn a submission body (JSON or one URL a line) into items to monitor and lines to reject.
 * Each bad line is rejected on its own with its line number and reason; the rest are accepted.
 */
import { VigilError } from '../../core/errors.js';
import { VERDICTS, type Verdict } from '../../core/report-status.js';
import type { NewSubmissionItem } from '../../core/store.js';
import { parseSubmittedUrl } from '../../core/submitted-url.js';

export interface RawItem {
  line: number;
  input: string;
  sha256?: unknown;
  sha1?: unknown;
  md5?: unknown;
  verdict?: unknown;
}

export interface RejectedLine {
  line: number;
  input: string;
  error: string;
}

export interface ParsedSubmission {
  reference: string | null;
  items: NewSubmissionItem[];
  rejected: RejectedLine[];
}

const HEX_LENGTH = { sha256: 64, sha1: 40, md5: 32 } as const;

export function rawItemsFromText(text: string): RawItem[] {
  const items: RawItem[] = [];
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  lines.forEach((line, index) => {
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#')) return;
    items.push({ line: index + 1, input: trimmed });
  });
  return items;
}

export function rawItemsFromJson(body: unknown): { reference: string | null; items: RawItem[] } {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new VigilError('VALIDATION_FAILED', 'expected a JSON object {reference?, items: [{url, sha256?, sha1?, md5?, verdict?}]}');
  }
  const { reference, items } = body as { reference?: unknown; items?: unknown };
  if (reference !== undefined && reference !== null && (typeof reference !== 'string' || reference.length > 200)) {
    throw new VigilError('VALIDATION_FAILED', 'reference: expected a string of at most 200 characters');
  }
  if (!Array.isArray(items)) throw new VigilError('VALIDATION_FAILED', 'items: expected an array');
  return {
    reference: typeof reference === 'string' ? reference : null,
    items: items.map((item: unknown, index) => {
      const line = index + 1;
      if (typeof item === 'string') return { line, input: item };
      if (typeof item !== 'object' || item === null) return { line, input: JSON.stringify(item) ?? '' , sha256: undefined };
      const o = item as Record<string, unknown>;
      return { line, input: typeof o.url === 'string' ? o.url : '', sha256: o.sha256, sha1: o.sha1, md5: o.md5, verdict: o.verdict };
    }),
  };
}

function checkHash(name: keyof typeof HEX_LENGTH, value: unknown): string | null | { error: string } {
  if (value === undefined || value === null || value === '') return null;
  if (typeof value !== 'string' || !new RegExp(`^[0-9a-fA-F]{${HEX_LENGTH[name]}}$`).test(value)) {
    return { error: `${name}: expected ${HEX_LENGTH[name]} hex digits` };
  }
  return value.toLowerCase();
}

/** Validate raw items; enforce the item limit (413 beyond it). */
export function validateItems(reference: string | null, raw: RawItem[], maxItems: number): ParsedSubmission {
  if (raw.length > maxItems) {
    throw new VigilError('PAYLOAD_TOO_LARGE', `${raw.length} items submitted; at most ${maxItems} are accepted in one submission. Split the list.`);
  }
  const items: NewSubmissionItem[] = [];
  const rejected: RejectedLine[] = [];
  for (const r of raw) {
    const parsed = parseSubmittedUrl(r.input);
    if (!parsed.ok) {
      rejected.push({ line: r.line, input: r.input.slice(0, 2048), error: parsed.error });
      continue;
    }
    const hashes = { sha256: checkHash('sha256', r.sha256), sha1: checkHash('sha1', r.sha1), md5: checkHash('md5', r.md5) };
    const hashError = Object.values(hashes).find((h): h is { error: string } => typeof h === 'object' && h !== null);
    if (hashError) {
      rejected.push({ line: r.line, input: r.input.slice(0, 2048), error: hashError.error });
      continue;
    }
    let verdict: Verdict | null = null;
    if (r.verdict !== undefined && r.verdict !== null && r.verdict !== '') {
      if (typeof r.verdict !== 'string' || !(VERDICTS as readonly string[]).includes(r.verdict)) {
        rejected.push({ line: r.line, input: r.input.slice(0, 2048), error: `verdict: expected one of ${VERDICTS.join(', ')}` });
        continue;
      }
      verdict = r.verdict as Verdict;
    }
    items.push({
      line: r.line,
      input: r.input,
      url: parsed.url,
      sha256: hashes.sha256 as string | null,
      sha1: hashes.sha1 as string | null,
      md5: hashes.md5 as string | null,
      verdict,
      initialStatus: parsed.initialStatus,
    });
  }
  return { reference, items, rejected };
}
