import { describe, expect, it } from 'vitest';
import { rawItemFromJson, rawItemFromTextLine, validateItem, validateItems } from '../../api/intake/submission-items.js';
import { isVigilError } from '../../core/errors.js';
import { parseSubmittedUrl, registrableDomainOf } from '../../core/submitted-url.js';

describe('parseSubmittedUrl', () => {
  it.each([
    ['http://a.test/x', { ok: true, url: 'http://a.test/x', host: 'a.test', registrableDomain: 'a.test', initialStatus: 'pending' }],
    ['  https://A.TEST/p?q=1#frag ', { ok: true, url: 'https://a.test/p?q=1', host: 'a.test', registrableDomain: 'a.test', initialStatus: 'pending' }],
    ['ftp://a.test/file', { ok: true, url: 'ftp://a.test/file', host: 'a.test', registrableDomain: null, initialStatus: 'refused' }],
    ['javascript:alert(1)', { ok: true, url: 'javascript:alert(1)', host: '', registrableDomain: null, initialStatus: 'refused' }],
    ['http://bücher.test/', { ok: true, url: 'http://xn--bcher-kva.test/', host: 'xn--bcher-kva.test', registrableDomain: 'xn--bcher-kva.test', initialStatus: 'pending' }],
    ['HTTP://www.Example.co.uk:80/a/../b', { ok: true, url: 'http://www.example.co.uk/b', host: 'www.example.co.uk', registrableDomain: 'example.co.uk', initialStatus: 'pending' }],
    ['https://user.github.io/p', { ok: true, url: 'https://user.github.io/p', host: 'user.github.io', registrableDomain: 'user.github.io', initialStatus: 'pending' }],
    ['http://127.0.0.9:8080/x', { ok: true, url: 'http://127.0.0.9:8080/x', host: '127.0.0.9', registrableDomain: null, initialStatus: 'pending' }],
    ['http://a.test/a b', { ok: true, url: 'http://a.test/a%20b', host: 'a.test', registrableDomain: 'a.test', initialStatus: 'pending' }],
    ['not a url', { ok: false, error: 'not an absolute URL' }],
    ['/relative/path', { ok: false, error: 'not an absolute URL' }],
    ['http://', { ok: false, error: 'not an absolute URL' }],
    ['', { ok: false, error: 'empty line' }],
  ])('%s', (input, expected) => {
    expect(parseSubmittedUrl(input)).toEqual(expected);
  });

  it('refuses credentials in the URL, on that line only', () => {
    for (const input of ['http://user:secret@a.test/', 'https://user@a.test/x', 'http://:pw@a.test/']) {
      const result = parseSubmittedUrl(input);
      expect(result.ok).toBe(false);
      expect(result.ok ? '' : result.error).toMatch(/credentials/);
    }
  });

  it('rejects absurdly long URLs', () => {
    expect(parseSubmittedUrl(`http://a.test/${'x'.repeat(9000)}`)).toEqual({ ok: false, error: 'URL longer than 8192 characters' });
  });

  it('has no registrable domain for IP literals', () => {
    expect(registrableDomainOf('[::1]')).toBeNull();
    expect(registrableDomainOf('127.0.0.5')).toBeNull();
    expect(registrableDomainOf('')).toBeNull();
  });
});

describe('submission items', () => {
  it('text: blank and # lines are not items; invalid UTF-8 is rejected on its own line', () => {
    expect(rawItemFromTextLine(1, '   ', true)).toBeNull();
    expect(rawItemFromTextLine(2, '# comment', true)).toBeNull();
    const bad = rawItemFromTextLine(3, 'http://a.test/\uFFFD', false);
    expect(validateItem(bad!)).toEqual({ ok: false, rejected: { line: 3, input: 'http://a.test/\uFFFD', error: 'not valid UTF-8' } });
    const good = validateItem(rawItemFromTextLine(4, '  http://a.test/4  ', true)!);
    // the original text is kept as submitted
    expect(good).toMatchObject({ ok: true, item: { line: 4, input: '  http://a.test/4  ', url: 'http://a.test/4', registrableDomain: 'a.test' } });
  });

  it('json: hashes, verdicts and unknown fields validated per item', () => {
    const raw = [
      { url: 'http://a.test/1', sha256: 'A'.repeat(64), verdict: 'illegal' },
      { url: 'http://a.test/2', md5: 'xyz' },
      { url: 'http://a.test/3', verdict: 'maybe' },
      'http://a.test/4',
      42,
      { url: 'http://a.test/6', sha265: 'typo' },
      { sha1: 'a'.repeat(40) },
    ].map(rawItemFromJson);
    const parsed = validateItems(raw, 10);
    expect(parsed.items.map((i) => i.line)).toEqual([1, 4]);
    expect(parsed.items[0]).toMatchObject({ sha256: 'a'.repeat(64), verdict: 'illegal', initialStatus: 'pending' });
    expect(parsed.rejected.map((r) => [r.line, r.error])).toEqual([
      [2, 'md5: expected 32 hex digits'],
      [3, 'verdict: expected one of illegal, not_illegal'],
      [5, 'expected an object {url, sha256?, sha1?, md5?, verdict?} or a URL string'],
      [6, 'unknown field "sha265"'],
      [7, 'url: Invalid input: expected string, received undefined'],
    ]);
    expect(parsed.rejected[3]?.input).toBe('http://a.test/6');
  });

  it('echoes at most 2048 characters of a rejected line', () => {
    const result = validateItem(rawItemFromTextLine(1, `x${'y'.repeat(1_000_000)}`, true)!);
    expect(result.ok).toBe(false);
    expect(result.ok ? 0 : result.rejected.input.length).toBe(2048);
  });

  it('more items than the limit is PAYLOAD_TOO_LARGE', () => {
    const raw = ['http://a.test/1', 'http://a.test/2', 'http://a.test/3'].map(rawItemFromJson);
    try {
      validateItems(raw, 2);
      expect.unreachable();
    } catch (err) {
      expect(isVigilError(err, 'PAYLOAD_TOO_LARGE')).toBe(true);
    }
  });
});
