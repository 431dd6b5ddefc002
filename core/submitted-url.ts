/**
 * Validation and normalisation of one submitted URL (WHATWG URL). Pure.
 * A URL that parses but is not http/https is accepted as a report with status `refused`
 * (CONTRACT.md §4), so the submitting force sees it was never fetched; text that is not a URL
 * at all is rejected on its own line.
 */
export type SubmittedUrl =
  | { ok: true; url: string; initialStatus: 'pending' | 'refused' }
  | { ok: false; error: string };

export const MAX_URL_LENGTH = 8192;

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
  parsed.hash = '';
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    return { ok: true, url: parsed.href, initialStatus: 'refused' };
  }
  if (parsed.hostname === '') return { ok: false, error: 'URL has no host' };
  return { ok: true, url: parsed.href, initialStatus: 'pending' };
}
