/** Pure media-reference, metadata and digest helpers (core/media-refs.ts, media-metadata.ts, content-digests.ts). */
import { describe, expect, it } from 'vitest';
import { algorithmOfDigest, findHashListMatch, hasExpectedHashes, matchExpected } from '../../core/content-digests.js';
import { compatibleFamilies, mediaFamily, mediaMetadataFromHeaders, mediaTypeOf, sameEtag } from '../../core/media-metadata.js';
import { isMediaLink, parseSrcset, RefResolver, refKeys, resolveRef } from '../../core/media-refs.js';

describe('parseSrcset', () => {
  it.each([
    ['a.jpg', ['a.jpg']],
    ['a.jpg 1x, b.jpg 2x', ['a.jpg', 'b.jpg']],
    ['a.jpg 640w,b.jpg 1280w', ['a.jpg', 'b.jpg']],
    ['a.jpg,b.jpg', ['a.jpg,b.jpg']], // as HTML reads it: a comma inside a URL does not split
    ['  a.jpg  ,  ', ['a.jpg']],
    ['https://x.test/a,b.jpg 1x', ['https://x.test/a,b.jpg']],
    ['', []],
  ] as const)('%j → %j', (value, urls) => {
    expect(parseSrcset(value)).toEqual(urls);
  });
});

describe('resolveRef', () => {
  const base = 'https://host.test/dir/page.html';
  it.each([
    ['a.jpg', 'https://host.test/dir/a.jpg'],
    ['/a.jpg#x', 'https://host.test/a.jpg'],
    ['//cdn.test/a.jpg', 'https://cdn.test/a.jpg'],
    ['HTTP://CDN.TEST/A.jpg', 'http://cdn.test/A.jpg'],
    ['data:image/png;base64,AAAA', null],
    ['javascript:alert(1)', null],
    ['http://[bad', null],
    ['   ', null],
    [`/${'x'.repeat(5000)}`, null],
  ] as const)('%j → %j', (raw, url) => {
    expect(resolveRef(raw, base)).toBe(url);
  });
});

/** resolveRef as the URL parser alone gives it: the reference for RefResolver's concatenation path */
function viaParser(raw: string, base: string): string | null {
  let value = raw.trim();
  if (value === '' || value.length > 4096) return null;
  const hashAt = value.indexOf('#');
  if (hashAt !== -1) value = value.slice(0, hashAt).trim();
  if (value === '') return null;
  try {
    const url = new URL(value, base);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url.href : null;
  } catch {
    return null;
  }
}

describe('RefResolver', () => {
  const BASES = [
    'https://host.test/dir/page.html',
    'http://User:Pw@Host.TEST:8080/a/b/?q=1#f',
    'https://host.test',
    'http://[::1]:81/x/y',
    'https://host.test/dir/',
    'https://xn--bcher-kva.test/%7Euser/p?x',
    'http://:pw@host.test/a?',
    'https://user@host.test:443/a/b#',
    'HTTPS://HOST.test/%2e/x/../y/z',
  ];
  // characters that matter to URL parsing: separators, dots, percent, quotes, spaces, non-ASCII
  const ALPHABET = ['a', 'Z', '0', '.', '..', '/', '//', '\\', '?', '#', ':', '%', '%2e', '%2E', "'", '"', ' ', '\t', '\n',
    '~', '-', '_', '@', '!', '$', '&', '(', '*', '+', ',', ';', '=', '[', ']', '{', '`', '^', '|', '<', 'é', '\u00a0', 'x.jpg'];

  it('gives what the URL parser gives, on 20,000 generated references against nine bases', () => {
    // a fixed-seed LCG: the same cases every run
    let seed = 20261129;
    const next = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    let concatenated = 0;
    for (let i = 0; i < 20_000; i++) {
      const parts = Array.from({ length: 1 + next(8) }, () => ALPHABET[next(ALPHABET.length)] as string);
      const raw = (next(3) === 0 ? '/' : '') + parts.join('');
      const base = BASES[next(BASES.length)] as string;
      expect(new RefResolver(base).resolve(raw), `${JSON.stringify(raw)} against ${base}`).toBe(viaParser(raw, base));
      if (/^[/A-Za-z0-9_~-]/.test(raw) && !/[%\\\s:]/.test(raw)) concatenated++;
    }
    // the generator does reach the concatenation path, not only the parser
    expect(concatenated).toBeGreaterThan(1_000);
  });

  it.each([
    ['/img/1.jpg', 'https://host.test/img/1.jpg'],
    ['img/1.jpg?w=2&h=3', 'https://host.test/dir/img/1.jpg?w=2&h=3'],
    ['img/./1.jpg', 'https://host.test/dir/img/1.jpg'],
    ['../up.jpg', 'https://host.test/up.jpg'],
    ['/a/%2e%2e/b.jpg', 'https://host.test/b.jpg'],
    ['//cdn.test/x.jpg', 'https://cdn.test/x.jpg'],
    ['x:y.jpg', null],
  ] as const)('%j → %j', (raw, url) => {
    expect(new RefResolver('https://host.test/dir/page.html').resolve(raw)).toBe(url);
  });
});

describe('isMediaLink and refKeys', () => {
  it('media links by path ending, any case, query ignored', () => {
    expect(isMediaLink('https://h.test/a/b.JPG?x=1')).toBe(true);
    expect(isMediaLink('https://h.test/v.webm')).toBe(true);
    expect(isMediaLink('https://h.test/page.html')).toBe(false);
    expect(isMediaLink('https://h.test/jpg')).toBe(false);
  });

  it('keys: the URL, the URL without query, the path', () => {
    expect(refKeys('https://h.test/a/b.jpg?t=1#f')).toEqual(['u:https://h.test/a/b.jpg?t=1', 'o:https://h.test/a/b.jpg', 'p:/a/b.jpg']);
    expect(refKeys('https://h.test/')).toEqual(['u:https://h.test/', 'o:https://h.test/']);
  });
});

describe('media metadata', () => {
  it('from headers', () => {
    expect(mediaMetadataFromHeaders({ 'content-type': 'Image/JPEG; q=1', 'content-length': '42', etag: '"e"', 'last-modified': 'x' }))
      .toEqual({ contentType: 'image/jpeg', contentLength: 42, etag: '"e"', lastModified: 'x' });
    expect(mediaMetadataFromHeaders({ 'content-length': '-1', etag: '  ' }))
      .toEqual({ contentType: null, contentLength: null, etag: null, lastModified: null });
  });

  it.each([
    [null, 'binary'],
    ['application/octet-stream', 'binary'],
    ['image/webp', 'image'],
    ['video/mp4', 'video'],
    ['application/mp4', 'video'],
    ['audio/mpeg', 'audio'],
    ['text/html', 'page'],
    ['application/xhtml+xml', 'page'],
    ['text/plain', 'page'],
    ['application/json', 'other'],
  ] as const)('family of %s is %s', (type, family) => {
    expect(mediaFamily(type)).toBe(family);
  });

  it('compatible families', () => {
    expect(compatibleFamilies('image', 'binary')).toBe(true);
    expect(compatibleFamilies('video', 'audio')).toBe(true);
    expect(compatibleFamilies('image', 'video')).toBe(false);
    expect(compatibleFamilies('binary', 'page')).toBe(false);
    expect(compatibleFamilies('other', 'binary')).toBe(false);
  });

  it('mediaTypeOf and sameEtag', () => {
    expect(mediaTypeOf(' ; charset=x')).toBeNull();
    expect(sameEtag('W/"a"', '"a"')).toBe(true);
    expect(sameEtag('"a-gzip"', '"a"')).toBe(true);
    expect(sameEtag('"a"', '"b"')).toBe(false);
  });
});

describe('digests', () => {
  const digests = { sha256: 'a'.repeat(64), sha1: 'b'.repeat(40), md5: 'c'.repeat(32) };

  it('algorithm by hex length', () => {
    expect(algorithmOfDigest('A'.repeat(64))).toBe('sha256');
    expect(algorithmOfDigest('b'.repeat(40))).toBe('sha1');
    expect(algorithmOfDigest('c'.repeat(32))).toBe('md5');
    expect(algorithmOfDigest('c'.repeat(33))).toBeNull();
    expect(algorithmOfDigest('g'.repeat(32))).toBeNull();
  });

  it('expected hashes', () => {
    expect(hasExpectedHashes(undefined)).toBe(false);
    expect(hasExpectedHashes({ md5: 'nothex' })).toBe(false);
    expect(hasExpectedHashes({ md5: 'C'.repeat(32) })).toBe(true);
    expect(matchExpected(digests, { sha256: 'f'.repeat(64), md5: 'C'.repeat(32) })).toBe('md5');
    expect(matchExpected(digests, { sha256: 'f'.repeat(64) })).toBeNull();
  });

  it('hash-list match: strongest algorithm first', () => {
    const all = { has: (d: string) => Object.values(digests).includes(d) };
    expect(findHashListMatch(digests, all)).toEqual({ algorithm: 'sha256', digest: digests.sha256 });
    expect(findHashListMatch(digests, { has: (d) => d === digests.md5 })).toEqual({ algorithm: 'md5', digest: digests.md5 });
    expect(findHashListMatch(digests, null)).toBeNull();
  });
});
