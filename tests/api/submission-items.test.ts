import { describe, expect, it } from 'vitest';
import { rawItemsFromJson, rawItemsFromText, validateItems } from '../../api/intake/submission-items.js';
import { isVigilError } from '../../core/errors.js';
import { parseSubmittedUrl } from '../../core/submitted-url.js';

describe('parseSubmittedUrl', () => {
  it.each([
    ['http://a.test/x', { ok: true, url: 'http://a.test/x', initialStatus: 'pending' }],
    ['  https://A.TEST/p?q=1#frag ', { ok: true, url: 'https://a.test/p?q=1', initialStatus: 'pending' }],
    ['ftp://a.test/file', { ok: true, url: 'ftp://a.test/file', initialStatus: 'refused' }],
    ['http://bücher.test/', { ok: true, url: 'http://xn--bcher-kva.test/', initialStatus: 'pending' }],
    ['not a url', { ok: false, error: 'not an absolute URL' }],
    ['/relative/path', { ok: false, error: 'not an absolute URL' }],
    ['', { ok: false, error: 'empty line' }],
  ])('%s', (input, expected) => {
    expect(parseSubmittedUrl(input)).toEqual(expected);
  });

  it('rejects absurdly long URLs', () => {
    expect(parseSubmittedUrl(`http://a.test/${'x'.repeat(9000)}`).ok).toBe(false);
  });
});

describe('submission items', () => {
  it('text: one URL a line; blank and # lines skipped; line numbers kept', () => {
    const raw = rawItemsFromText('\uFEFFhttp://a.test/1\r\n\n# comment\nnope\nhttp://a.test/2\n');
    expect(raw).toEqual([{ line: 1, input: 'http://a.test/1' }, { line: 4, input: 'nope' }, { line: 5, input: 'http://a.test/2' }]);
    const parsed = validateItems(null, raw, 10);
    expect(parsed.items.map((i) => [i.line, i.url])).toEqual([[1, 'http://a.test/1'], [5, 'http://a.test/2']]);
    expect(parsed.rejected).toEqual([{ line: 4, input: 'nope', error: 'not an absolute URL' }]);
  });

  it('json: hashes and verdicts validated per item', () => {
    const { reference, items } = rawItemsFromJson({
      reference: 'OP-1',
      items: [
        { url: 'http://a.test/1', sha256: 'A'.repeat(64), verdict: 'illegal' },
        { url: 'http://a.test/2', md5: 'xyz' },
        { url: 'http://a.test/3', verdict: 'maybe' },
        'http://a.test/4',
        42,
      ],
    });
    expect(reference).toBe('OP-1');
    const parsed = validateItems(reference, items, 10);
    expect(parsed.items.map((i) => i.line)).toEqual([1, 4]);
    expect(parsed.items[0]).toMatchObject({ sha256: 'a'.repeat(64), verdict: 'illegal', initialStatus: 'pending' });
    expect(parsed.rejected.map((r) => [r.line, r.error])).toEqual([
      [2, 'md5: expected 32 hex digits'],
      [3, 'verdict: expected one of illegal, not_illegal'],
      [5, 'not an absolute URL'],
    ]);
  });

  it('json: a body that is not the expected shape is a validation error', () => {
    expect(() => rawItemsFromJson([1, 2])).toThrow(/expected a JSON object/);
    expect(() => rawItemsFromJson({ items: 'x' })).toThrow(/items: expected an array/);
  });

  it('more items than the limit is PAYLOAD_TOO_LARGE', () => {
    const raw = rawItemsFromText('http://a.test/1\nhttp://a.test/2\nhttp://a.test/3');
    try {
      validateItems(null, raw, 2);
      expect.unreachable();
    } catch (err) {
      expect(isVigilError(err, 'PAYLOAD_TOO_LARGE')).toBe(true);
    }
  });
});
