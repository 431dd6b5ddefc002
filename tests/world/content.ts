/**
 * Synthetic content for the simulated internet: random bytes behind an image magic number, and
 * generated HTML pages. Nothing here is real media.
 */
import { createHash, randomBytes } from 'node:crypto';

export interface SyntheticImage {
  body: Buffer;
  /** `image/png` or `image/jpeg`. */
  contentType: string;
  /** Lower-case hex digests of `body`. */
  sha256: string;
  sha1: string;
  md5: string;
}

const MAGIC = {
  png: Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
  jpeg: Buffer.from([0xff, 0xd8, 0xff, 0xe0]),
} as const;

/** Hex digests of a buffer. */
export function digests(body: Buffer): { sha256: string; sha1: string; md5: string } {
  return {
    sha256: createHash('sha256').update(body).digest('hex'),
    sha1: createHash('sha1').update(body).digest('hex'),
    md5: createHash('md5').update(body).digest('hex'),
  };
}

/**
 * `bytes` bytes of random data starting with a PNG (default) or JPEG signature, and its digests.
 * Every call gives different bytes, so digests are unique per image.
 * @throws RangeError if `bytes` is smaller than the signature or above 64 MiB.
 */
export function syntheticImage(bytes = 1024, format: 'png' | 'jpeg' = 'png'): SyntheticImage {
  const magic = MAGIC[format];
  if (!Number.isInteger(bytes) || bytes < magic.length || bytes > 64 * 1024 * 1024) {
    throw new RangeError(`syntheticImage: bytes must be an integer in [${magic.length}, 64 MiB], got ${bytes}`);
  }
  const body = Buffer.concat([magic, randomBytes(bytes - magic.length)]);
  return { body, contentType: format === 'png' ? 'image/png' : 'image/jpeg', ...digests(body) };
}

export interface SyntheticPageOptions {
  /** @default 'Synthetic page' */
  title?: string;
  /** Image URLs (absolute or relative) placed in <img> tags, in order. */
  images?: string[];
  /** Paragraph text; a unique marker here lets tests prove content is never persisted. */
  text?: string;
  /** Link URLs placed in <a> tags. */
  links?: string[];
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);
}

/** A small, well-formed HTML document with the given title, images, links and text. */
export function syntheticPage(options: SyntheticPageOptions = {}): string {
  const title = escapeHtml(options.title ?? 'Synthetic page');
  const images = (options.images ?? []).map((src, i) => `    <img src="${escapeHtml(src)}" alt="image ${i + 1}">`);
  const links = (options.links ?? []).map((href) => `    <a href="${escapeHtml(href)}">${escapeHtml(href)}</a>`);
  const text = options.text === undefined ? [] : [`    <p>${escapeHtml(options.text)}</p>`];
  return [
    '<!doctype html>',
    '<html lang="en">',
    '  <head>',
    '    <meta charset="utf-8">',
    `    <title>${title}</title>`,
    '  </head>',
    '  <body>',
    `    <h1>${title}</h1>`,
    ...text,
    ...images,
    ...links,
    '  </body>',
    '</html>',
    '',
  ].join('\n');
}
