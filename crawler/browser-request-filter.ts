/**
 * Which browser requests are images, video, audio or fonts — what the browser must never load
 * (CONTRACT.md §7). Pure; used by the browser's request route (with Playwright's resource type)
 * and again by the guard proxy (from the URL and headers alone), so a request that slips past
 * one is caught by the other where the proxy can see it (plain http).
 */

/** Playwright resource types that are aborted outright. */
export const BLOCKED_RESOURCE_TYPES: ReadonlySet<string> = new Set(['image', 'media', 'font', 'texttrack']);

/** `Sec-Fetch-Dest` values of media loads (sent by Chromium to potentially trustworthy origins). */
const BLOCKED_DESTS: ReadonlySet<string> = new Set(['image', 'video', 'audio', 'font', 'track', 'object', 'embed']);

const MEDIA_EXTENSION = new RegExp(
  '\\.(?:jpe?g|jfif|pjpeg|png|apng|gif|webp|avif|bmp|ico|cur|svgz?|tiff?|heic|heif|jxl|jp2|psd|raw' +
    '|mp4|m4v|m4s|webm|mkv|mov|qt|avi|wmv|asf|flv|f4v|mpe?g|mpg|3gp|3g2|ts|mts|m2ts|vob|ogv|m3u8|mpd' +
    '|mp3|m4a|aac|oga|ogg|opus|wav|flac|wma|mid|midi|weba' +
    '|woff2?|ttf|otf|eot|swf)$',
  'i',
);

const MEDIA_TYPE_PREFIXES = ['image/', 'video/', 'audio/', 'font/'];
const MEDIA_TYPES: ReadonlySet<string> = new Set([
  'application/ogg', 'application/mp4', 'application/font-woff', 'application/font-sfnt', 'application/x-font-ttf',
  'application/x-font-otf', 'application/x-font-woff', 'application/vnd.ms-fontobject', 'application/x-mpegurl',
  'application/vnd.apple.mpegurl', 'application/dash+xml', 'application/x-shockwave-flash',
]);

/** What a request filter looks at. Header names lower-case. */
export interface RequestFacts {
  url: string;
  headers: Readonly<Record<string, string | string[] | undefined>>;
  /** Playwright's `request.resourceType()`, where known */
  resourceType?: string;
}

/** Whether the path of `url` ends in a media or font file extension. Unparseable: false. */
export function looksLikeMediaUrl(url: string): boolean {
  try {
    return MEDIA_EXTENSION.test(new URL(url).pathname);
  } catch {
    return false;
  }
}

/** Whether a Content-Type names an image, video, audio or font. */
export function isMediaContentType(contentType: string | undefined): boolean {
  const type = (contentType ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  return MEDIA_TYPES.has(type) || MEDIA_TYPE_PREFIXES.some((p) => type.startsWith(p));
}

function header(facts: RequestFacts, name: string): string {
  const value = facts.headers[name];
  return (Array.isArray(value) ? value.join(', ') : value ?? '').trim().toLowerCase();
}

/**
 * Whether the request is for media and must not be sent: by resource type, by `Sec-Fetch-Dest`,
 * by an Accept header that asks for an image/video/audio/font first (favicons, which Chromium
 * fetches as resource type "other"), by a Range header (media players), or by a media extension.
 */
export function isBlockedRequest(facts: RequestFacts): boolean {
  if (facts.resourceType !== undefined && BLOCKED_RESOURCE_TYPES.has(facts.resourceType)) return true;
  if (BLOCKED_DESTS.has(header(facts, 'sec-fetch-dest'))) return true;
  const firstAccepted = header(facts, 'accept').split(',')[0]?.trim() ?? '';
  if (MEDIA_TYPE_PREFIXES.some((p) => firstAccepted.startsWith(p))) return true;
  if (header(facts, 'range').startsWith('bytes=')) return true;
  return looksLikeMediaUrl(facts.url);
}
