/**
 * Whether a page fetched over HTTP should be fetched again in the browser (issue 3 item 6): a
 * pure rule over what the HTTP fetch reported. The browser costs a hundred times an HTTP check,
 * so it is kept for pages whose content plainly is built by script.
 *
 * The heuristic — every condition must hold:
 * 1. a 2xx HTML response (`text/html` or `application/xhtml+xml`) with a text sample;
 * 2. no media in it: the HTTP fetch found no media references, and the sample has no `<img`,
 *    `<picture`, `<video`, `<audio`, `<source`, `<embed`, `<object` or `og:image`/`og:video` —
 *    media the HTTP path can already see is checked there;
 * 3. little visible text: under {@link LITTLE_TEXT} characters once comments, `<script>`,
 *    `<style>`, `<noscript>`, `<template>`, `<svg>`, `<title>` and all tags are removed;
 * 4. at least one `<script` element;
 * 5. and a sign of a script-built page: a `<noscript>` asking for JavaScript; a known app root
 *    (`id="root"`, `"app"`, `"__next"`, `"__nuxt"`, `"svelte"`, `"___gatsby"`, `"q-app"`,
 *    `<app-root`, `ng-app`, `ng-version`, `data-reactroot`, `__NEXT_DATA__`, `__NUXT__`,
 *    `__INITIAL_STATE__`); or almost no visible text at all (under {@link NEAR_EMPTY_TEXT}),
 *    which is what a script shell or a script redirect looks like.
 */

/** What the rule reads of an HTTP fetch result; a `FetchResponse` fits. */
export interface PageSummary {
  status: number;
  /** lower-case header names */
  headers: Readonly<Record<string, string>>;
  /** lower-cased start of the body (HTML/text only); null when not sampled */
  textSample: string | null;
  /** media references the HTTP fetch extracted; null/undefined when it did not look */
  mediaRefs?: readonly string[] | null;
}

export interface BrowserChoice {
  needsBrowser: boolean;
  /** stable reason code, e.g. `app_root`, `has_media`, `enough_text` */
  reason: string;
}

/** Visible text below this many characters counts as "little". */
export const LITTLE_TEXT = 200;
/** Visible text below this many characters counts as "almost none". */
export const NEAR_EMPTY_TEXT = 40;

const HTML_TYPES = new Set(['text/html', 'application/xhtml+xml']);
const MEDIA_MARKUP = /<(?:img|picture|video|audio|source|embed|object)\b|\bog:(?:image|video)\b/;
const NOSCRIPT_PROMPT =
  /<noscript\b[^>]*>[\s\S]{0,2000}?(?:enable|turn on|activate|requires?|need|needs|without|disabled)[\s\S]{0,80}?javascript|<noscript\b[^>]*>[\s\S]{0,2000}?javascript[\s\S]{0,80}?(?:required|disabled|needed|enabled)/;
const APP_ROOT = new RegExp(
  [
    String.raw`\bid\s*=\s*["']?(?:root|app|__next|__nuxt|svelte|___gatsby|q-app|react-root|app-root)["'\s>]`,
    String.raw`<app-root\b`,
    String.raw`\bng-(?:app|version)\b`,
    String.raw`\bdata-reactroot\b`,
    String.raw`\b__next_data__\b`,
    String.raw`\bwindow\.__nuxt__\b`,
    String.raw`\b__initial_state__\b`,
  ].join('|'),
);

/** The sample's visible text, roughly: markup, scripts, styles and entities removed. */
export function visibleText(sample: string): string {
  return sample
    .replace(/<!--[\s\S]*?(?:-->|$)/g, ' ')
    .replace(/<(script|style|noscript|template|svg|title)\b[\s\S]*?(?:<\/\1\s*>|$)/g, ' ')
    .replace(/<[^>]*>?/g, ' ')
    .replace(/&(?:[a-z]+|#\d+|#x[0-9a-f]+);/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
}

/** The decision with its reason (for metrics and the check record). */
export function explainBrowserChoice(page: PageSummary): BrowserChoice {
  const no = (reason: string): BrowserChoice => ({ needsBrowser: false, reason });
  if (page.status < 200 || page.status > 299) return no('not_2xx');
  const type = (page.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  if (!HTML_TYPES.has(type)) return no('not_html');
  const sample = page.textSample;
  if (sample === null || sample.trim() === '') return no('no_sample');
  if ((page.mediaRefs?.length ?? 0) > 0 || MEDIA_MARKUP.test(sample)) return no('has_media');
  const text = visibleText(sample);
  if (text.length >= LITTLE_TEXT) return no('enough_text');
  if (!/<script\b/.test(sample)) return no('no_script');
  if (NOSCRIPT_PROMPT.test(sample)) return { needsBrowser: true, reason: 'noscript_prompt' };
  if (APP_ROOT.test(sample)) return { needsBrowser: true, reason: 'app_root' };
  if (text.length < NEAR_EMPTY_TEXT) return { needsBrowser: true, reason: 'script_shell' };
  return no('little_text_no_marker');
}

/** Whether the page should be fetched again in the browser. See the module comment. */
export function needsBrowser(page: PageSummary): boolean {
  return explainBrowserChoice(page).needsBrowser;
}
