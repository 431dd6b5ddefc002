/**
 * Pure rules about media references on an HTML page: which element attributes name media, how a
 * raw attribute value becomes an absolute URL, and when two references are the same object.
 * The streaming extraction itself is in crawler/media-ref-collector.ts.
 */

/** Longest attribute value taken as a reference; longer ones (inline `data:` blobs) are skipped. */
export const MAX_REF_LENGTH = 4096;

/** Path endings of links (`<a href>`) that point straight at an image or video file. */
const MEDIA_PATH = /\.(jpe?g|jpe|png|gif|webp|avif|bmp|tiff?|heic|heif|jxl|svg|mp4|m4v|mov|webm|mkv|avi|wmv|flv|mpe?g|3gp|ogv|m3u8)$/i;

/** `<meta property|name=…>` values whose `content` is a media URL (Open Graph, Twitter cards). */
export const MEDIA_META_NAMES: ReadonlySet<string> = new Set([
  'og:image',
  'og:image:url',
  'og:image:secure_url',
  'og:video',
  'og:video:url',
  'og:video:secure_url',
  'twitter:image',
  'twitter:image:src',
]);

/** `<img>` attributes that name the image, lazy-loading variants included. */
export const IMG_SRC_ATTRIBUTES: readonly string[] = ['src', 'data-src', 'data-original', 'data-lazy-src'];
/** `<img>`/`<source>` attributes that hold a srcset list. */
export const SRCSET_ATTRIBUTES: readonly string[] = ['srcset', 'data-srcset'];

/**
 * The URLs of a `srcset` value (`a.jpg 1x, b.jpg 2x`), descriptors dropped
 * (HTML "parse a srcset attribute", simplified: a URL ends at whitespace; trailing commas cut).
 */
export function parseSrcset(value: string): string[] {
  const urls: string[] = [];
  const n = value.length;
  let i = 0;
  while (i < n) {
    while (i < n && (isSpace(value.charCodeAt(i)) || value.charCodeAt(i) === COMMA)) i++;
    const start = i;
    while (i < n && !isSpace(value.charCodeAt(i))) i++;
    let end = i;
    const endedByComma = end > start && value.charCodeAt(end - 1) === COMMA;
    while (end > start && value.charCodeAt(end - 1) === COMMA) end--;
    if (end > start) urls.push(value.slice(start, end));
    // skip the descriptors up to the next comma
    if (!endedByComma) while (i < n && value.charCodeAt(i) !== COMMA) i++;
  }
  return urls;
}

const COMMA = 0x2c;
/** ASCII whitespace as HTML defines it: space, tab, LF, FF, CR */
function isSpace(code: number): boolean {
  return code === 0x20 || code === 0x09 || code === 0x0a || code === 0x0c || code === 0x0d;
}

/**
 * An absolute http(s) URL for a raw reference, fragment dropped; null for empty, overlong,
 * unparseable and non-http(s) values (`data:`, `blob:`, `javascript:`).
 */
export function resolveRef(raw: string, base: string): string | null {
  return new RefResolver(base).resolve(raw);
}

/**
 * Path-only references that resolve by concatenation: characters the URL parser keeps as they are
 * in a path (no `%`, which could spell a dot segment, no `\`, no `:` that could start a scheme),
 * then an optional query of characters it keeps there too (`'` is encoded in a special URL's query).
 */
const PLAIN_ROOT_PATH = /^\/[A-Za-z0-9\-._~!$&'()*+,;=@/]*(?:\?[A-Za-z0-9\-._~!$&()*+,;=:@/?%]*)?$/;
const PLAIN_RELATIVE_PATH = /^[A-Za-z0-9_~-][A-Za-z0-9\-._~!$&'()*+,;=@/]*(?:\?[A-Za-z0-9\-._~!$&()*+,;=:@/?%]*)?$/;
/** a `.` or `..` path segment, which the parser would remove */
const DOT_SEGMENT = /(?:^|\/)\.\.?(?:[/?]|$)/;

/**
 * {@link resolveRef} against one base, for the many references of one page: the base is parsed
 * once, and a plain path (`/img/1.jpg`, `img/1.jpg?w=2`) is joined to it by concatenation, which
 * gives the same string the URL parser gives (tests/core/media-refs.test.ts compares the two on
 * generated values); anything else goes through the parser.
 */
export class RefResolver {
  /** `scheme://userinfo@host:port`, or null when the base is not an http(s) URL */
  private readonly root: string | null;
  /** the base's directory, ending in `/` */
  private readonly directory: string | null;

  constructor(private readonly base: string) {
    let parsed: URL | null = null;
    try {
      parsed = new URL(base);
    } catch {
      parsed = null;
    }
    if (parsed === null || (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')) {
      this.root = null;
      this.directory = null;
      return;
    }
    // what new URL('/', base) and new URL('.', base) give, without parsing twice more: the parts
    // as the URL serializer writes them (userinfo only when there is some)
    const { username, password } = parsed;
    const userinfo = username !== '' || password !== '' ? `${username}${password !== '' ? `:${password}` : ''}@` : '';
    this.root = `${parsed.protocol}//${userinfo}${parsed.host}`;
    this.directory = this.root + parsed.pathname.slice(0, parsed.pathname.lastIndexOf('/') + 1);
  }

  /** See {@link resolveRef}. */
  resolve(raw: string): string | null {
    let value = raw.trim();
    if (value === '' || value.length > MAX_REF_LENGTH) return null;
    // '#' always starts the fragment: cut it before parsing (cheaper than the URL's hash setter)
    const hashAt = value.indexOf('#');
    if (hashAt !== -1) value = value.slice(0, hashAt).trim();
    if (value === '') return null; // "#…" alone names the page itself, not media
    if (this.root !== null && this.directory !== null && !DOT_SEGMENT.test(value)) {
      if (value.charCodeAt(1) !== SLASH && PLAIN_ROOT_PATH.test(value)) return this.root + value;
      if (PLAIN_RELATIVE_PATH.test(value)) return this.directory + value;
    }
    let url: URL;
    try {
      url = new URL(value, this.base);
    } catch {
      return null;
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return null;
    return url.href;
  }
}

const SLASH = 0x2f;

/** Whether an absolute URL's path ends like an image or video file. */
export function isMediaLink(href: string): boolean {
  try {
    return MEDIA_PATH.test(new URL(href).pathname);
  } catch {
    return false;
  }
}

/**
 * Keys under which a reference counts as "the same object": the URL itself, the URL without its
 * query (CDNs rotate signed tokens and cache-busters), and the path alone (CDNs rotate shard
 * host names). The looser keys err towards "still there": a wrong `gone` is the costly mistake.
 */
export function refKeys(ref: string): string[] {
  let url: URL;
  try {
    url = new URL(ref);
  } catch {
    return [`u:${ref}`];
  }
  url.hash = '';
  const keys = [`u:${url.href}`, `o:${url.origin}${url.pathname}`];
  if (url.pathname !== '/' && url.pathname !== '') keys.push(`p:${url.pathname}`);
  return keys;
}
