/**
 * Property tests of the list parser and the URL normaliser over generated inputs (a seeded
 * generator, so a failure names its seed and can be replayed; fast-check is not among the
 * installed packages).
 */
import { describe, expect, it } from 'vitest';
import { CsvRecordSplitter, type CsvRecord } from '../../api/intake/csv-records.js';
import { parseSubmittedUrl } from '../../core/submitted-url.js';

/** xorshift32: deterministic, seedable */
function generator(seed: number) {
  let x = seed >>> 0 || 1;
  const next = () => { x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0; return x / 2 ** 32; };
  const int = (n: number) => Math.floor(next() * n);
  const pick = <T>(items: readonly T[]): T => items[int(items.length)] as T;
  return { int, pick };
}

const ALPHABET = ['a', 'b', 'Z', '0', '9', ' ', ',', '"', '\n', '/', ':', '?', '=', '&', 'é', 'ß', '☃', '\t', '-', '.'];

function csvField(value: string): string {
  return /[",\n]/.test(value) || value !== value.trim() ? `"${value.replace(/"/g, '""')}"` : value;
}

function parseAll(lines: string[]): CsvRecord[] {
  const splitter = new CsvRecordSplitter();
  const out: CsvRecord[] = [];
  lines.forEach((text, i) => out.push(...splitter.push({ line: i + 1, text, utf8: true })));
  return [...out, ...splitter.end()];
}

describe('CSV records (properties)', () => {
  it('written CSV reads back field for field, each record numbered by its first line', () => {
    for (let seed = 1; seed <= 300; seed++) {
      const g = generator(seed);
      const records = Array.from({ length: 1 + g.int(8) }, () =>
        Array.from({ length: 1 + g.int(4) }, () => Array.from({ length: 1 + g.int(12) }, () => g.pick(ALPHABET)).join('').trim() || 'x'));
      const text = records.map((r) => r.map(csvField).join(',')).join('\n');
      const expectedLines: number[] = [];
      let line = 1;
      for (const r of records) {
        expectedLines.push(line);
        line += r.map(csvField).join(',').split('\n').length;
      }
      const parsed = parseAll(text.split('\n'));
      expect(parsed.map((p) => ('fields' in p ? p.fields : p.error)), `seed ${seed}`).toEqual(records);
      expect(parsed.map((p) => p.line), `seed ${seed}`).toEqual(expectedLines);
    }
  });

  it('one line with a stray quote loses only itself: every other line is read, with its number', () => {
    for (let seed = 1; seed <= 300; seed++) {
      const g = generator(seed);
      const good = Array.from({ length: 2 + g.int(40) }, (_, i) => `http://h${seed}-${i}.test/${g.pick(['a', 'b,c', 'd?e=f'])}`);
      const badAt = g.int(good.length + 1);
      const bad = `${g.pick(['', 'x,', ' '])}"${g.pick(['open', 'open,still', ''])}`;
      const lines = [...good.slice(0, badAt), bad, ...good.slice(badAt)];
      const parsed = parseAll(lines);
      const errors = parsed.filter((p) => 'error' in p);
      expect(errors.map((e) => e.line), `seed ${seed}`).toEqual([badAt + 1]);
      const read = parsed.filter((p): p is CsvRecord & { fields: string[] } => 'fields' in p);
      expect(read.map((r) => r.fields.join(',')), `seed ${seed}`).toEqual(good);
      expect(read.map((r) => r.line), `seed ${seed}`).toEqual(good.map((_, i) => (i < badAt ? i + 1 : i + 2)));
    }
  });
});

describe('URL normaliser (properties)', () => {
  const schemes = ['http', 'https', 'HTTP', 'HtTpS', 'ftp', 'javascript'];
  const labels = ['a', 'xn--bcher-kva', 'bücher', 'ПРИМЕР', 'münchen', 'sub-domain', '例え', 'co', 'test'];
  const pathChars = ['a', '/', '%41', ' ', '..', '.', '?', '&', '=', '#', 'é', '"', '<', '|', '%'];

  it('is idempotent, ASCII in the host, and never keeps a fragment or credentials', () => {
    for (let seed = 1; seed <= 2000; seed++) {
      const g = generator(seed);
      const host = [...Array.from({ length: 1 + g.int(3) }, () => g.pick(labels)), 'test'].join('.');
      const port = g.pick(['', ':80', ':443', ':8080']);
      const userinfo = g.pick(['', '', '', 'user@', 'u:p@']);
      const rest = Array.from({ length: g.int(20) }, () => g.pick(pathChars)).join('');
      const input = `${g.pick(['', ' ', '\t'])}${g.pick(schemes)}://${userinfo}${host}${port}/${rest}${g.pick(['', ' '])}`;
      const first = parseSubmittedUrl(input);
      if (userinfo) {
        expect(first.ok, `seed ${seed}: ${input}`).toBe(false);
        continue;
      }
      if (!first.ok) continue;
      expect(parseSubmittedUrl(first.url), `seed ${seed}: ${input}`).toEqual(first);
      expect(first.url, `seed ${seed}`).not.toContain('#');
      expect(first.host, `seed ${seed}`).toMatch(/^[\x21-\x7e]*$/);
      if (first.initialStatus === 'pending') expect(first.registrableDomain, `seed ${seed}`).toMatch(/\.test$/);
    }
  });
});
