/**
 * The body readers: lines from bytes (BOM, CRLF, invalid UTF-8, chunk boundaries, limits) and
 * CSV records from lines (quotes, a malformed row rejected on its own, recovery from a quote
 * left open).
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { bodyLines, meteredChunks, type BodyLine } from '../../api/intake/body-lines.js';
import { CsvRecordSplitter, MAX_RECORD_LINES, type CsvRecord } from '../../api/intake/csv-records.js';
import { readStreamedSubmission } from '../../api/intake/submission-body.js';
import { isVigilError } from '../../core/errors.js';

async function* chunksOf(...parts: (string | Buffer)[]): AsyncGenerator<Buffer> {
  for (const p of parts) yield typeof p === 'string' ? Buffer.from(p, 'utf8') : p;
}

async function linesOf(...parts: (string | Buffer)[]): Promise<BodyLine[]> {
  const out: BodyLine[] = [];
  for await (const l of bodyLines(chunksOf(...parts))) out.push(l);
  return out;
}

function records(text: string): CsvRecord[] {
  const splitter = new CsvRecordSplitter();
  const out: CsvRecord[] = [];
  text.split('\n').forEach((t, i) => out.push(...splitter.push({ line: i + 1, text: t, utf8: true })));
  return [...out, ...splitter.end()];
}

const summary = (rs: CsvRecord[]) => rs.map((r) => ('error' in r ? [r.line, 'ERROR', r.error] : [r.line, ...r.fields]));

describe('bodyLines', () => {
  it('numbers lines across chunk boundaries; drops a BOM and CRs; keeps a last line without LF', async () => {
    const lines = await linesOf('\uFEFFhttp://a.te', 'st/1\r\n\r\nhttp://a.test/2\r', '\nhttp://a.test/3');
    expect(lines).toEqual([
      { line: 1, text: 'http://a.test/1', utf8: true },
      { line: 2, text: '', utf8: true },
      { line: 3, text: 'http://a.test/2', utf8: true },
      { line: 4, text: 'http://a.test/3', utf8: true },
    ]);
  });

  it('marks a line that is not UTF-8 (Latin-1 bytes), and only that line', async () => {
    const latin1 = Buffer.from('http://caf\xe9.test/\n', 'latin1');
    const lines = await linesOf('http://a.test/1\n', latin1, 'http://caf\u00e9.test/\n');
    expect(lines.map((l) => l.utf8)).toEqual([true, false, true]);
  });

  it('a multi-byte character split between chunks is still valid UTF-8', async () => {
    const bytes = Buffer.from('http://bücher.test/\n', 'utf8');
    const cut = bytes.indexOf(0xc3) + 1;
    const lines = await linesOf(bytes.subarray(0, cut), bytes.subarray(cut));
    expect(lines).toEqual([{ line: 1, text: 'http://bücher.test/', utf8: true }]);
  });

  it('meteredChunks hashes what passes and stops at the byte limit', async () => {
    const hash = createHash('sha256');
    const seen: Buffer[] = [];
    for await (const c of meteredChunks(chunksOf('abc', 'def'), 6, hash)) seen.push(c);
    expect(hash.digest('hex')).toBe(createHash('sha256').update('abcdef').digest('hex'));
    const over = meteredChunks(chunksOf('abc', 'defg'), 6, createHash('sha256'));
    await expect((async () => { for await (const _ of over) { /* drain */ } })()).rejects.toMatchObject({ code: 'PAYLOAD_TOO_LARGE' });
  });
});

describe('CsvRecordSplitter', () => {
  it('splits plain rows on commas and trims fields; skips blank and comma-only lines', () => {
    expect(summary(records('url, sha1\n http://a.test/1 , x\n\n , ,\nhttp://a.test/2'))).toEqual([
      [1, 'url', 'sha1'], [2, 'http://a.test/1', 'x'], [5, 'http://a.test/2'],
    ]);
  });

  it('reads quoted fields: commas, doubled quotes, line breaks inside quotes (numbered by their first line)', () => {
    expect(summary(records('"http://a.test/?a=1,2","say ""hi"""\n"http://a.test/3","two\nlines"\nhttp://a.test/4'))).toEqual([
      [1, 'http://a.test/?a=1,2', 'say "hi"'], [2, 'http://a.test/3', 'two\nlines'], [4, 'http://a.test/4'],
    ]);
  });

  it('a stray quote inside an unquoted field is kept as text', () => {
    expect(summary(records('http://a.test/x"y,1\nhttp://a.test/2'))).toEqual([[1, 'http://a.test/x"y', '1'], [2, 'http://a.test/2']]);
  });

  it('rejects a row with garbage after a closing quote, alone: the next rows are read', () => {
    expect(summary(records('"http://a.test/1"x,1\nhttp://a.test/2,"q"\nhttp://a.test/3'))).toEqual([
      [1, 'ERROR', 'malformed CSV: a quoted field must end at a comma or the end of the line'],
      [2, 'http://a.test/2', 'q'],
      [3, 'http://a.test/3'],
    ]);
  });

  it('a quote left open to the end rejects its first line only; the rest are read again', () => {
    expect(summary(records('"http://a.test/1\nhttp://a.test/2\nhttp://a.test/3'))).toEqual([
      [1, 'ERROR', 'malformed CSV: a quoted field is not closed'], [2, 'http://a.test/2'], [3, 'http://a.test/3'],
    ]);
  });

  it(`a quote still open after ${MAX_RECORD_LINES} lines is taken for a stray one`, () => {
    const rows = ['"http://a.test/0', ...Array.from({ length: 30 }, (_, i) => `http://a.test/${i + 1}`)];
    const result = summary(records(rows.join('\n')));
    expect(result[0]).toEqual([1, 'ERROR', 'malformed CSV: a quoted field is not closed']);
    expect(result.slice(1).map((r) => r[1])).toEqual(rows.slice(1));
  });

  it('a record with a line that is not UTF-8 is rejected', () => {
    const splitter = new CsvRecordSplitter();
    expect(splitter.push({ line: 7, text: 'http://caf\uFFFD.test/', utf8: false })).toEqual([{ line: 7, text: 'http://caf\uFFFD.test/', error: 'not valid UTF-8' }]);
  });
});

describe('readStreamedSubmission (CSV)', () => {
  const limits = { maxItems: 5, maxBodyBytes: 10_000 };
  const read = (...parts: string[]) => readStreamedSubmission(chunksOf(...parts), 'csv', limits, 'fp');

  it('maps columns by the header (any order, any case, extra columns ignored)', async () => {
    const { raw } = await read('\uFEFFNotes,Verdict,URL,sha1\r\nseen twice,illegal,http://a.test/1,\r\n,,http://a.test/2,', `${'a'.repeat(40)}\r\n`);
    expect(raw).toEqual([
      { line: 2, input: 'http://a.test/1', fields: { url: 'http://a.test/1', verdict: 'illegal' } },
      { line: 3, input: 'http://a.test/2', fields: { url: 'http://a.test/2', sha1: 'a'.repeat(40) } },
    ]);
  });

  it('rejects a row with more fields than the header, and a row without a url, each alone', async () => {
    const { raw } = await read('url,md5\nhttp://a.test/1,x,extra\n,abc\nhttp://a.test/3,\n');
    expect(raw.map((r) => [r.line, r.error ?? 'ok'])).toEqual([[2, '3 fields, but the header row names 2'], [3, 'the url column is empty'], [4, 'ok']]);
  });

  it('refuses a body whose header names no url column, saying what it found', async () => {
    const err = await read('http://a.test/1\nhttp://a.test/2\n').then(() => null, (e: unknown) => e);
    expect(isVigilError(err, 'VALIDATION_FAILED')).toBe(true);
    expect((err as Error).message).toMatch(/header naming a "url" column.*names: http:\/\/a\.test\/1.*text\/plain/);
    await expect(read('')).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    await expect(read('url,URL\n')).rejects.toThrow(/twice/);
  });

  it('stops at the item limit with PAYLOAD_TOO_LARGE', async () => {
    const body = `url\n${Array.from({ length: 6 }, (_, i) => `http://a.test/${i}`).join('\n')}`;
    await expect(read(body)).rejects.toMatchObject({ code: 'PAYLOAD_TOO_LARGE' });
  });

  it('fingerprints the request: same body same hash, different body or fingerprint different hash', async () => {
    const a = await read('url\nhttp://a.test/1\n');
    const b = await readStreamedSubmission(chunksOf('url\nhttp://a.test/1\n'), 'csv', limits, 'fp');
    const c = await read('url\nhttp://a.test/2\n');
    const d = await readStreamedSubmission(chunksOf('url\nhttp://a.test/1\n'), 'csv', limits, 'other');
    expect(a.bodyHash).toBe(b.bodyHash);
    expect(new Set([a.bodyHash, c.bodyHash, d.bodyHash]).size).toBe(3);
  });
});
